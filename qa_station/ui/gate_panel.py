"""The gate at the operator's hands: inspect, clean, inspect again, connect.

The step the end is at is highlighted; every button says its shortcut. A
refusal appears in red in the operator's words, an escalation's advice in
amber, so nothing is hidden in a log.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from hardware.cleaning import DESCRIPTIONS, METHODS
from qa_station.gate.state import EndState
from qa_station.ui import theme

STEPS = ("Inspect", "Clean", "Inspect again", "Connect")


class GatePanel(QtWidgets.QGroupBox):
    end_changed = QtCore.Signal(str)
    inspect_requested = QtCore.Signal(str)
    clean_requested = QtCore.Signal(str, str, str, bool)
    connect_requested = QtCore.Signal(str, str)
    supervisor_requested = QtCore.Signal(str)
    cancel_requested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Gate", parent)
        lay = QtWidgets.QGridLayout(self)
        self.end = QtWidgets.QComboBox()
        self.end.currentTextChanged.connect(self.end_changed)
        self.end.activated.connect(self._give_back_keys)
        self.status = QtWidgets.QLabel("")
        self.status.setObjectName("endStatus")
        lay.addWidget(QtWidgets.QLabel("End"), 0, 0)
        lay.addWidget(self.end, 0, 1)
        lay.addWidget(self.status, 0, 2, 1, 2)
        self.step_labels = []
        for i, name in enumerate(STEPS):
            label = QtWidgets.QLabel(f"{i + 1}. {name}")
            self.step_labels.append(label)
            lay.addWidget(label, i + 1, 0)
        self.inspect_btn = QtWidgets.QPushButton("Inspect (I)")
        self.inspect_btn.clicked.connect(self._inspect)
        lay.addWidget(self.inspect_btn, 1, 1, 1, 3)
        self.method = QtWidgets.QComboBox()
        for m in METHODS:
            self.method.addItem(m, m)
            self.method.setItemData(
                self.method.count() - 1, DESCRIPTIONS[m], QtCore.Qt.ItemDataRole.ToolTipRole
            )
        self.method.activated.connect(self._give_back_keys)
        self.tool = QtWidgets.QLineEdit()
        self.tool.setPlaceholderText("tool id (scan the cleaner)")
        self.adapter = QtWidgets.QCheckBox("adapter too")
        self.adapter.setChecked(True)
        self.clean_btn = QtWidgets.QPushButton("Record cleaning (C)")
        self.clean_btn.clicked.connect(self.request_clean)
        lay.addWidget(self.method, 2, 1)
        lay.addWidget(self.tool, 2, 2)
        lay.addWidget(self.adapter, 2, 3)
        lay.addWidget(self.clean_btn, 3, 1, 1, 3)
        self.step_labels[2].setText("3. Inspect again")
        self.again_btn = QtWidgets.QPushButton("Inspect again (I)")
        self.again_btn.clicked.connect(self._inspect)
        lay.addWidget(self.again_btn, 4, 0, 1, 1)
        lay.removeWidget(self.step_labels[2])
        lay.addWidget(self.step_labels[2], 4, 0)
        lay.addWidget(self.again_btn, 4, 1, 1, 3)
        lay.removeWidget(self.step_labels[3])
        lay.addWidget(self.step_labels[3], 5, 0)
        self.mode = QtWidgets.QComboBox()
        self.mode.addItem("connect (mate)", "connected")
        self.mode.addItem("cap and release", "capped")
        self.mode.activated.connect(self._give_back_keys)
        self.connect_btn = QtWidgets.QPushButton("Connect (N)")
        self.connect_btn.clicked.connect(self.request_connect)
        lay.addWidget(self.mode, 5, 1)
        lay.addWidget(self.connect_btn, 5, 2, 1, 2)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setVisible(False)
        self.cancel_btn = QtWidgets.QPushButton("Cancel (Esc)")
        self.cancel_btn.setVisible(False)
        self.cancel_btn.clicked.connect(self.cancel_requested)
        lay.addWidget(self.progress, 6, 0, 1, 3)
        lay.addWidget(self.cancel_btn, 6, 3)
        self.refusal = _banner(theme.REFUSAL)
        self.refusal.setObjectName("refusal")
        self.advice = _banner(theme.ADVICE)
        self.advice.setObjectName("advice")
        lay.addWidget(self.refusal, 7, 0, 1, 4)
        lay.addWidget(self.advice, 8, 0, 1, 4)
        self.supervisor_btn = QtWidgets.QPushButton("Supervisor decision...")
        self.supervisor_btn.clicked.connect(
            lambda: self.supervisor_requested.emit(self.current_end())
        )
        lay.addWidget(self.supervisor_btn, 9, 0, 1, 4)
        self.set_enabled(False)

    def _give_back_keys(self) -> None:
        # A combo box eats letters (it searches its items): after a choice, the gate keys
        # go back to the window.
        self.window().setFocus()

    def next_end(self) -> None:
        if self.end.count() > 1:
            self.end.setCurrentIndex((self.end.currentIndex() + 1) % self.end.count())

    def current_end(self) -> str:
        return self.end.currentText()

    def set_ends(self, labels: list[str]) -> None:
        self.end.blockSignals(True)
        self.end.clear()
        self.end.addItems(labels)
        self.end.blockSignals(False)
        if labels:
            self.end_changed.emit(labels[0])

    def set_enabled(self, on: bool) -> None:
        for w in (
            self.inspect_btn,
            self.clean_btn,
            self.again_btn,
            self.connect_btn,
            self.supervisor_btn,
            self.end,
        ):
            w.setEnabled(on)

    def set_busy(self, busy: bool, message: str = "") -> None:
        self.progress.setVisible(busy)
        self.cancel_btn.setVisible(busy)
        self.set_enabled(not busy)
        if busy:
            self.progress.setRange(0, 0)
            self.progress.setFormat(message)

    def set_progress(self, done: int, total: int, message: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{message}  ({done}/{total})")

    def show_state(self, state: EndState | None) -> None:
        if state is None:
            self.status.setText("")
            return
        words = {
            "new": "not inspected yet",
            "passed": "passed: connect or cap it now",
            "failed": "failed: clean it",
            "cleaned": "cleaned: inspect it again",
            "escalated": "escalated: a supervisor decides",
            "connected": "connected",
            "capped": "capped and released",
        }
        st = state.status
        colour = {
            "passed": theme.OK,
            "connected": theme.OK,
            "capped": theme.OK,
            "failed": theme.REFUSAL,
            "escalated": theme.REFUSAL,
        }.get(st, "#555")
        self.status.setText(f"<b style='color:{colour}'>{words.get(st, st)}</b>")
        current = {"new": 0, "passed": 3, "failed": 1, "cleaned": 2, "escalated": -1}.get(st, -1)
        if (
            st == "passed"
            and state.policy == "always-clean"
            and state.last
            and not state.last.after_full_clean
        ):
            current = 1
        for i, label in enumerate(self.step_labels):
            label.setStyleSheet("font-weight: bold; color: #f1c40f;" if i == current else "")
        self.advice.setText(state.escalation.advice if state.escalation else "")
        wanted = state.escalation.require_method if state.escalation else None
        if wanted:
            self.method.setCurrentIndex(max(self.method.findData(wanted), 0))
        self.advice.setVisible(bool(state.escalation))

    def show_refusal(self, text: str) -> None:
        self.refusal.setText(text)
        self.refusal.setVisible(bool(text))

    def show_advice(self, text: str | None) -> None:
        self.advice.setText(text or "")
        self.advice.setVisible(bool(text))

    def _inspect(self) -> None:
        self.inspect_requested.emit(self.current_end())

    def request_clean(self) -> None:
        self.clean_requested.emit(
            self.current_end(),
            self.method.currentData(),
            self.tool.text(),
            self.adapter.isChecked(),
        )

    def request_connect(self) -> None:
        self.connect_requested.emit(self.current_end(), self.mode.currentData())


def _banner(colour: str) -> QtWidgets.QLabel:
    b = QtWidgets.QLabel("")
    b.setWordWrap(True)
    b.setVisible(False)
    b.setStyleSheet(
        f"background:{colour}; color:white; padding:6px; border-radius:4px; font-weight:bold;"
    )
    return b
