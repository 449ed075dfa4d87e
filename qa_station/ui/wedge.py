"""Keyboard-wedge barcode scanners: a fast burst of keys ending in Enter is a scan.

A wedge scanner types its code as keystrokes, wherever the focus is. Keys are
held for a few tens of milliseconds: if more follow faster than a person
types and an Enter ends them, the burst is a scan and goes to the station
instead of the field in focus; otherwise the held keys are delivered where
they were going, in order.
"""

from __future__ import annotations

import time

from PySide6 import QtCore, QtGui, QtWidgets

BURST_GAP_S = 0.045  # scanners type a key every few ms; people, every 80 ms or more
MIN_SCAN = 4


class WedgeScanner(QtCore.QObject):
    scanned = QtCore.Signal(str)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._held: list[tuple[QtWidgets.QWidget | None, QtGui.QKeyEvent]] = []
        self._last = 0.0
        self._replaying = False
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._release)
        self.enabled = True

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if not self.enabled or self._replaying or event.type() != QtCore.QEvent.Type.KeyPress:
            return False
        if (
            not isinstance(obj, QtWidgets.QWidget)
            or obj is not QtWidgets.QApplication.focusWidget()
        ):
            return False
        key = event.key()
        now = time.monotonic()
        if key in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter) and self._held:
            if len(self._held) >= MIN_SCAN and now - self._last <= BURST_GAP_S * 2:
                code = "".join(e.text() for _, e in self._held)
                self._held.clear()
                self._timer.stop()
                self.scanned.emit(code)
                return True
            self._release()
            return False
        text = event.text()
        plain = event.modifiers() in (
            QtCore.Qt.KeyboardModifier.NoModifier,
            QtCore.Qt.KeyboardModifier.ShiftModifier,
        )
        if not text or not text.isprintable() or not plain:
            self._release()
            return False
        if self._held and now - self._last > BURST_GAP_S:
            self._release()
        self._held.append((obj, QtGui.QKeyEvent(event.type(), key, event.modifiers(), text)))
        self._last = now
        self._timer.start(int(BURST_GAP_S * 1000) + 5)
        return True

    def _release(self) -> None:
        """Deliver held keys to where they were going (a person was typing)."""
        self._timer.stop()
        held, self._held = self._held, []
        self._replaying = True
        try:
            for target, ev in held:
                if target is not None:
                    QtWidgets.QApplication.sendEvent(target, ev)
        finally:
            self._replaying = False
