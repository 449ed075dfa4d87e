"""The bench's pictures, widget by widget, compared with reference pictures (tolerant of noise).

Each reference is one widget at a fixed size (``tests/ui/reference.py``): the
live view through its scene, the fibre map and the gate panel as the window
lays them out at a fixed window size. A font change breaks only the pictures
that show that font.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6 import QtCore

from grading.results import Defect, EndFaceResult, FiberResult, ZoneShape
from tests.ui.conftest import failed_inspection, open_and_press, press
from tests.ui.reference import assert_looks_like, compare, to_array, view_picture

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


def settled(qtbot, w):
    qtbot.wait(50)
    w.statusBar().clearMessage()
    return w


def test_signed_in_with_nothing_on_the_bench(qtbot, still, tmp_path):
    w = settled(qtbot, still)
    assert_looks_like(w.gate.grab().toImage(), "gate-empty", tmp_path)


def test_a_failed_inspection(qtbot, still, tmp_path):
    w = still
    failed_inspection(qtbot, w)
    settled(qtbot, w)
    assert_looks_like(view_picture(w.view), "live-view-failed-inspection", tmp_path)
    assert_looks_like(w.map.grab().toImage(), "fibre-map-failed-inspection", tmp_path)


def test_a_refusal(qtbot, still, tmp_path):
    w = still
    open_and_press(qtbot, w, "T12B-000003", K.Key_N)
    assert w.gate.refusal.isVisible()
    settled(qtbot, w)
    assert_looks_like(w.gate.grab().toImage(), "gate-refusal", tmp_path)


def test_the_comparison_fails_when_the_overlay_is_gone(qtbot, still):
    """The tolerance is tight enough to see a missing overlay (the reason for these tests)."""
    w = still
    open_and_press(qtbot, w, "T12B-000003", K.Key_I)
    with_overlay = to_array(view_picture(w.view))
    press(qtbot, w, K.Key_O)
    without = to_array(view_picture(w.view))
    share, _ = compare(without, with_overlay, 48)
    assert share > 0.0005


def synthetic_fibre() -> tuple[np.ndarray, EndFaceResult]:
    """A fibre at 0.5 um/px near the frame's right edge: zone D is cut off (not judged), a
    particle in B and a scratch across A, drawn from the result alone."""
    img = np.full((480, 640), 60, np.uint8)
    cv2.circle(img, (420, 240), 125, 185, -1)
    cv2.circle(img, (420, 240), 9, 230, -1)
    zones = (
        ZoneShape("A", "core", 0, 25),
        ZoneShape("B", "cladding", 25, 115),
        ZoneShape("C", "adhesive", 115, 135),
        ZoneShape("D", "contact", 135, 250, min_coverage=0.5),
    )
    fibre = FiberResult(
        7,
        (420.0, 240.0),
        250.0,
        "error",
        (
            Defect("defect", "B", 6.0, (470.0, 220.0)),
            Defect("scratch", "A", 2.0, (420.0, 240.0), 30.0, ((400.0, 225.0), (440.0, 255.0))),
        ),
        coverage={"A": 1.0, "B": 1.0, "C": 1.0, "D": 0.42},
    )
    result = EndFaceResult("error", 0.5, "house", "lc-upc", (fibre,), zones=zones)
    return img, result


def test_the_live_view_draws_a_result_at_a_fixed_size(qtbot, app, tmp_path):
    """The live view alone, not in a window: a font change elsewhere cannot move it."""
    from qa_station.ui.live_view import LiveView

    view = LiveView()
    qtbot.addWidget(view)
    view.resize(640, 480)
    view.show()
    qtbot.waitExposed(view)
    img, result = synthetic_fibre()
    view.set_frame(img)
    view.set_result(result)
    qtbot.wait(50)
    assert_looks_like(view_picture(view), "live-view-fibre", tmp_path)
