"""What the operator sees when the floor database goes down and comes back."""

from __future__ import annotations

import pytest

from qa_station.controller import StationController
from tests.ui.conftest import OPERATOR, press, settle

pytestmark = pytest.mark.postgres


@pytest.fixture
def floor_window(app, qtbot, pg_server):
    from qa_station.ui.main_window import MainWindow

    c = StationController.open(db_url=pg_server.create_database("floor"))
    admin = c.create_first_admin("admin", "admin horse battery staple", "The Admin")
    c.accounts.add(OPERATOR[0], "operator", admin, "Olga Operator", OPERATOR[1])
    c.login(*OPERATOR)
    w = MainWindow(c, live=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w, c, pg_server
    w.close()
    c.close()


def test_the_bench_says_the_database_is_down_keeps_working_and_says_when_it_is_back(
    floor_window, qtbot
):
    from PySide6 import QtCore

    w, c, server = floor_window
    w.open_serial("T12B-000301")
    settle(qtbot, w)
    c.bench.load(c.session.identified, "dusty")
    server.stop()

    press(qtbot, w, QtCore.Qt.Key.Key_I)  # inspect end A: kept in the outbox
    settle(qtbot, w)
    w._update_status()
    assert c.offline and c.outbox_pending() >= 1
    assert "DOWN" in w.s_store.text() and "in the outbox" in w.s_store.text()
    assert w.floor_notice.isVisible()
    assert "floor database is down" in w.floor_notice.text()
    assert "1 action(s) kept in this bench's outbox" in w.floor_notice.text()

    server.start()
    w._send_outbox()
    qtbot.waitUntil(lambda: not w.floor_runner.busy, timeout=30000)
    qtbot.waitUntil(lambda: "is back" in w.banner.text(), timeout=5000)
    w._update_status()
    assert not c.offline and c.outbox_pending() == 0
    assert "DOWN" not in w.s_store.text() and not w.floor_notice.isVisible()
