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
def runner(qtbot):
    """The pages' background runner; the test waits for its jobs before the station closes."""
    from qa_station.ui.workers import Runner

    r = Runner()
    yield r
    r.wait(30000)


@pytest.fixture
def bare():
    """A station with no one signed in (no accounts at all, until a test makes them)."""
    c = StationController.open()
    yield c
    c.close()


@pytest.fixture
def bare_window(app, qtbot, bare):
    from qa_station.ui.main_window import MainWindow

    w = MainWindow(bare)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


@pytest.fixture
def app(qapp):
    from qa_station.ui.app import make_app
    from tests.ui.keys import KeyTime

    app = make_app()
    # Key events made here carry no time stamps: the typist's pace comes from this clock.
    app.wedge.clock = KeyTime()
    return app


@pytest.fixture
def window(app, qtbot, station):
    from qa_station.ui.main_window import MainWindow

    w = MainWindow(station)  # it takes the wedge's scans itself
    qtbot.addWidget(w)
    w.resize(1500, 950)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def supervisor_signs(
    monkeypatch, who: tuple[str, str], reason: str, action: str | None = None
) -> None:
    """The supervisor dialog, when it next opens, is filled in by ``who`` and accepted
    (``action`` None: the decision the dialog offers first)."""
    from qa_station.ui import dialogs

    def signed(self):
        self.username.setText(who[0])
        self.password.setText(who[1])
        if action is not None:
            self.action.setCurrentText(action)
        self.reason.setPlainText(reason)
        return QtWidgets.QDialog.DialogCode.Accepted

    monkeypatch.setattr(dialogs.SupervisorDialog, "exec", signed)


def settle(qtbot, w, timeout_ms: int = 60000) -> None:
    """Wait for held keys to be delivered and every worker of the window to finish."""
    wait_for_wedge(qtbot)
    # (the pages build lazily and share the window's runner: this waits for theirs too)
    qtbot.waitUntil(lambda: not w.runner.busy, timeout=timeout_ms)
    qtbot.wait(30)


def wait_for_wedge(qtbot) -> None:
    """The wedge holds keys until it knows they are not a scan: wait until it let them go."""
    app = QtWidgets.QApplication.instance()
    qtbot.wait(20)
    qtbot.waitUntil(lambda: not app.wedge.holding, timeout=3000)


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
    wait_for_wedge(qtbot)  # the wedge filter holds a key until it knows it is not a scan


def gate_key(qtbot, w, key: QtCore.Qt.Key) -> None:
    """A gate key typed with the live view focused; then wait for what it started."""
    put_focus(qtbot, w.view)
    press(qtbot, w, key)
    settle(qtbot, w)


def open_and_press(qtbot, w, serial: str, key: QtCore.Qt.Key) -> None:
    """Open ``serial`` on the bench, then type the gate key ``key`` (``gate_key``)."""
    w.open_serial(serial)
    settle(qtbot, w)
    gate_key(qtbot, w, key)


def failed_inspection(qtbot, w, serial: str = "T12B-000003") -> None:
    """Open the dusty trunk and inspect end A by key: it fails on the simulated line."""
    open_and_press(qtbot, w, serial, QtCore.Qt.Key.Key_I)
    assert w.c.session.state.end("A").status == "failed"


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
