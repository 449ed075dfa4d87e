"""A device that fails mid-scan, at the bench (``StationController``, as the window uses it):
the scan stops with a message naming the device, nothing is recorded as inspected (let
alone passed), and once the device is back the operator inspects again and the scan goes
on from the fibre where it stopped.

Already proven elsewhere: ``scan_end`` itself stopping and resuming on an unplugged
simulated probe and stopping on a silent emulated fixture (tests/qa_station/test_scan.py),
the serial driver's timeouts and disconnects (tests/hardware/test_fixture_serial.py), an
unplugged UVC probe coming back (tests/hardware/test_probes_uvc.py), and the window
surviving an unplugged probe (tests/ui/test_bench_gate.py).
"""

from __future__ import annotations

import os
import re

import pytest

from hardware.simulated.bench import SimulatedBench
from hardware.simulated.fixture import SimulatedFixture
from hardware.simulated.probe import SimulatedProbe
from hardware.stages.emulator import FixtureEmulator
from hardware.stages.serial_fixture import SerialFixture
from qa_station.bench import Bench
from qa_station.catalog import load_catalog
from qa_station.config import SIMULATED_PROBE_ID, load_config
from qa_station.controller import StationController
from qa_station.scan import ScanError
from qa_station.store.store import open_store
from tests.qualify_kit import qualify_store
from tests.reliability.security_kit import FAST, OPERATOR, TRUNK, add_people, controller, events

FIBRES = list(range(1, 13))


def graded(seen) -> list[int]:
    return [p.fiber for p in seen if p.result is not None]


def inspected(c) -> list[tuple[str, dict]]:
    return [(end, p) for kind, end, p, _ in events(c.store, TRUNK) if kind == "end.inspected"]


def stop_after(n: int, stop, seen: list):
    def progress(p):
        seen.append(p)
        if p.result is not None and len(graded(seen)) == n:
            stop()

    return progress


@pytest.fixture
def bench():
    c = controller()
    c.open_serial(TRUNK)
    yield c
    c.close()


def test_a_probe_unplugged_mid_scan_records_nothing_and_the_scan_resumes(bench):
    c, sim = bench, bench.bench.simulated
    seen: list = []
    with pytest.raises(ScanError) as err:
        c.inspect("A", progress=stop_after(5, lambda: setattr(sim, "probe_plugged", False), seen))
    message = str(err.value)
    assert message.startswith("probe problem during the scan of end A: probe sim-400x")
    assert "unplugged" in message and "5 fibre(s) graded are kept: inspect again" in message
    assert inspected(c) == [] and c.refresh().end("A").status == "new"

    with pytest.raises(ScanError, match=re.escape("5 fibre(s) graded are kept")):  # still unplugged
        c.inspect("A")
    assert inspected(c) == []

    sim.probe_plugged = True
    seen.clear()
    rec = c.inspect("A", progress=seen.append)
    assert graded(seen) == FIBRES[5:]  # went on from fibre 6
    ((end, payload),) = inspected(c)
    assert end == "A" and payload["inspection_id"] == rec.inspection_id
    assert sorted(f.index for f in c.session.scans["A"].result().fibers) == FIBRES
    assert c.refresh().end("A").status in ("passed", "failed")


def test_a_fixture_silent_mid_scan_names_it_records_nothing_and_the_scan_resumes():
    c = controller(fixture="emulator")
    try:
        c.open_serial(TRUNK)
        port = c.bench.fixture.port
        faults = c.bench.emulator.faults
        seen: list = []
        with pytest.raises(ScanError) as err:
            c.inspect("A", progress=stop_after(3, lambda: setattr(faults, "silent", True), seen))
        message = str(err.value)
        assert message.startswith("fixture problem during the scan of end A: ")
        assert re.search(
            rf"no reply from the fixture on {re.escape(port)} to 'FIBER 4' within "
            r"[0-9.]+ s \(tried 3 times\)",
            message,
        ), message
        assert "3 fibre(s) graded are kept" in message
        assert inspected(c) == [] and c.refresh().end("A").status == "new"

        faults.silent = False  # it answers again
        seen.clear()
        rec = c.inspect("A", progress=seen.append)
        assert graded(seen) == FIBRES[3:]
        assert [p["inspection_id"] for _, p in inspected(c)] == [rec.inspection_id]
        assert len(c.session.scans["A"].result().fibers) == 12
    finally:
        c.close()


def test_a_fixture_unplugged_mid_scan_and_plugged_back_lets_the_scan_resume(tmp_path):
    """The stage on a stable device path (as udev gives a USB serial adapter), unplugged
    after a few fibres and plugged back in: the port path comes back to life."""
    sim = SimulatedBench()
    link = tmp_path / "ttyFIXTURE"
    first = FixtureEmulator(SimulatedFixture(sim))
    link.symlink_to(first.start())
    fixture = SerialFixture(
        str(link), timeout_s=FAST.fixture_timeout_s, motion_timeout_s=FAST.fixture_motion_timeout_s
    )
    probe = SimulatedProbe(sim, um_per_px=FAST.calibration(SIMULATED_PROBE_ID).um_per_px)
    probe.open()
    fixture.open()
    store = open_store(load_config())
    c = StationController(FAST, store, load_catalog(), Bench(probe, fixture, FAST, "sim-400x", sim))
    second = FixtureEmulator(SimulatedFixture(sim))
    try:
        add_people(c.accounts)
        qualify_store(store)  # no station records an inspection unqualified (issue 14)
        c.login(*OPERATOR)
        c.open_serial(TRUNK)
        seen: list = []
        first.faults.vanish_after = len(first.received) + 3
        with pytest.raises(ScanError, match="fixture problem during the scan of end A"):
            c.inspect("A", progress=seen.append)
        assert inspected(c) == []
        link.unlink()
        link.symlink_to(second.start())  # plugged back in
        rec = c.inspect("A")
        assert [p["inspection_id"] for _, p in inspected(c)] == [rec.inspection_id]
    finally:
        c.close()
        for emulator in (first, second):
            emulator.stop()
        assert os.path.lexists(link)
