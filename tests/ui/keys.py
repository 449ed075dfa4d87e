"""Keys as a keyboard-wedge scanner sends them: real key events, Shift and all.

For a capital letter a wedge sends Shift down, the letter (with Shift held, its
text the capital), the letter up and Shift up, as one character; then it waits
its inter-character delay. ``QTest.keyClick`` with the Shift modifier sends
exactly those four events (through the application's event filters and the
shortcut map, as a real keyboard does).
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest

K = QtCore.Qt.Key
M = QtCore.Qt.KeyboardModifier
SHIFTED = set('~!@#$%^&*()_+{}|:"<>?')


def shifted(ch: str) -> bool:
    return ch.isupper() or ch in SHIFTED


def type_keys(code: str, ms_per_key: float, target: QtWidgets.QWidget | None = None) -> None:
    """``code`` typed at ``ms_per_key`` into the focused widget, Shift around each capital."""
    target = target or QtWidgets.QApplication.focusWidget()
    assert target is not None, "nothing has the keyboard focus"
    for ch in code:
        QTest.keyClick(target, ch, M.ShiftModifier if shifted(ch) else M.NoModifier)
        QTest.qWait(int(ms_per_key))


def scanner(
    code: str,
    ms_per_key: float,
    prefix: tuple[K, M] | None = None,
    suffix: K = K.Key_Return,
) -> None:
    """A wedge scanner reading ``code``: its prefix key if set, the code, the suffix key."""
    target = QtWidgets.QApplication.focusWidget()
    assert target is not None, "nothing has the keyboard focus"
    if prefix is not None:
        QTest.keyClick(target, prefix[0], prefix[1])
        QTest.qWait(int(ms_per_key))
    type_keys(code, ms_per_key, target)
    QTest.keyClick(QtWidgets.QApplication.focusWidget() or target, suffix)
