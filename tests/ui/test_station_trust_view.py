"""The station's own evidence in the window: the Qualification page, the status bar, the
dirty-probe button, History's Re-grade with progress and cancel, and the drift charts."""

from __future__ import annotations

import re

import pytest

from hardware.simulated.lens import LensSmudge
from qa_station.controller import StationController
from qa_station.drift import Drift, p_chart, u_chart
from qa_station.ui.workers import Runner
from tests.ui.conftest import SUPERVISOR, accept_headless, settle

pytestmark = pytest.mark.slow  # a file of tens of seconds: a parallel run starts it first


@pytest.fixture
def unqualified():
    c = StationController.open(realtime=False)
    admin = c.create_first_admin("admin", "admin horse battery staple", "The Admin")
    c.accounts.add(SUPERVISOR[0], "supervisor", admin, "Sam Supervisor", SUPERVISOR[1])
    yield c
    c.close()


def test_a_supervisor_qualifies_the_station_from_settings_and_the_status_bar_follows(
    qtbot, app, unqualified
):
    from qa_station.ui.qualification_panel import QualificationPanel, StationState

    runner = Runner()
    state = StationState(unqualified)
    qtbot.addWidget(state)
    assert state.label.text() == "NOT QUALIFIED: no qualification on record"
    panel = QualificationPanel(unqualified, runner)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: not runner.busy, timeout=10000)
    assert "no qualification on record" in panel.state.text()
    panel.run("nobody", "wrong")
    qtbot.waitUntil(lambda: not runner.busy, timeout=10000)
    assert "sign-in refused" in panel.result.text()
    seen = []
    panel.qualified.connect(lambda: seen.append(True))
    panel.run(*SUPERVISOR)
    qtbot.waitUntil(lambda: bool(seen), timeout=120000)
    qtbot.waitUntil(lambda: not runner.busy, timeout=10000)
    assert re.search(r"QUALIFIED: (5[7-9]|60)/60 faces agree .*, 0 false pass", panel.result.text())
    assert "report: " in panel.result.text()
    assert "qualified until" in panel.state.text()
    state.refresh()
    qtbot.waitUntil(lambda: "day(s) left" in state.label.text(), timeout=10000)
    assert not state.cleaned_btn.isVisible()


def test_the_dirty_probe_alarm_shows_its_button_and_the_operator_clears_it(qtbot, app, station):
    from qa_station.ui.qualification_panel import StationState

    c = station
    state = StationState(c)
    qtbot.addWidget(state)
    state.show()
    c.open_serial("T12B-000321")
    c.bench.simulated.smudge_lens(LensSmudge((749.5, 419.5), 6 / 0.3125, -0.5, seed=3))
    assert c.inspect("A").probe_alarm
    state.refresh()
    qtbot.waitUntil(lambda: state.cleaned_btn.isVisible(), timeout=10000)
    assert state.label.text() == "PROBE DIRTY: clean the probe tip"
    state.cleaned_btn.click()
    qtbot.waitUntil(lambda: not state.cleaned_btn.isVisible(), timeout=10000)
    assert "day(s) left" in state.label.text()
    assert c.bench.simulated.lens is None


def test_history_regrades_with_progress_and_a_cancel_that_records_nothing(qtbot, window):
    from qa_station.ui.regrade_dialog import RegradeDialog

    c = window.c
    accept_headless(c, "LCD-0000007")
    settle(qtbot, window)
    assert window.history.regrade_btn.text() == "Re-grade..."
    dlg = RegradeDialog(c, window)
    qtbot.addWidget(dlg)
    dlg.table.setCurrentText("iec-61300-3-35-ed2/sm-pc")
    events = c.counts()["events"]
    dlg.start()
    dlg.stop()  # at once: nothing graded, nothing recorded
    qtbot.waitUntil(lambda: not dlg.runner.busy, timeout=60000)
    assert "cancelled" in dlg.message.text()
    assert c.counts()["events"] == events
    assert dlg.start_btn.isEnabled() and not dlg.cancel_btn.isEnabled()
    steps = []
    dlg.progress.valueChanged.connect(steps.append)
    dlg.start()
    qtbot.waitUntil(lambda: not dlg.runner.busy, timeout=120000)
    assert dlg.done_with is not None, dlg.message.text()
    assert "4 frames of 4 inspections" in dlg.message.text()
    assert "would now fail: none" in dlg.message.text()
    assert steps and max(steps) == 4
    assert c.counts()["events"] == events + 1


def test_the_drift_panel_draws_limits_and_names_the_points_out_of_control(qtbot, app, station):
    from qa_station.ui.drift_view import DriftPanel

    panel = DriftPanel(station, Runner())
    qtbot.addWidget(panel)
    days = [(i * 86_400_000_000, 1 if i != 6 else 7, 8) for i in range(10)]
    data = Drift([p_chart("bench-1", days), u_chart("bench-1", [(d, 2, 96) for d, _, _ in days])])
    panel.show_drift(data)
    assert panel.bench.currentText() == "bench-1"
    assert "out of control" in panel.flags.text() and "rule 1: beyond 3 sigma" in panel.flags.text()
    assert len(panel.plots["p"].listDataItems()) >= 4  # limits, centre, points
