"""Keyboard-wedge barcode scanners: a scan arrives whole, wherever the focus is.

A wedge scanner types its code as keystrokes: for a capital letter, a Shift
press, the letter, the Shift release. Two ways to tell a scan from a person:

- **Prefix** (recommended): the scanner is set to send a key nobody types
  (``Ctrl+B``, ``F12``, a character such as ``~``) before each code. With a
  prefix configured, exactly what follows it up to the suffix key (Enter or
  Tab) is the scan, however fast or slowly it comes, and nothing else is.
- **Timing** (no prefix): keys are held while they come faster than a person
  types. A burst of at least four printable keys that an Enter ends is a scan.
  Modifier keys (Shift, AltGr...) belong to the burst: they neither end it
  nor deliver what was held. In a text field the held keys go on as typing
  after a 45 ms pause; elsewhere (the bench, where letters are gate keys) the
  wedge waits 150 ms, so a slow scanner does not press gate keys.

A scan is never shortened. When keys of the same run were already typed into
the field (a person typing, or a scanner slower than the gap), the held ones
follow as typing and the Enter goes to the field, which then holds the whole
code. On the bench, where typed keys are not kept anywhere, such a run is
``broken`` (the window says so) instead of a scan of its tail.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from qa_station.scanner_keys import ScannerKeys, parse_scanner_keys

K = QtCore.Qt.Key
FIELD_GAP_S = 0.045  # people type a key every 80 ms or more; scanners every few ms
BENCH_GAP_S = 0.15  # on the bench no field shows what was typed: wait for slow scanners
# Keys typed less than this before a burst belong to its run. In a field they stay there
# and the burst follows them as typing; on the bench they acted as keys, so the window is
# short (a gate key pressed just before picking up the scanner is not part of the code).
FIELD_RUN_S = 0.5
BENCH_RUN_S = 2 * BENCH_GAP_S
PREFIX_TIMEOUT_S = 2.0  # a prefixed scan with no suffix by then is reported as broken
MIN_SCAN = 4
MODIFIERS = frozenset(
    {
        K.Key_Shift,
        K.Key_Control,
        K.Key_Alt,
        K.Key_AltGr,
        K.Key_Meta,
        K.Key_CapsLock,
        K.Key_NumLock,
        K.Key_Super_L,
        K.Key_Super_R,
        K.Key_Hyper_L,
        K.Key_Hyper_R,
        K.Key_Mode_switch,
    }
)
PLAIN = (
    QtCore.Qt.KeyboardModifier.NoModifier,
    QtCore.Qt.KeyboardModifier.ShiftModifier,
    QtCore.Qt.KeyboardModifier.KeypadModifier,
    QtCore.Qt.KeyboardModifier.ShiftModifier | QtCore.Qt.KeyboardModifier.KeypadModifier,
)
SUFFIX_KEYS = {"Enter": (K.Key_Return, K.Key_Enter), "Tab": (K.Key_Tab,)}


def takes_text(widget: QtWidgets.QWidget | None) -> bool:
    """Whether keys typed at ``widget`` are shown and kept (a field a person types into)."""
    return isinstance(
        widget,
        QtWidgets.QLineEdit
        | QtWidgets.QPlainTextEdit
        | QtWidgets.QTextEdit
        | QtWidgets.QAbstractSpinBox,
    )


class WedgeScanner(QtCore.QObject):
    scanned = QtCore.Signal(str)
    broken = QtCore.Signal(str)  # what arrived of a scan that could not be taken whole

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._held: list[tuple[QtWidgets.QWidget, QtGui.QKeyEvent]] = []
        self._last = 0.0
        self._started = 0.0  # when the first held key of this burst came
        self._typed: dict[int, float] = {}  # id(widget): when keys were last typed into it
        self._replaying = False
        self._capture: list[str] | None = None  # a prefixed scan being read
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._timed_out)
        self.keys = ScannerKeys()
        self.enabled = True
        # Where time comes from for a key event without a time stamp. Window systems
        # stamp their key events; events made in-process (tests, input methods) are not.
        self.clock: Callable[[], float] = time.monotonic

    def configure(self, prefix: str = "", suffix: str = "Enter") -> None:
        """Take the station config's ``[scanner] prefix`` and ``suffix`` (checked there)."""
        self.keys = parse_scanner_keys(prefix, suffix)
        self._release()
        self._capture = None

    @property
    def holding(self) -> bool:
        """Keys are held back while the wedge decides (tests wait for this to clear)."""
        return bool(self._held) or self._capture is not None

    # -- the filter ------------------------------------------------------------------------
    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:
        kind = event.type()
        if not self.enabled or self._replaying:
            return False
        if kind not in (QtCore.QEvent.Type.KeyPress, QtCore.QEvent.Type.ShortcutOverride):
            return False
        if (
            not isinstance(obj, QtWidgets.QWidget)
            or obj is not QtWidgets.QApplication.focusWidget()
        ):
            return False
        if kind == QtCore.QEvent.Type.ShortcutOverride:
            # A shortcut (Space: capture) must not fire in the middle of a scan: claiming the
            # override lets the key come as a key press, to be held with the rest.
            if self.holding and self._printable(event):
                event.accept()
                return True
            return False
        if self.keys.prefix:
            return self._prefixed(obj, event)
        return self._timed(obj, event)

    @staticmethod
    def _printable(event: QtGui.QKeyEvent) -> bool:
        text = event.text()
        return bool(text) and text.isprintable() and event.modifiers() in PLAIN

    def _is_suffix(self, event: QtGui.QKeyEvent) -> bool:
        return event.key() in SUFFIX_KEYS[self.keys.suffix]

    # -- with a prefix ---------------------------------------------------------------------
    def _prefixed(self, obj: QtWidgets.QWidget, event: QtGui.QKeyEvent) -> bool:
        if self._capture is None:
            if not self.keys.is_prefix(event.key(), event.text(), _ctrl(event)):
                return False
            self._capture = []
            self._timer.start(int(PREFIX_TIMEOUT_S * 1000))
            return True
        if event.key() in MODIFIERS:
            return True
        if self._is_suffix(event):
            code, self._capture = "".join(self._capture), None
            self._timer.stop()
            if code:
                self.scanned.emit(code)
            else:
                self.broken.emit("")
            return True
        if self._printable(event) and not event.isAutoRepeat():
            self._capture.append(event.text())
            self._timer.start(int(PREFIX_TIMEOUT_S * 1000))
            return True
        # A key no scanner sends inside a code: the scan is not whole.
        code, self._capture = "".join(self._capture), None
        self._timer.stop()
        self.broken.emit(code)
        return True

    # -- by timing -------------------------------------------------------------------------
    def _timed(self, obj: QtWidgets.QWidget, event: QtGui.QKeyEvent) -> bool:
        now = self._when(event)
        key = event.key()
        if key in MODIFIERS:
            if self._held and now - self._last <= self._gap(obj):
                self._last = now  # Shift between the characters of a burst is part of it
                self._timer.start(self._gap_ms(obj))
            return False
        if self._is_suffix(event) and self._held:
            target = self._held[0][0]
            burst = len(self._held) >= MIN_SCAN and now - self._last <= 2 * self._gap(obj)
            if burst and obj is target and not self._typed_before_burst(target):
                code = "".join(e.text() for _, e in self._held)
                self._held.clear()
                self._timer.stop()
                self.scanned.emit(code)
                return True
            if burst and obj is target and not takes_text(target):
                # The start of this run already went to the bench as keys: the code cannot
                # be taken whole, and its tail alone must not pass for it.
                code = "".join(e.text() for _, e in self._held)
                self._held.clear()
                self._timer.stop()
                self.broken.emit(code)
                return True
            self._release()
            self._note_typed(obj, now)
            return False
        if not self._printable(event) or event.isAutoRepeat():
            self._release()
            self._note_typed(obj, now)
            return False
        if self._held and (now - self._last > self._gap(obj) or self._held[0][0] is not obj):
            self._release()
        if not self._held:
            self._started = now
        self._held.append(
            (obj, QtGui.QKeyEvent(event.type(), key, event.modifiers(), event.text()))
        )
        self._last = now
        self._timer.start(self._gap_ms(obj))
        return True

    def _when(self, event: QtGui.QKeyEvent) -> float:
        """When the key was pressed: the window system's own time stamp (ms) when it gives
        one, so a busy GUI thread that reads keys late does not split a burst; else now."""
        stamp = event.timestamp()
        return stamp / 1000.0 if stamp else self.clock()

    @staticmethod
    def _gap(obj: QtWidgets.QWidget) -> float:
        return FIELD_GAP_S if takes_text(obj) else BENCH_GAP_S

    def _gap_ms(self, obj: QtWidgets.QWidget) -> int:
        return int(self._gap(obj) * 1000) + 5

    def _note_typed(self, target: QtWidgets.QWidget, at: float) -> None:
        self._typed[id(target)] = at

    def _typed_before_burst(self, target: QtWidgets.QWidget) -> bool:
        """Whether keys of this run were typed into ``target`` just before the held burst."""
        at = self._typed.get(id(target))
        run = FIELD_RUN_S if takes_text(target) else BENCH_RUN_S
        return at is not None and self._started - at <= run

    def _timed_out(self) -> None:
        if self._capture is not None:
            code, self._capture = "".join(self._capture), None
            self.broken.emit(code)
            return
        # Keys that came while the GUI thread was busy may still wait in the queue: let
        # them in first, then release what is held if nothing joined the burst.
        held = len(self._held)
        QtCore.QTimer.singleShot(0, lambda: self._release() if len(self._held) == held else None)

    def _release(self) -> None:
        """Deliver held keys to where they were going (a person was typing)."""
        self._timer.stop()
        held, self._held = self._held, []
        if not held:
            return
        self._replaying = True
        try:
            for target, ev in held:
                with contextlib.suppress(RuntimeError):  # the widget went (a dialog closed)
                    QtWidgets.QApplication.sendEvent(target, ev)
        finally:
            self._replaying = False
        self._note_typed(held[-1][0], self._last)  # when the last of them was typed


def _ctrl(event: QtGui.QKeyEvent) -> bool:
    return bool(event.modifiers() & QtCore.Qt.KeyboardModifier.ControlModifier)
