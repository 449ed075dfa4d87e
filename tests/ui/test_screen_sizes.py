"""The bench on a laptop and on a desktop screen: every control there, whole, no scrolling.

At 1366x768 (the full screen, and what is left of it under a title bar and a panel) and
at 1920x1080, a failed MPO-12 inspection with a refusal showing: every control of the
bench page and the status bar lies inside the window and is not cut by anything; the
buttons' words fit; the results table needs no horizontal scroll bar and every failing
fibre's broken limit fits its row, wrapped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from PySide6 import QtCore, QtWidgets

from tests.ui.conftest import failed_inspection, press, settle

pytestmark = pytest.mark.slow  # a file of tens of seconds: a parallel run starts it first

K = QtCore.Qt.Key
CONTROLS = (
    QtWidgets.QAbstractButton,
    QtWidgets.QComboBox,
    QtWidgets.QLineEdit,
    QtWidgets.QAbstractItemView,
    QtWidgets.QProgressBar,
)
SIZES = [(1366, 768), (1366, 711), (1920, 1080)]  # 711: 768 less a title bar and a panel


@pytest.fixture
def failed(app, qtbot, station):
    from qa_station.ui.main_window import MainWindow

    w = MainWindow(station, live=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    failed_inspection(qtbot, w)
    press(qtbot, w, K.Key_N)  # refused: the red message takes its place too
    settle(qtbot, w)
    assert w.gate.refusal.isVisible()
    yield w
    w.close()


def at_size(qtbot, w, size: tuple[int, int]):
    w.resize(*size)
    qtbot.waitUntil(lambda: (w.width(), w.height()) == size, timeout=3000)
    qtbot.wait(100)
    return w


def bench_controls(w) -> list[QtWidgets.QWidget]:
    from qa_station.ui.fibre_map import FibreMap
    from qa_station.ui.live_view import LiveView

    found = []
    for root in (w.tabs.widget(0), w.statusBar(), w.tabs.tabBar()):
        for child in root.findChildren(QtWidgets.QWidget):
            if not child.isVisibleTo(w) or isinstance(child, QtWidgets.QScrollBar):
                continue
            if isinstance(child, (*CONTROLS, FibreMap, LiveView)) or (
                isinstance(child, QtWidgets.QLabel) and child.text()
            ):
                found.append(child)
    found.append(w.tabs.tabBar())
    return [c for c in found if c.window() is w and not _inside_a_control(c)]


def _inside_a_control(widget: QtWidgets.QWidget) -> bool:
    """Parts of a control (a table's viewport and headers, a combo's line) go with it."""
    p = widget.parentWidget()
    while p is not None:
        if isinstance(p, QtWidgets.QAbstractItemView | QtWidgets.QComboBox):
            return True
        p = p.parentWidget()
    return False


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_bench_control_is_on_screen_and_whole(qtbot, failed, size):
    w = at_size(qtbot, failed, size)
    assert w.minimumSizeHint().width() <= 1366 and w.minimumSizeHint().height() <= 711
    controls = bench_controls(w)
    assert len(controls) > 25
    window = w.rect()
    for c in controls:
        where = QtCore.QRect(c.mapTo(w, QtCore.QPoint(0, 0)), c.size())
        name = f"{type(c).__name__} {c.objectName() or getattr(c, 'text', lambda: '')()!r}"
        assert c.width() > 0 and c.height() > 0, name
        assert window.contains(where), f"{name} at {where} is not inside the window {window}"
        seen = c.visibleRegion().boundingRect()
        assert seen.size() == c.size(), f"{name}: only {seen} of {c.rect()} can be seen"
        if isinstance(c, QtWidgets.QPushButton):
            words = c.fontMetrics().horizontalAdvance(c.text().replace("&", ""))
            assert c.width() >= words, f"{name}: its words are cut"
    assert w.gate.inspect_btn in controls and w.gate.connect_btn in controls
    assert w.gate.supervisor_btn in controls and w.open_btn in controls
    assert w.s_store in controls and w.next_line in controls


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_failing_fibre_s_broken_limit_can_be_read(qtbot, failed, size):
    w = at_size(qtbot, failed, size)
    t = w.table
    assert not t.horizontalScrollBar().isVisible()
    last = t.columnCount() - 1
    right = t.columnViewportPosition(last) + t.columnWidth(last)
    assert right <= t.viewport().width()
    failing = [r for r in range(t.rowCount()) if t.item(r, 1).text() == "fail"]
    assert failing
    for r in failing:
        text = t.item(r, last).text()
        assert text.startswith("zone ")
        need = t.fontMetrics().boundingRect(
            QtCore.QRect(0, 0, t.columnWidth(last) - 8, 10_000),
            int(QtCore.Qt.TextFlag.TextWordWrap),
            text,
        )
        assert need.height() <= t.rowHeight(r), f"row {r}: {text!r} is cut"


OPEN_ON_SCREEN = """
import json
from qa_station.controller import StationController
from qa_station.ui.app import make_app, show_on_screen
from qa_station.ui.main_window import MainWindow
app = make_app()
c = StationController.open()
c.create_first_admin("ada", "admin horse battery staple")
w = MainWindow(c, live=False)
show_on_screen(w)
app.processEvents()
area = app.primaryScreen().availableGeometry()
print(json.dumps({"window": w.frameGeometry().getRect(), "area": area.getRect(),
                  "maximized": w.isMaximized()}))
w.close()
c.close()
"""


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_window_opens_on_the_screen_s_available_area(tmp_path, size):
    """On a screen of that size (Qt's offscreen platform, configured with one screen)."""
    screens = {
        "screens": [
            {"name": "s", "x": 0, "y": 0, "width": size[0], "height": size[1], "logicalDpi": 96}
        ]
    }
    config = tmp_path / "screen.json"
    config.write_text(json.dumps(screens))
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}")
    out = subprocess.run(
        [sys.executable, "-c", OPEN_ON_SCREEN],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["area"] == [0, 0, *size]
    assert seen["window"] == seen["area"]  # the whole available area (frame included)
