"""The station's qualification on screen: a Settings page, and its state in the status bar.

The page shows what the record says (``StationController.standing``): the
last qualification of the probe, when it expires, why the station may not
inspect, a standing dirty-probe alarm. A supervisor qualifies the station
from here (their own name and password, the built-in reference set or a
folder of the factory's own), in a worker, with progress; the signed report
is written to the data folder's ``reports/``. The status-bar widget shows the
state in one line and, while the dirty-probe alarm stands, a "Probe tip
cleaned" button for the operator.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtWidgets

from qa_station.store import StoreError
from qa_station.ui import theme
from qa_station.ui.dialogs import hidden_field, ok_cancel
from qa_station.ui.widgets import Page, button, hbox, note
from qa_station.ui.workers import Report, Runner

if TYPE_CHECKING:
    from qa_station.controller import StationController
    from qa_station.qualification.issue import Qualified
    from qa_station.qualification.policy import Standing

REFRESH_MS = 10_000


class QualifyDialog(QtWidgets.QDialog):
    """A supervisor signs in for one qualification, and picks the reference set."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Qualify the station")
        form = QtWidgets.QFormLayout(self)
        form.addRow(
            QtWidgets.QLabel(
                "A supervisor qualifies the station: the reference faces are graded with its own "
                "grader, rule tables and calibration, and the result goes on the record."
            )
        )
        self.builtin = QtWidgets.QRadioButton("the built-in reference set (60 faces)")
        self.builtin.setChecked(True)
        self.folder_choice = QtWidgets.QRadioButton("a folder of our own (images + labels.toml)")
        self.folder = QtWidgets.QLineEdit()
        self.folder.setPlaceholderText("folder of the factory's reference set")
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(button("Browse...", self._browse))
        self.username = QtWidgets.QLineEdit()
        self.password = hidden_field()
        form.addRow("Reference set", self.builtin)
        form.addRow("", self.folder_choice)
        form.addRow("", row)
        form.addRow("Supervisor", self.username)
        form.addRow("Password", self.password)
        form.addRow(ok_cancel(self))

    def _browse(self) -> None:
        chosen = QtWidgets.QFileDialog.getExistingDirectory(self, "Reference set folder")
        if chosen:
            self.folder.setText(chosen)
            self.folder_choice.setChecked(True)

    def chosen_folder(self) -> Path | None:
        return Path(self.folder.text().strip()) if self.folder_choice.isChecked() else None


class QualificationPanel(Page["StationController"]):
    """The Settings page: the qualification on record, and qualifying the station."""

    qualified = QtCore.Signal()

    def _build(self) -> None:
        lay = QtWidgets.QVBoxLayout(self)
        self.state = note(selectable=True)
        lay.addWidget(self.state)
        self.qualify_btn = button("Qualify the station...", self.qualify)
        self.cleaned_btn = button("Probe tip cleaned", self.probe_cleaned)
        self.refresh_btn = button("Refresh", self.refresh)
        lay.addLayout(hbox(self.qualify_btn, self.cleaned_btn, self.refresh_btn))
        self.progress = QtWidgets.QProgressBar()
        self.progress.setVisible(False)
        lay.addWidget(self.progress)
        self.result = note(selectable=True)
        lay.addWidget(self.result)
        lay.addStretch(1)
        self.refresh()

    def refresh(self) -> None:
        self.runner.start(lambda r: self.c.standing(), self._show, self._failed)

    def _show(self, standing: Standing) -> None:
        colour = theme.OK if standing.ok else theme.REFUSAL
        lines = [f"<b style='color:{colour}'>{standing.summary()}</b>"]
        if standing.event_id is not None:
            lines.append(
                f"last qualification of probe {standing.probe}: event #{standing.event_id}, "
                + ("passed" if standing.passed else "FAILED")
            )
        if standing.reason:
            lines.append(standing.reason)
        if standing.dirty_probe:
            lines.append(
                f"<b style='color:{theme.REFUSAL}'>{standing.dirty_probe.get('message')}</b>"
            )
        self.state.setText("<br>".join(lines))
        self.cleaned_btn.setVisible(standing.dirty_probe is not None)

    def qualify(self) -> None:
        dlg = QualifyDialog(self)
        if dlg.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return
        who, password, folder = (
            dlg.username.text().strip(),
            dlg.password.text(),
            dlg.chosen_folder(),
        )
        self.run(who, password, folder)

    def run(self, who: str, password: str, folder: Path | None = None) -> None:
        """Qualify in a worker (also what a test calls, without the dialog)."""
        from qa_station.qualification.labels import load_folder

        self.qualify_btn.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setValue(0)
        self.result.setText("grading the reference faces...")

        def work(report: Report) -> Qualified:
            reference = load_folder(folder) if folder else None
            return self.c.qualify(who, password, reference, progress=lambda i, n: report((i, n)))

        self.runner.start(work, self._done, self._failed, progress=self._progress)

    def _progress(self, step: tuple[int, int]) -> None:
        i, n = step
        self.progress.setMaximum(n)
        self.progress.setValue(i)

    def _done(self, done: Qualified) -> None:
        r = done.result
        colour = theme.OK if r.passed else theme.REFUSAL
        reasons = "".join(f"<br>{x}" for x in r.reasons)
        self.result.setText(
            f"<b style='color:{colour}'>{r.summary_line()}</b>{reasons}<br>report: {done.path}"
        )
        self._finish()
        self.qualified.emit()

    def probe_cleaned(self) -> None:
        self.runner.start(
            lambda r: self.c.probe_cleaned(), lambda _id: self._finish(), self._failed
        )

    def _failed(self, exc: Exception) -> None:
        self.result.setText(f"<b style='color:{theme.REFUSAL}'>{exc}</b>")
        self._finish()

    def _finish(self) -> None:
        self.qualify_btn.setEnabled(True)
        self.progress.setVisible(False)
        self.refresh()


class StationState(QtWidgets.QWidget):
    """The status bar's word on the qualification, and the dirty-probe button."""

    def __init__(
        self, controller: StationController, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.c = controller
        self.runner = Runner(self)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.label = QtWidgets.QLabel("")
        self.cleaned_btn = button("Probe tip cleaned", self.probe_cleaned)
        self.cleaned_btn.setVisible(False)
        lay.addWidget(self.label)
        lay.addWidget(self.cleaned_btn)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(REFRESH_MS)
        if not self.c.offline:  # the first look at once (two indexed reads), the rest in a worker
            with contextlib.suppress(StoreError):
                self.show_standing(self.c.standing())

    def refresh(self) -> None:
        if self.runner.busy or self.c.offline:
            return
        self.runner.start(lambda r: self.c.standing(), self.show_standing, lambda exc: None)

    def show_standing(self, standing: Standing) -> None:
        import time

        self.label.setText(standing.summary(round(time.time() * 1e6)))
        self.label.setToolTip(standing.reason or f"the qualification expires {standing.expires}")
        colour = theme.OK if standing.ok else theme.REFUSAL
        self.label.setStyleSheet(f"color:{colour}; font-weight:bold;")
        self.cleaned_btn.setVisible(standing.dirty_probe is not None)

    def probe_cleaned(self) -> None:
        self.runner.start(
            lambda r: self.c.probe_cleaned(), lambda _id: self.refresh(), lambda e: None
        )
