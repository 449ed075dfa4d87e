"""Progress for whatever the station is doing that takes a noticeable time.

Every labelled task of a ``Runner`` (opening a serial, moving to an end and
focusing, grading a capture, recording an action, writing a certificate,
searching the record...) shows here, in the status bar, with a busy bar, if it
is still running after 0.3 s: a fast action does not flicker, a slow one is
never a silent wait.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from qa_station.ui.workers import Runner

DELAY_MS = 300


class ActivityBar(QtWidgets.QWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.bar = QtWidgets.QProgressBar()
        self.bar.setRange(0, 0)  # busy: how long is not known
        self.bar.setFixedWidth(90)
        self.bar.setTextVisible(False)
        self.label = QtWidgets.QLabel("")
        self.label.setObjectName("activity")
        lay.addWidget(self.bar)
        lay.addWidget(self.label)
        self._running: dict[int, str] = {}
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._show)
        self.setVisible(False)

    def watch(self, runner: Runner) -> None:
        key = id(runner)
        runner.activity.connect(lambda text: self._changed(key, text))

    @property
    def text(self) -> str:
        """What is going on now ("" when nothing labelled runs)."""
        return next((t for t in reversed(self._running.values()) if t), "")

    def _changed(self, key: int, text: str) -> None:
        self._running.pop(key, None)
        if text:
            self._running[key] = text
        now = self.text
        if not now:
            self._timer.stop()
            self.setVisible(False)
            return
        self.label.setText(now + "...")
        if not self.isVisible() and not self._timer.isActive():
            self._timer.start(DELAY_MS)

    def _show(self) -> None:
        if self.text:
            self.setVisible(True)
