"""The auditor's window: the floor record read-only, on a PC with no probe and no fixture.

History (every assembly, its events, its inspections with their frames drawn as
graded), Statistics, and a page for certificates and reports: verify a
certificate file against the record, write an assembly's rejection report,
verify the whole record. Nothing here writes to the record (the store is
opened read-only); there is no sign-in, because a sign-in is itself a record:
who may read the floor record is the database's decision (the auditor's role).
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtWidgets

from qa_station.auditor import AuditorStation
from qa_station.store.verify import VerifyReport
from qa_station.text import shown
from qa_station.ui import theme
from qa_station.ui.history_view import HistoryView
from qa_station.ui.stats_view import StatsView
from qa_station.ui.workers import Runner

TITLE = "qa-station: auditor's station (read-only)"


class AuditorWindow(QtWidgets.QMainWindow):
    def __init__(self, station: AuditorStation) -> None:
        super().__init__()
        self.c = station
        self.runner = Runner(self)
        self.setWindowTitle(f"{TITLE}: {station.store.safe_url}")
        central = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(central)
        self.banner = QtWidgets.QLabel(
            f"Auditor's station: the floor record at {shown(station.store.safe_url, 120)}, "
            "read-only. Nothing is recorded here; no probe or fixture is used."
        )
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            f"background:{theme.ADVICE}; color:white; padding:8px; border-radius:4px;"
        )
        lay.addWidget(self.banner)
        self.tabs = QtWidgets.QTabWidget()
        self.history = HistoryView(station, self.runner)
        self.stats = StatsView(station, self.runner)
        self.tabs.addTab(self.history, "History")
        self.tabs.addTab(self.stats, "Statistics")
        self.tabs.addTab(self._record_page(), "Certificates and reports")
        lay.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

    def _record_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(page)
        row = QtWidgets.QHBoxLayout()
        self.verify_cert_btn = QtWidgets.QPushButton("Verify a certificate file...")
        self.verify_cert_btn.clicked.connect(self._pick_certificate)
        row.addWidget(self.verify_cert_btn)
        self.report_serial = QtWidgets.QLineEdit()
        self.report_serial.setPlaceholderText("serial of a rejected assembly")
        row.addWidget(self.report_serial)
        self.report_btn = QtWidgets.QPushButton("Write its rejection report...")
        self.report_btn.clicked.connect(self._pick_report)
        row.addWidget(self.report_btn)
        self.audit_btn = QtWidgets.QPushButton("Verify the whole record")
        self.audit_btn.clicked.connect(self.audit)
        row.addWidget(self.audit_btn)
        row.addStretch(1)
        lay.addLayout(row)
        self.output = QtWidgets.QPlainTextEdit()
        self.output.setReadOnly(True)
        lay.addWidget(self.output, 1)
        return page

    # -- what the page does (each in a worker: the record may be large) ----------------------
    def verify_certificate(self, path: Path) -> None:
        self.output.setPlainText(f"verifying {path} against the floor record...")
        self.runner.start(
            lambda r: self.c.verify_certificate(path),
            lambda outcome: self.output.setPlainText(
                "\n".join(shown(line, 600) for line in outcome.lines())
                + ("\nverdict: VALID" if outcome.ok else "\nverdict: NOT VALID")
            ),
            self._failed,
            label=f"verifying {path.name}",
        )

    def rejection_report(self, serial: str, out: Path) -> None:
        self.runner.start(
            lambda r: self.c.rejection_report(serial, out),
            lambda path: self.output.setPlainText(f"rejection report written: {path}"),
            self._failed,
            label=f"the rejection report of {serial}",
        )

    def audit(self) -> None:
        self.output.setPlainText("verifying the whole floor record...")
        self.runner.start(lambda r: self.c.verify(), self._audited, self._failed)

    def _audited(self, report: VerifyReport) -> None:
        head = (
            f"intact: {report.events} events, {report.inspections} inspections, "
            f"{report.images} frames as recorded"
            if report.ok
            else f"BROKEN: {report.first_problem}"
        )
        self.output.setPlainText("\n".join([head, *report.problems, *report.notes]))

    def _pick_certificate(self) -> None:
        name, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "A certificate to verify", "", "PDF (*.pdf)"
        )
        if name:
            self.verify_certificate(Path(name))

    def _pick_report(self) -> None:
        serial = self.report_serial.text().strip()
        if not serial:
            self._failed(ValueError("type the serial of a rejected assembly first"))
            return
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Write the report to")
        if folder:
            self.rejection_report(serial, Path(folder))

    def _failed(self, exc: Exception) -> None:
        self.output.setPlainText(str(exc))


def run(db_url: str | None = None) -> int:
    from qa_station.ui.app import cannot_start, make_app, show_on_screen

    app = make_app()
    try:
        station = AuditorStation.open(db_url=db_url)
    except Exception as exc:
        return cannot_start(exc)
    window = AuditorWindow(station)
    show_on_screen(window)
    try:
        return app.exec()
    finally:
        window.close()
        station.close()
