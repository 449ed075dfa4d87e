"""History draws an old inspection's zones from its record, whatever its rule file says now."""

from __future__ import annotations

import numpy as np

from qa_station import bench_view as bv
from qa_station.record import load_record
from qa_station.ui.live_view import LiveView
from tests.qa_station.test_recorded_zones import SERIAL, S, edit_zone_b, house_world


def test_history_draws_the_zones_graded_not_the_rule_file_s_new_ones(qtbot, tmp_path):
    kit, rules = house_world(tmp_path)
    try:
        edit_zone_b(rules)
        (insp,) = load_record(kit.store, SERIAL).end("A").inspections
        view = LiveView()
        qtbot.addWidget(view)
        view.set_frame(np.zeros((480, 640), np.uint8))
        view.set_result(bv.one_fibre(insp.result_in_images(), 1))  # as InspectionDialog does
        radii = sorted(round(rx * S, 1) for _x, _y, rx, _ry in view.overlay_rings())
        assert radii == [12.5, 57.5, 67.5, 125.0]  # zone B still 115 um across, as graded
    finally:
        kit.store.close()
