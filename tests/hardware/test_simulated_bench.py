"""The simulated bench, probe and fixture, and autofocus through them."""

from __future__ import annotations

import numpy as np
import pytest

from grading.geometry import connector
from hardware.focus import FocusError, autofocus, focus_score
from hardware.probes.base import Probe, ProbeDisconnected, ProbeError
from hardware.simulated.assembly import EndSpec, VirtualAssembly
from hardware.simulated.bench import BenchError, SimulatedBench
from hardware.simulated.fixture import SimulatedFixture
from hardware.simulated.probe import SimulatedProbe
from hardware.stages.base import Fixture, FixtureRefused


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def rig(scenario="clean", conn="mpo24", polish="apc", clock=None):
    bench = SimulatedBench(clock=clock or FakeClock(), seed=3)
    ends = [
        EndSpec("A", connector(conn), "sm", polish, "female"),
        EndSpec("B", connector(conn), "sm", polish, "male"),
    ]
    bench.load(VirtualAssembly.build("SIM-1", ends, scenario))
    probe = SimulatedProbe(bench, realtime=False)
    fixture = SimulatedFixture(bench)
    probe.open()
    fixture.open()
    return bench, probe, fixture


def test_they_meet_the_protocols():
    _bench, probe, fixture = rig()
    assert isinstance(probe, Probe)
    assert isinstance(fixture, Fixture)
    assert fixture.info.ends == ("A", "B") and fixture.info.has_autofocus


def test_frames_say_which_end_and_fibre_they_show():
    _bench, probe, fixture = rig()
    fixture.select_end("B")
    fixture.goto_fiber(7)
    f = probe.read()
    assert (f.end, f.fiber, f.view) == ("B", 7, "fiber")
    assert f.image.shape == (960, 1280) and f.image.dtype == np.uint8
    assert f.um_per_px == pytest.approx(0.3125)
    fixture.goto_overview()
    o = probe.read()
    assert o.view == "overview" and o.fiber is None and o.um_per_px > 4
    assert o.sequence == f.sequence + 1


def test_each_frame_has_fresh_sensor_noise():
    _bench, probe, fixture = rig()
    fixture.select_end("A")
    fixture.goto_fiber(1)
    a, b = probe.read().image, probe.read().image
    assert not np.array_equal(a, b)
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 6


def test_fixture_refusals_carry_the_protocol_codes():
    _bench, _probe, fixture = rig()
    with pytest.raises(FixtureRefused) as e:
        fixture.goto_fiber(1)
    assert e.value.code == 12
    with pytest.raises(FixtureRefused) as e:
        fixture.select_end("Z")
    assert e.value.code == 10
    fixture.select_end("A")
    with pytest.raises(FixtureRefused) as e:
        fixture.goto_fiber(25)
    assert e.value.code == 11
    with pytest.raises(FixtureRefused) as e:
        fixture.set_led(120)
    assert e.value.code == 40
    assert fixture.focus_to(99999) == 4000


def test_focus_score_falls_with_defocus_and_autofocus_finds_the_best():
    bench, probe, fixture = rig(scenario="dusty")
    fixture.select_end("A")
    fixture.goto_fiber(3)
    best = bench.best_focus()
    scores = []
    for d in (0, 8, 16, 32, 64):
        fixture.focus_to(best + d)
        scores.append(focus_score(probe.read().image))
    assert scores == sorted(scores, reverse=True)
    fixture.focus_to(2000)
    result = autofocus(fixture.focus_to, lambda: probe.read().image, 2000, fixture.info.focus_range)
    assert abs(result.position - best) <= 3
    assert bench.focus == result.position


def test_focus_score_is_independent_of_the_led_level():
    bench, probe, fixture = rig()
    fixture.select_end("A")
    fixture.goto_fiber(2)
    fixture.focus_to(bench.best_focus())
    fixture.set_led(40)
    low = focus_score(probe.read().image)
    fixture.set_led(70)
    high = focus_score(probe.read().image)
    assert low == pytest.approx(high, rel=0.15)


def test_two_row_apc_ferrules_need_a_refocus_per_row():
    bench, _probe, fixture = rig(polish="apc")
    fixture.select_end("A")
    fixture.goto_fiber(1)
    top = bench.best_focus()
    fixture.goto_fiber(13)
    assert abs(bench.best_focus() - top) > 100
    bench2, _, fx2 = rig(polish="pc")
    fx2.select_end("A")
    fx2.goto_fiber(1)
    t = bench2.best_focus()
    fx2.goto_fiber(13)
    assert abs(bench2.best_focus() - t) <= 1


def test_focus_drifts_slowly_with_time():
    clock = FakeClock()
    bench, _, fixture = rig(clock=clock)
    fixture.select_end("A")
    fixture.goto_fiber(1)
    before = bench.best_focus()
    clock.now += 225.0  # a quarter of the drift period
    assert 5 <= abs(bench.best_focus() - before) <= 30


def test_autofocus_on_blank_frames_fails_clearly():
    with pytest.raises(FocusError, match="no detail"):
        autofocus(lambda p: p, lambda: np.zeros((480, 640), np.uint8), 2000, (0, 4000))


def test_an_unplugged_probe_and_an_empty_fixture_say_so():
    bench, probe, fixture = rig()
    fixture.select_end("A")
    bench.probe_plugged = False
    with pytest.raises(ProbeDisconnected):
        probe.read()
    bench.probe_plugged = True
    assert probe.read().end == "A"
    bench.unload()
    with pytest.raises(ProbeError, match="no assembly"):
        probe.read()
    with pytest.raises(BenchError, match="no assembly"):
        bench.clean("A", "dry-one-click")


def test_the_probe_paces_frames_at_its_frame_rate():
    bench = SimulatedBench(seed=1)
    bench.load(VirtualAssembly.build("P", [EndSpec("A", connector("lc-upc"))], "clean"))
    bench.select_end("A")
    bench.goto_fiber(1)
    t = [0.0]
    slept = []
    probe = SimulatedProbe(
        bench,
        frame_rate_hz=30.0,
        sleep=lambda s: (slept.append(s), t.__setitem__(0, t[0] + s)),
        monotonic=lambda: t[0],
    )
    probe.open()
    for _ in range(4):
        probe.read()
    assert sum(slept) == pytest.approx(3 / 30.0, rel=0.05)


def test_a_cleaned_face_left_open_gets_dust_and_the_probe_shows_it():
    clock = FakeClock()
    bench, probe, fixture = rig(scenario="clean", clock=clock)
    fixture.select_end("A")
    before = len(bench.assembly.ends["A"].dirt.features)
    clock.now += 40 * 60
    fixture.goto_fiber(1)
    probe.read()
    assert len(bench.assembly.ends["A"].dirt.features) > before
