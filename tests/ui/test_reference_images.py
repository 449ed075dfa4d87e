"""The bench window's main states, compared with reference pictures (tolerant of noise)."""

from __future__ import annotations

import pytest
from PySide6 import QtCore

from tests.ui.conftest import failed_inspection, press, put_focus, settle
from tests.ui.reference import assert_looks_like, compare, to_array

SIZE = (1400, 900)
K = QtCore.Qt.Key


@pytest.fixture
def still(app, qtbot, station):
    """The window without its live stream, so a picture of it is the same every time."""
    from qa_station.ui.main_window import MainWindow

    w = MainWindow(station, live=False)
    qtbot.addWidget(w)
    w.resize(*SIZE)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def picture(qtbot, w):
    qtbot.wait(50)
    w.statusBar().clearMessage()
    return w.grab().toImage()


def test_signed_in_with_nothing_on_the_bench(qtbot, still, tmp_path):
    assert_looks_like(picture(qtbot, still), "empty", tmp_path)


def test_a_failed_inspection(qtbot, still, tmp_path):
    w = still
    failed_inspection(qtbot, w)
    assert_looks_like(picture(qtbot, w), "failed-inspection", tmp_path)


def test_a_refusal(qtbot, still, tmp_path):
    w = still
    w.open_serial("T12B-000003")
    settle(qtbot, w)
    put_focus(qtbot, w.view)
    press(qtbot, w, K.Key_N)
    settle(qtbot, w)
    assert w.gate.refusal.isVisible()
    assert_looks_like(picture(qtbot, w), "refusal", tmp_path)


def test_the_comparison_fails_when_the_overlay_is_gone(qtbot, still):
    """The tolerance is tight enough to see a missing overlay (the reason for these tests)."""
    w = still
    w.open_serial("T12B-000003")
    settle(qtbot, w)
    put_focus(qtbot, w.view)
    press(qtbot, w, K.Key_I)
    settle(qtbot, w)
    with_overlay = to_array(picture(qtbot, w))
    press(qtbot, w, K.Key_O)
    without = to_array(picture(qtbot, w))
    share, _ = compare(without, with_overlay, 48)
    assert share > 0.0005
