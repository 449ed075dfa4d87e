"""The gate at the operator's hands: inspect, clean, inspect again, connect.

A stepper of the four steps with the current one lit, the cleaning's method
and tool, the action buttons (each says its key), and a message area that
always keeps its room: a refusal (red) or an escalation's advice (amber)
appearing never moves anything on the page. What to light and say comes from
``qa_station.bench_view.EndView``; this panel only renders it.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from hardware.cleaning import DESCRIPTIONS, METHODS
from qa_station.bench_view import STEPS, EndView
from qa_station.ui import theme

LIT = "font-weight: bold; color: #1a1a1a; background: #f1c40f; border-radius: 3px;"
UNLIT = "font-weight: bold; color: #7f8c8d; background: transparent;"
MESSAGE_LINES = 3  # the message slot keeps room for this many lines of words


class GatePanel(QtWidgets.QGroupBox):
    end_changed = QtCore.Signal(str)
    inspect_requested = QtCore.Signal(str)
    clean_requested = QtCore.Signal(str, str, str, bool)
    connect_requested = QtCore.Signal(str, str)
    supervisor_requested = QtCore.Signal(str)
    cancel_requested = QtCore.Signal()
    keys_back = QtCore.Signal()  # a choice was made: the gate keys go back to the bench
    choices_changed = QtCore.Signal()  # the tool, method or mode changed (the next step may)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Gate", parent)
        self.last_tool: str | None = None
        lay = QtWidgets.QGridLayout(self)
        lay.setVerticalSpacing(4)
        self.end = QtWidgets.QComboBox()
        self.end.currentTextChanged.connect(self.end_changed)
        self.end.activated.connect(self.keys_back)
        self.status = QtWidgets.QLabel("")
        self.status.setObjectName("endStatus")
        lay.addWidget(QtWidgets.QLabel("End"), 0, 0)
        lay.addWidget(self.end, 0, 1)
        lay.addWidget(self.status, 0, 2, 1, 2)

        steps = QtWidgets.QHBoxLayout()
        self.step_labels: list[QtWidgets.QLabel] = []
        bold = QtGui.QFont(self.font())
        bold.setBold(True)
        metrics = QtGui.QFontMetrics(bold)
        for i, name in enumerate(STEPS):
            label = QtWidgets.QLabel(f"{i + 1}. {name}")
            label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            # Lit or not, a step keeps its width: nothing shifts when the lit step moves.
            label.setFixedWidth(metrics.horizontalAdvance(label.text()) + 14)
            label.setStyleSheet(UNLIT)
            self.step_labels.append(label)
            steps.addWidget(label)
            if i < len(STEPS) - 1:
                arrow = QtWidgets.QLabel("\u203a")
                arrow.setStyleSheet("color: #7f8c8d;")
                steps.addWidget(arrow)
        steps.addStretch(1)
        lay.addLayout(steps, 1, 0, 1, 4)

        self.method = QtWidgets.QComboBox()
        for m in METHODS:
            self.method.addItem(m, m)
            self.method.setItemData(
                self.method.count() - 1, DESCRIPTIONS[m], QtCore.Qt.ItemDataRole.ToolTipRole
            )
        self.method.activated.connect(self.keys_back)
        self.method.currentIndexChanged.connect(self.choices_changed)
        self.tool = QtWidgets.QLineEdit()
        self.tool.setObjectName("toolField")
        self.tool.textChanged.connect(self.choices_changed)
        self.tool.returnPressed.connect(self.keys_back)
        self.adapter = QtWidgets.QCheckBox("adapter too")
        self.adapter.setChecked(True)
        lay.addWidget(QtWidgets.QLabel("Clean with"), 2, 0)
        lay.addWidget(self.method, 2, 1)
        lay.addWidget(self.tool, 2, 2)
        lay.addWidget(self.adapter, 2, 3)

        self.inspect_btn = QtWidgets.QPushButton("Inspect (I)")
        self.inspect_btn.clicked.connect(self._inspect)
        self.clean_btn = QtWidgets.QPushButton("Record cleaning (C)")
        self.clean_btn.clicked.connect(self.request_clean)
        self.mode = QtWidgets.QComboBox()
        self.mode.addItem("connect (mate)", "connected")
        self.mode.addItem("cap and release", "capped")
        self.mode.activated.connect(self.keys_back)
        self.mode.currentIndexChanged.connect(self.choices_changed)
        self.connect_btn = QtWidgets.QPushButton("Connect (N)")
        self.connect_btn.clicked.connect(self.request_connect)
        lay.addWidget(self.inspect_btn, 3, 0)
        lay.addWidget(self.clean_btn, 3, 1)
        lay.addWidget(self.mode, 3, 2)
        lay.addWidget(self.connect_btn, 3, 3)

        self.supervisor_btn = QtWidgets.QPushButton("Supervisor decision (S)...")
        self.supervisor_btn.clicked.connect(
            lambda: self.supervisor_requested.emit(self.current_end())
        )
        self.progress = QtWidgets.QProgressBar()
        self.cancel_btn = QtWidgets.QPushButton("Cancel (Esc)")
        self.cancel_btn.clicked.connect(self.cancel_requested)
        for w in (self.progress, self.cancel_btn):
            _keep_room(w)
            w.setVisible(False)
        lay.addWidget(self.supervisor_btn, 4, 0, 1, 2)
        lay.addWidget(self.progress, 4, 2)
        lay.addWidget(self.cancel_btn, 4, 3)

        # One slot for what the gate says, always the same height: a refusal (which names
        # the advice of an escalated end itself) or, when nothing was refused, the advice.
        self.messages = QtWidgets.QWidget()
        slot = QtWidgets.QVBoxLayout(self.messages)
        slot.setContentsMargins(0, 0, 0, 0)
        self.refusal = _banner(theme.REFUSAL)
        self.refusal.setObjectName("refusal")
        self.advice = _banner(theme.ADVICE)
        self.advice.setObjectName("advice")
        slot.addWidget(self.refusal)
        slot.addWidget(self.advice)
        bold = QtGui.QFont(self.font())
        bold.setBold(True)
        self.messages.setFixedHeight(QtGui.QFontMetrics(bold).lineSpacing() * MESSAGE_LINES + 12)
        self._advice_text = ""
        lay.addWidget(self.messages, 5, 0, 1, 4)
        for col in range(4):
            lay.setColumnStretch(col, 1)
        # The gate takes the height it needs; more screen goes elsewhere, not into its rows.
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Maximum
        )
        self.reset_choices()
        self.set_enabled(False)

    # -- what the operator chose -------------------------------------------------------------
    def reset_choices(self, last_tool: str | None = None) -> None:
        """A new assembly: nothing chosen for it yet. The last tool is offered, not filled in."""
        self.last_tool = last_tool or self.last_tool
        self.tool.clear()
        self.method.setCurrentIndex(0)
        self.adapter.setChecked(True)
        self.mode.setCurrentIndex(0)
        self.tool.setPlaceholderText(
            f"T: {self.last_tool} again" if self.last_tool else "tool: scan its label"
        )

    def use_last_tool(self) -> bool:
        if not self.last_tool:
            return False
        self.tool.setText(self.last_tool)
        return True

    def remember_tool(self) -> None:
        """A cleaning was recorded: its tool is the one offered next time."""
        tool = self.tool.text().strip()
        if tool:
            self.last_tool = tool

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

    # -- what the gate says ------------------------------------------------------------------
    def show_end(self, view: EndView | None) -> None:
        if view is None:
            self.status.setText("")
            for label in self.step_labels:
                label.setStyleSheet(UNLIT)
            self.show_advice(None)
            return
        colour = {"ok": theme.OK, "bad": theme.REFUSAL}.get(view.tone, "#555")
        self.status.setText(f"<b style='color:{colour}'>{view.words}</b>")
        for i, label in enumerate(self.step_labels):
            label.setStyleSheet(LIT if i == view.step else UNLIT)
        self.inspect_btn.setText("Inspect again (I)" if view.step == 2 else "Inspect (I)")
        self.show_advice(view.advice)
        if view.required_method:
            self.method.setCurrentIndex(max(self.method.findData(view.required_method), 0))

    def show_refusal(self, text: str) -> None:
        self.refusal.setText(text)
        self.refusal.setToolTip(text)
        self.refusal.setVisible(bool(text))
        self.advice.setVisible(bool(self._advice_text) and not text)

    def show_advice(self, text: str | None) -> None:
        self._advice_text = text or ""
        self.advice.setText(self._advice_text)
        self.advice.setToolTip(self._advice_text)
        self.advice.setVisible(bool(text) and not self.refusal.text())

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


def _keep_room(w: QtWidgets.QWidget) -> None:
    """Hidden, ``w`` still holds its place: showing it moves nothing."""
    policy = w.sizePolicy()
    policy.setRetainSizeWhenHidden(True)
    w.setSizePolicy(policy)


def _banner(colour: str) -> QtWidgets.QLabel:
    b = QtWidgets.QLabel("")
    b.setWordWrap(True)
    b.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter)
    b.setStyleSheet(
        f"background:{colour}; color:white; padding:4px 6px; border-radius:4px; font-weight:bold;"
    )
    b.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Expanding)
    b.setVisible(False)
    return b
