"""Keys as a keyboard-wedge scanner sends them: real key events, Shift and all.

For a capital letter a wedge sends Shift down, the letter (with Shift held, its
text the capital), the letter up and Shift up, as one character; then it waits
its inter-character delay. ``QTest.keyClick`` with the Shift modifier sends
exactly those four events (through the application's event filters and the
shortcut map, as a real keyboard does).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest

K = QtCore.Qt.Key
M = QtCore.Qt.KeyboardModifier
SHIFTED = set('~!@#$%^&*()_+{}|:"<>?')


def shifted(ch: str) -> bool:
    return ch.isupper() or ch in SHIFTED


class KeyTime:
    """The time stamps a window system gives key events, for events made in-process.

    A real keyboard or scanner's events carry the time each key was pressed, so a
    busy GUI thread does not change what a burst looks like. QTest's events carry
    none, so the wedge reads this clock instead: while keys are typed it stands
    still but for the typist's own pace, and between bursts it runs with the
    wall clock (a test's pauses are real pauses).
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._typing: float | None = None

    def __call__(self) -> float:
        return self._typing if self._typing is not None else time.monotonic() + self._offset

    @contextlib.contextmanager
    def typing(self) -> Iterator[None]:
        if self._typing is not None:  # already typing (a scanner's prefix, code and suffix)
            yield
            return
        self._typing = self()
        try:
            yield
        finally:
            self._offset = self._typing - time.monotonic()
            self._typing = None

    def advance(self, seconds: float) -> None:
        assert self._typing is not None, "the clock moves by keys only while typing"
        self._typing += seconds


def key_time() -> KeyTime | None:
    wedge = getattr(QtWidgets.QApplication.instance(), "wedge", None)
    clock = getattr(wedge, "clock", None)
    return clock if isinstance(clock, KeyTime) else None


def type_keys(code: str, ms_per_key: float, target: QtWidgets.QWidget | None = None) -> None:
    """``code`` typed at ``ms_per_key`` into the focused widget, Shift around each capital."""
    target = target or QtWidgets.QApplication.focusWidget()
    assert target is not None, "nothing has the keyboard focus"
    clock = key_time()
    if clock is None:
        for ch in code:
            QTest.keyClick(target, ch, M.ShiftModifier if shifted(ch) else M.NoModifier)
            QTest.qWait(int(ms_per_key))
        return
    with clock.typing():
        for ch in code:
            QTest.keyClick(target, ch, M.ShiftModifier if shifted(ch) else M.NoModifier)
            clock.advance(ms_per_key / 1000.0)


def scanner(
    code: str,
    ms_per_key: float,
    prefix: tuple[K, M] | None = None,
    suffix: K = K.Key_Return,
) -> None:
    """A wedge scanner reading ``code``: its prefix key if set, the code, the suffix key."""
    target = QtWidgets.QApplication.focusWidget()
    assert target is not None, "nothing has the keyboard focus"
    clock = key_time()
    with clock.typing() if clock is not None else contextlib.nullcontext():
        if prefix is not None:
            QTest.keyClick(target, prefix[0], prefix[1])
            if clock is not None:
                clock.advance(ms_per_key / 1000.0)
            else:
                QTest.qWait(int(ms_per_key))
        type_keys(code, ms_per_key, target)
        QTest.keyClick(QtWidgets.QApplication.focusWidget() or target, suffix)
