"""A bench window on the simulated bench, signed in, for pytest-qt (offscreen).

The window is the real one: its frame thread reads the simulated probe, its
workers drive the simulated fixture and write to a SQLite store in the test's
station home. Tests act as the operator does, with keys, clicks and a
keyboard-wedge scanner's bursts.
"""

from __future__ import annotations

import pytest
from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest

from qa_station.controller import StationController
from tests.qualify_kit import qualify_store

OPERATOR = ("olga", "correct horse battery staple")
SUPERVISOR = ("sam", "supervisor horse battery")


@pytest.fixture
def station():
    c = StationController.open()
    admin = c.create_first_admin("admin", "admin horse battery staple", "The Admin")
    c.accounts.add(OPERATOR[0], "operator", admin, "Olga Operator", OPERATOR[1])
    c.accounts.add(SUPERVISOR[0], "supervisor", admin, "Sam Supervisor", SUPERVISOR[1])
    qualify_store(c.store)  # no station records an inspection unqualified (issue 14)
    c.login(*OPERATOR)
    yield c
    c.close()


@pytest.fixture
def app(qapp):
    from qa_station.ui.app import make_app

    return make_app()


@pytest.fixture
def window(app, qtbot, station):
    from qa_station.ui.main_window import MainWindow

    w = MainWindow(station)
    app.wedge.scanned.connect(w.scanned)
    qtbot.addWidget(w)
    w.resize(1500, 950)
    w.show()
    qtbot.waitExposed(w)
    yield w
    app.wedge.scanned.disconnect(w.scanned)
    w.close()


def settle(qtbot, w, timeout_ms: int = 60000) -> None:
    """Wait for held keys to be delivered and every worker of the window to finish."""
    qtbot.wait(120)  # the wedge holds keys for a few tens of ms
    qtbot.waitUntil(lambda: not w.runner.busy and not w.history.runner.busy, timeout=timeout_ms)
    qtbot.wait(30)


def put_focus(qtbot, widget: QtWidgets.QWidget) -> None:
    widget.window().activateWindow()
    widget.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(lambda: QtWidgets.QApplication.focusWidget() is widget, timeout=3000)


def scan_barcode(qtbot, widget: QtWidgets.QWidget, code: str) -> None:
    """A wedge scanner: the code's keys in one fast burst and an Enter, to the focused widget."""
    QTest.keyClicks(widget, code)
    QTest.keyClick(widget, QtCore.Qt.Key.Key_Return)


def press(qtbot, w, key: QtCore.Qt.Key) -> None:
    """A gate key, typed on the window (not in a field), as the operator does."""
    QTest.keyClick(QtWidgets.QApplication.focusWidget() or w, key)
    QTest.qWait(100)  # the wedge filter holds a key until it knows it is not a scan


def accept_headless(c: StationController, serial: str) -> None:
    """Take an assembly through the gate without the window (a record for the views)."""
    c.open_serial(serial)
    for end in [e.label for e in c.session.ends]:
        for _ in range(6):
            if c.inspect(end).verdict == "pass":
                break
            e = c.session.state.end(end)
            method = (e.escalation and e.escalation.require_method) or "dry-one-click"
            c.clean(end, method, "TOOL-1", True)
        c.connect(end)
    assert c.session.state.status == "accepted", c.session.state
