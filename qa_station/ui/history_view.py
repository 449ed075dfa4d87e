"""History and audit: find assemblies, read their record, open old inspections.

Search by serial, date, result and operator; a selected serial shows every
event and, per end, every inspection; an inspection opens with its fibre
images and their overlays as they were graded. An auditor can check the whole
record from here, and re-issue an accepted assembly's certificate.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from qa_station import bench_view as bv
from qa_station.record import AssemblyRecord, InspectionEntry, describe_event
from qa_station.store.images import ImageStoreError
from qa_station.store.kinds import Kind
from qa_station.store.queries import HistoryRow, search_assemblies
from qa_station.store.store import EventRecord, iso
from qa_station.store.verify import VerifyReport
from qa_station.text import shown
from qa_station.ui import theme
from qa_station.ui.live_view import LiveView
from qa_station.ui.record_reader import RecordReader, Regrader
from qa_station.ui.widgets import Page, button, hbox, note, period
from qa_station.ui.workers import Report, Runner


def local(at_us: int) -> str:
    return dt.datetime.fromtimestamp(at_us / 1e6).strftime("%Y-%m-%d %H:%M:%S")


class HistoryView(Page[RecordReader]):
    record: AssemblyRecord | None = None

    def _build(self) -> None:
        lay = QtWidgets.QVBoxLayout(self)
        form = QtWidgets.QHBoxLayout()
        self.serial = QtWidgets.QLineEdit()
        self.serial.setPlaceholderText("serial contains")
        self.use_dates = QtWidgets.QCheckBox("from")
        self.since, self.until = period(30)
        self.status = QtWidgets.QComboBox()
        self.status.addItems(["any result", "open", "accepted", "rejected"])
        self.operator = QtWidgets.QLineEdit()
        self.operator.setPlaceholderText("operator")
        self.search_btn = button("Search", self.search)
        self.serial.returnPressed.connect(self.search)
        self.audit_btn = button("Verify the whole record", self.audit)
        for w in (
            self.serial,
            self.use_dates,
            self.since,
            QtWidgets.QLabel("to"),
            self.until,
            self.status,
            self.operator,
            self.search_btn,
            self.audit_btn,
        ):
            form.addWidget(w)
        lay.addLayout(form)
        self.message = note()
        self.message.setVisible(False)
        lay.addWidget(self.message)
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.results = QtWidgets.QTableWidget(0, 6)
        self.results.setHorizontalHeaderLabels(
            ["Serial", "Product", "Result", "Registered", "Operator", "Station"]
        )
        self.results.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.results.verticalHeader().setVisible(False)
        self.results.itemSelectionChanged.connect(self._selected)
        split.addWidget(self.results)
        detail = QtWidgets.QWidget()
        dv = QtWidgets.QVBoxLayout(detail)
        self.summary = note("select an assembly", selectable=True)
        dv.addWidget(self.summary)
        self.cert_btn = button("Re-issue certificate...", self.reissue)
        self.cert_btn.setEnabled(False)
        # An auditor's station issues nothing: certificates are issued at a bench.
        self.cert_btn.setVisible(not getattr(self.c, "auditor", False))
        self.regrade_btn = button(
            "Re-grade...",
            self.regrade,
            tip="the archive's frames under another rule table (a what-if)",
        )
        self.regrade_btn.setVisible(isinstance(self.c, Regrader))  # a bench's, recorded
        dv.addLayout(hbox(self.cert_btn, self.regrade_btn))
        self.ends = QtWidgets.QTreeWidget()
        self.ends.setHeaderLabels(["End / inspection", "Result", "Operator", "Cleanings"])
        self.ends.itemDoubleClicked.connect(self._open_inspection)
        dv.addWidget(self.ends, 1)
        self.events = QtWidgets.QTableWidget(0, 6)
        self.events.setHorizontalHeaderLabels(
            ["Time (local)", "Station", "Operator", "End", "Event", "What"]
        )
        self.events.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.events.verticalHeader().setVisible(False)
        dv.addWidget(self.events, 2)
        split.addWidget(detail)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        lay.addWidget(split, 1)
        self.rows: list[HistoryRow] = []

    def _say(self, text: str, colour: str = "#34495e") -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self.message.setStyleSheet(
            f"background:{colour}; color:white; padding:6px; border-radius:4px;"
        )

    # -- searching -------------------------------------------------------------------------
    def search(self) -> None:
        serial = self.serial.text().strip()
        since = until = None
        if self.use_dates.isChecked():
            since = _us(self.since.date())
            until = _us(self.until.date().addDays(1))
        status = None if self.status.currentIndex() == 0 else self.status.currentText()
        operator = self.operator.text().strip() or None
        self.runner.start(
            lambda r: search_assemblies(self.c.store, serial, since, until, status, operator),
            self._found,
            self._failed,
            label="searching the record",
        )

    def _found(self, rows: list[HistoryRow]) -> None:
        self.rows = rows
        self.results.setRowCount(len(rows))
        for i, r in enumerate(rows):
            for j, text in enumerate(
                (r.serial, r.product, r.status, local(r.registered_us), r.operator or "", r.station)
            ):
                item = QtWidgets.QTableWidgetItem(text)
                if j == 2:
                    item.setForeground(_colour(r.status))
                self.results.setItem(i, j, item)
        self.results.resizeColumnsToContents()
        self._say(f"{len(rows)} assemblies" if rows else "no assembly matches")

    def _selected(self) -> None:
        row = self.results.currentRow()
        if 0 <= row < len(self.rows):
            serial = self.rows[row].serial
            self.runner.start(
                lambda r: self.c.record(serial),
                self.show_record,
                self._failed,
                label=f"reading the record of {serial}",
            )

    # -- one assembly ----------------------------------------------------------------------
    def show_record(self, rec: AssemblyRecord) -> None:
        self.record = rec
        colour = _colour(rec.status).name()
        if not rec.closed_us:
            closed = "open"
        elif rec.closed_by:
            closed = f"{rec.status} {local(rec.closed_us)} by {rec.closed_by}"
        else:  # the gate closes an assembly itself when its last end is released
            closed = f"{rec.status} {local(rec.closed_us)}, when its last end was released"
        self.summary.setText(
            f"<b>{rec.serial}</b> &middot; {rec.product_name}<br>"
            f"part number {rec.part_number or 'not scanned'} &middot; registered {local(rec.registered_us)} "
            f"at {rec.station}<br><b style='color:{colour}'>{closed}</b>"
            + (f" &middot; {rec.reason}" if rec.reason else "")
            + (
                f"<br><b style='color:{theme.REFUSAL}'>{len(rec.deviations)} deviation(s)</b>"
                if rec.deviations
                else ""
            )
            + f"<br><small>record hash {rec.record_hash}</small>"
        )
        self.cert_btn.setEnabled(rec.status == "accepted")
        self.ends.clear()
        for e in rec.ends:
            conn = (
                e.connection.mode + (" (override)" if e.connection.deviation else "")
                if e.connection
                else "open"
            )
            top = QtWidgets.QTreeWidgetItem(
                [f"end {e.label} ({e.connector}, {e.rules})", conn, "", str(e.cycles)]
            )
            for insp in e.inspections:
                alarm = rec.probe_alarms.get(insp.id)
                child = QtWidgets.QTreeWidgetItem(
                    [
                        f"inspection {local(insp.at_us)}" + (" - DIRTY PROBE" if alarm else ""),
                        insp.verdict,
                        insp.operator,
                        "",
                    ]
                )
                child.setForeground(1, _colour(insp.verdict))
                if alarm:
                    child.setForeground(0, _colour("fail"))
                    child.setToolTip(0, alarm)
                child.setData(0, QtCore.Qt.ItemDataRole.UserRole, insp)
                top.addChild(child)
            self.ends.addTopLevelItem(top)
            top.setExpanded(True)
        for col in range(4):
            self.ends.resizeColumnToContents(col)
        self.runner.start(
            lambda r: self.c.store.history(rec.serial), self._show_events, self._failed
        )

    def _show_events(self, events: list[EventRecord]) -> None:
        self.events.setRowCount(len(events))
        for i, ev in enumerate(events):
            cells = (
                local(ev.at_us),
                ev.station,
                ev.operator or "",
                ev.end or "",
                ev.kind,
                describe_event(ev.kind, ev.payload),
            )
            for j, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setToolTip(f"{iso(ev.at_us)} (UTC), hash {ev.hash}")
                if ev.kind in (
                    Kind.GATE_REFUSED,
                    Kind.END_OVERRIDE,
                    Kind.ASSEMBLY_REJECTED,
                    Kind.END_ESCALATED,
                ):
                    item.setForeground(_colour("fail"))
                self.events.setItem(i, j, item)
        self.events.resizeColumnsToContents()
        self.events.horizontalHeader().setStretchLastSection(True)

    def _open_inspection(self, item: QtWidgets.QTreeWidgetItem, _col: int) -> None:
        insp = item.data(0, QtCore.Qt.ItemDataRole.UserRole)
        if isinstance(insp, InspectionEntry):
            InspectionDialog(self.c, insp, self, self.runner).show()

    def regrade(self) -> None:
        from qa_station.ui.regrade_dialog import RegradeDialog

        if isinstance(self.c, Regrader):
            RegradeDialog(self.c, self).show()

    # -- auditing --------------------------------------------------------------------------
    def audit(self) -> None:
        self._say("verifying the whole record...")
        self.runner.start(
            lambda r: self.c.verify(), self._audited, self._failed, label="verifying the record"
        )

    def _audited(self, report: VerifyReport) -> None:
        if report.ok:
            self._say(
                f"intact: {report.events} events in one unbroken chain, {report.inspections} inspections, "
                f"{report.cleanings} cleanings, {report.images} images as recorded",
                theme.OK,
            )
        else:
            self._say(
                f"BROKEN: {report.first_problem} ({len(report.problems)} problem(s))", theme.REFUSAL
            )

    def reissue(self) -> None:
        rec = self.record
        if rec is None:
            return
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Write the certificate to")
        if not folder:
            return
        self.runner.start(
            lambda r: self.c.issue_certificate(rec.serial, Path(folder)),
            lambda path: self._say(f"certificate written: {path}", theme.OK),
            self._failed,
            label=f"signing and writing the certificate of {rec.serial}",
        )

    def _failed(self, exc: Exception) -> None:
        self._say(str(exc), theme.REFUSAL)


class InspectionDialog(QtWidgets.QDialog):
    """An old inspection: each fibre's image as graded, with its overlay.

    The whole-ferrule picture gets every fibre's number and a ring in its verdict,
    as on the bench. Images are read (and checked against their recorded hash) in a
    worker: the GUI thread does not read the store.
    """

    def __init__(
        self,
        controller: RecordReader,
        insp: InspectionEntry,
        parent: QtWidgets.QWidget | None = None,
        runner: Runner | None = None,
    ) -> None:
        super().__init__(parent)
        self.c = controller
        self.insp = insp
        self.runner = runner or Runner(self)
        self._generation = 0
        self.setWindowTitle(f"Inspection of {local(insp.at_us)}: {insp.verdict}")
        self.resize(1100, 760)
        lay = QtWidgets.QHBoxLayout(self)
        self.fibres = QtWidgets.QListWidget()
        for f in insp.result.fibers:
            item = QtWidgets.QListWidgetItem(f"fibre {f.index}: {f.verdict}")
            item.setForeground(_colour(f.verdict))
            item.setData(QtCore.Qt.ItemDataRole.UserRole, f.index)
            self.fibres.addItem(item)
        if insp.overview_sha256:
            item = QtWidgets.QListWidgetItem("whole ferrule")
            item.setData(QtCore.Qt.ItemDataRole.UserRole, 0)
            self.fibres.addItem(item)
        self.fibres.currentItemChanged.connect(self._show)
        lay.addWidget(self.fibres)
        right = QtWidgets.QVBoxLayout()
        self.view = LiveView()
        right.addWidget(self.view, 1)
        self.details = QtWidgets.QLabel()
        self.details.setWordWrap(True)
        right.addWidget(self.details)
        lay.addLayout(right, 1)
        if self.fibres.count():
            self.fibres.setCurrentRow(0)

    def _show(self, item: QtWidgets.QListWidgetItem | None) -> None:
        if item is None:
            return
        n = item.data(QtCore.Qt.ItemDataRole.UserRole)
        sha = self.insp.overview_sha256 if n == 0 else self.insp.fibre_images.get(n)
        if sha is None:
            self.details.setText(f"fibre {n}: no image kept")
            return
        self._generation += 1
        generation = self._generation
        self.details.setText("reading the stored image...")
        r = self.insp.result
        verdicts = {f.index: f.verdict for f in r.fibers}

        def read(report: Report) -> tuple[np.ndarray | None, str | None, list[bv.FibreMark]]:
            image, problem = self._image(sha)
            marks: list[bv.FibreMark] = []
            if n == 0 and image is not None:
                marks = bv.overview_marks(image, r.connector, verdicts)
            return image, problem, marks

        self.runner.start(
            read,
            lambda out: self._shown(generation, n, out),
            lambda exc: self.details.setText(f"the image cannot be shown: {exc}"),
            label="reading and checking the stored image",
        )

    def _shown(
        self,
        generation: int,
        n: int,
        out: tuple[np.ndarray | None, str | None, list[bv.FibreMark]],
    ) -> None:
        if generation != self._generation:
            return  # another fibre was picked meanwhile
        image, problem, marks = out
        r = self.insp.result
        warning = f"<br><b style='color:{theme.REFUSAL}'>{problem}</b>" if problem else ""
        if image is None:
            self.view.set_result(None)
            self.details.setText(f"fibre {n}: the image cannot be shown{warning}")
            return
        self.view.set_frame(image)
        if n == 0:
            self.view.set_marks(marks)
            found = "" if marks else " (its fibres could not all be found in it)"
            self.details.setText("whole ferrule, at the start of the scan" + found + warning)
            return
        # The stored image is the fibre's graded region: its grade moved into those pixels.
        self.view.set_result(bv.one_fibre(self.insp.result_in_images(), n))
        f = next(x for x in r.fibers if x.index == n)
        focus = self.insp.focus.get(n)
        self.details.setText(  # stored text goes into rich text escaped: no markup, no codes
            f"fibre {n}: <b>{_plain(f.verdict)}</b> &middot; {_plain(r.rules)} &middot; "
            f"{r.um_per_px} um/px &middot; probe {_plain(self.insp.probe_id)}"
            + (f" &middot; focus {focus:.1f}" if focus else "")
            + ("<br>" + "<br>".join(_plain(x) for x in f.failures) if f.failures else "")
            + warning
        )

    def _image(self, sha: str) -> tuple[np.ndarray | None, str | None]:
        """The stored picture, and what is wrong with it (an auditor must see a changed one)."""
        images = self.c.store.images
        problem = images.check(sha)
        try:
            image = images.read(sha)
        except ImageStoreError as exc:
            return None, str(exc)
        if problem:
            problem = f"this image is not the one recorded: {problem}"
        return image, problem

    def done_loading(self) -> bool:
        return not self.runner.busy


def _us(date: QtCore.QDate) -> int:
    d = dt.datetime(date.year(), date.month(), date.day())
    return int(d.timestamp() * 1e6)


def _colour(status: str) -> QtGui.QColor:
    from PySide6 import QtGui

    return QtGui.QColor(
        {
            "accepted": theme.OK,
            "pass": theme.OK,
            "rejected": theme.REFUSAL,
            "fail": theme.REFUSAL,
        }.get(status, "#7f8c8d")
    )


def _plain(text: object) -> str:
    """Stored text for a rich-text label: control characters escaped, then HTML-escaped."""
    return html.escape(shown(text, 300))
