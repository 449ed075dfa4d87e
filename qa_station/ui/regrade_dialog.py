"""History's "Re-grade...": the archive's frames under another rule table, with progress and
cancel.

The operator picks a table (a built-in one or a TOML file), a period and a
product; the re-grade runs in a worker (the grading itself in a pool of
processes on every core, ``qa_station/regrade.py``) and reports its progress
here; Cancel stops it and records nothing. When it finishes, the what-if
report (signed PDF and CSV) is written and recorded, and its summary shown.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from grading.rules import builtin_names
from qa_station.ui import theme
from qa_station.ui.widgets import button, hbox, note, period
from qa_station.ui.workers import Runner

if TYPE_CHECKING:
    from qa_station.regrade import Regraded
    from qa_station.ui.record_reader import Regrader

FILE_CHOICE = "a rule file (TOML)..."


class RegradeDialog(QtWidgets.QDialog):
    def __init__(self, controller: Regrader, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.c = controller
        self.runner = Runner(self)
        self.cancel = threading.Event()
        self.done_with: Regraded | None = None  # when it finished
        self.setWindowTitle("Re-grade the archive")
        self.resize(620, 300)
        form = QtWidgets.QFormLayout(self)
        form.addRow(
            QtWidgets.QLabel(
                "Grade the stored frames of past inspections (the final one of each end) against "
                "another rule table. The record is not changed: a what-if report is written."
            )
        )
        self.table = QtWidgets.QComboBox()
        self.table.addItems([*builtin_names(), FILE_CHOICE])
        self.table.activated.connect(self._maybe_file)
        self.path = QtWidgets.QLineEdit()
        self.path.setPlaceholderText("or the path of a rule file")
        self.since, self.until = period(30)
        inspected = QtWidgets.QHBoxLayout()
        inspected.addWidget(self.since)
        inspected.addWidget(QtWidgets.QLabel("to"))
        inspected.addWidget(self.until)
        self.product = QtWidgets.QComboBox()
        self.product.addItem("every product", None)
        for p in controller.catalog.products:
            self.product.addItem(p.id, p.id)
        form.addRow("Rule table", self.table)
        form.addRow("", self.path)
        form.addRow("Inspected", inspected)
        form.addRow("Product", self.product)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setVisible(False)
        form.addRow(self.progress)
        self.message = note(selectable=True)
        form.addRow(self.message)
        self.start_btn = button("Re-grade", self.start)
        self.cancel_btn = button("Cancel", self.stop)
        self.close_btn = button("Close", self.close)
        form.addRow(hbox(self.start_btn, self.cancel_btn, self.close_btn, right=True))
        self.cancel_btn.setEnabled(False)

    def _maybe_file(self) -> None:
        if self.table.currentText() == FILE_CHOICE:
            chosen, _ = QtWidgets.QFileDialog.getOpenFileName(
                self, "Rule table", "", "Rule tables (*.toml)"
            )
            if chosen:
                self.path.setText(chosen)

    def rules(self) -> str:
        path = self.path.text().strip()
        return path or self.table.currentText()

    def period_us(self) -> tuple[int, int]:
        midnight = QtCore.QTime(0, 0)
        since = QtCore.QDateTime(self.since.date(), midnight).toMSecsSinceEpoch() * 1000
        until = QtCore.QDateTime(self.until.date().addDays(1), midnight).toMSecsSinceEpoch()
        return since, until * 1000

    def start(self) -> None:
        rules = self.rules()
        if rules == FILE_CHOICE:
            self._say("choose a rule file first", theme.REFUSAL)
            return
        since, until = self.period_us()
        product = self.product.currentData()
        self.cancel.clear()
        self.start_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self.progress.setVisible(True)
        self.progress.setValue(0)
        self._say(f"re-grading with {rules}...", theme.ADVICE)
        self.runner.start(
            lambda report: self.c.regrade(
                rules, since, until, product, lambda d, n: report((d, n)), self.cancel
            ),
            self._done,
            self._failed,
            progress=self._progress,
        )

    def stop(self) -> None:
        self.cancel.set()
        self._say("cancelling...", theme.ADVICE)

    def _progress(self, step: tuple[int, int]) -> None:
        done, total = step
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)

    def _done(self, regraded: Regraded) -> None:
        self.done_with = regraded
        s = regraded.result.summary()
        failing = s["accepted_now_failing"]
        colour = theme.REFUSAL if failing else theme.OK
        self._say(
            f"{s['frames']} frames of {s['inspections']} inspections in {s['elapsed_s']:.1f} s: "
            f"{s['changed_fibres']} fibre(s) would change; accepted assemblies that would now "
            f"fail: {', '.join(failing) if failing else 'none'}<br>report: {regraded.pdf}"
            f"<br>table: {regraded.csv}",
            colour,
        )
        self._finish()

    def _failed(self, exc: Exception) -> None:
        self._say(str(exc), theme.REFUSAL)
        self._finish()

    def _finish(self) -> None:
        self.start_btn.setEnabled(True)
        self.cancel_btn.setEnabled(False)
        self.progress.setVisible(False)

    def _say(self, text: str, colour: str) -> None:
        self.message.setText(f"<span style='color:{colour}'>{text}</span>")

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.cancel.set()
        self.runner.wait(60000)
        super().closeEvent(event)
