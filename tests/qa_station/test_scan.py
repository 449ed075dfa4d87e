"""Scanning an end on the simulated bench, directly and through the serial emulator."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from contextlib import contextmanager

import pytest

from hardware.stages.serial_fixture import SerialFixture
from qa_station.bench import open_bench
from qa_station.catalog import load_catalog
from qa_station.cli import main
from qa_station.config import ConfigError, StationConfig
from qa_station.scan import ScanCancelled, ScanError, scan_end

CATALOG = load_catalog()


FAST = StationConfig(fixture_timeout_s=0.3, fixture_motion_timeout_s=0.2)


@contextmanager
def bench_for(serial: str, scenario: str, fixture: str = "simulated"):
    """The simulated bench with ``serial``'s assembly in ``scenario`` loaded, and its identity;
    the bench is closed when the block ends."""
    identified = CATALOG.identify(serial)
    bench = open_bench(FAST, fixture=fixture, realtime=False)
    try:
        bench.load(identified, scenario)
        yield bench, identified
    finally:
        bench.close()


def scan(bench, end, **kw):
    cal = bench.calibration(end)
    return scan_end(bench.probe, bench.fixture, end, cal.min_focus_score, cal.um_per_px, **kw)


def test_a_clean_mpo_end_passes_with_fibres_numbered_by_the_fixture():
    with bench_for("T12B-000200", "clean") as (bench, ident):
        result = scan(bench, ident.product.end("A"))
    assert result.complete and result.overview is not None and result.overview.view == "overview"
    r = result.result()
    assert r.verdict == "pass", r.to_dict()
    assert [f.index for f in r.fibers] == list(range(1, 13))
    assert all(result.frames[n].fiber == n and result.frames[n].end == "A" for n in range(1, 13))
    assert (
        min(result.focus_scores.values())
        >= bench.calibration(ident.product.end("A")).min_focus_score
    )


def test_a_damaged_fibre_fails_and_the_scan_points_at_it():
    with bench_for("T12B-000201", "damaged") as (bench, ident):
        damaged_end = next(
            label
            for label, end in bench.simulated.assembly.ends.items()
            if any(not f.loose for f in end.dirt.features)
        )
        r = scan(bench, ident.product.end(damaged_end)).result()
    assert r.verdict == "fail"
    failing = [f for f in r.fibers if f.verdict == "fail"]
    assert failing and all("zone A" in f.failures[0] for f in failing[:1])


def test_each_row_of_a_two_row_apc_ferrule_is_refocused():
    with bench_for("T24M-000300", "clean") as (bench, ident):
        result = scan(bench, ident.product.end("A"))
    assert result.complete and result.result().verdict == "pass"


def test_progress_is_reported_and_a_scan_can_be_cancelled():
    cancel = threading.Event()
    seen = []

    def progress(p):
        seen.append(p)
        if p.fiber == 4 and p.result is not None:
            cancel.set()

    with (
        bench_for("T12B-000202", "clean") as (bench, ident),
        pytest.raises(ScanCancelled) as err,
    ):
        scan(bench, ident.product.end("A"), progress=progress, cancel=cancel)
    assert sorted(err.value.partial.fibers) == [1, 2, 3, 4]
    assert seen[0].message == "overview of the ferrule"


def test_a_probe_unplugged_mid_scan_stops_it_and_the_scan_resumes_where_it_stopped():
    with bench_for("T12B-000203", "dusty") as (bench, ident):
        end = ident.product.end("B")

        def unplug(p):
            if p.fiber == 5 and p.result is not None:
                bench.simulated.probe_plugged = False

        with pytest.raises(ScanError, match="probe problem during the scan of end B") as err:
            scan(bench, end, progress=unplug)
        partial = err.value.partial
        assert sorted(partial.fibers) == [1, 2, 3, 4, 5]
        assert partial.result().verdict == "error"  # never a pass while incomplete
        bench.simulated.probe_plugged = True
        done = scan(bench, end, resume=partial)
    assert done.complete and sorted(done.fibers) == list(range(1, 13))


def test_a_fixture_that_stops_answering_mid_scan_stops_it_clearly():
    with bench_for("T12B-000204", "clean", fixture="emulator") as (bench, ident):

        def silence(p):
            if p.fiber == 3 and p.result is not None:
                bench.emulator.faults.silent = True

        with pytest.raises(ScanError, match="fixture problem during the scan of end A") as err:
            scan(bench, ident.product.end("A"), progress=silence)
    assert sorted(err.value.partial.fibers) == [1, 2, 3]
    assert "no reply from the fixture" in str(err.value) and "tried 3 times" in str(err.value)


def test_a_scan_through_the_emulator_matches_a_direct_one():
    results = []
    for fixture in ("simulated", "emulator"):
        with bench_for("T12B-000205", "dusty", fixture=fixture) as (bench, ident):
            r = scan(bench, ident.product.end("A"))
        results.append([f.verdict for f in r.result().fibers])
    assert results[0] == results[1]


def test_a_simulated_probe_cannot_look_through_a_real_fixture():
    with pytest.raises(ConfigError, match="simulated probe can only look through"):
        open_bench(StationConfig(), fixture="serial:/dev/ttyUSB9")


def test_scan_cli_prints_the_grade_json_with_fixture_fibre_numbers(capsys):
    code = main(["scan", "--serial", "LCD-0012345", "--end", "B2", "--scenario", "clean", "--json"])
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert code == 0 and doc["verdict"] == "pass"
    assert doc["serial"] == "LCD-0012345" and doc["end"] == "B2" and doc["connector"] == "lc-upc"
    assert [f["index"] for f in doc["fibers"]] == [1]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--serial", "XYZ", "--end", "A"], "not a serial of any product"),
        (["--serial", "T12B-000123", "--end", "C"], "has no end 'C'"),
        (
            ["--serial", "T12B-000123", "--end", "A", "--fixture", "serial:/dev/nope"],
            "simulated probe",
        ),
        (
            [
                "--serial",
                "T12B-000123",
                "--end",
                "A",
                "--probe",
                "uvc:97",
                "--fixture",
                "simulated",
            ],
            "cannot open the bench",
        ),
    ],
)
def test_scan_cli_refuses_with_a_reason(capsys, args, message):
    assert main(["scan", *args]) == 2
    assert message in capsys.readouterr().err


def test_the_fixture_emulator_command_prints_a_port_that_speaks_the_protocol():
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa_station", "fixture-emulator", "--serial", "T12B-000123"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = proc.stdout.readline().strip()
        assert port.startswith("/dev/pts/")
        fx = SerialFixture(port, timeout_s=2.0)
        fx.open()
        assert fx.info.model == "SIM-MPO-STAGE" and fx.info.ends == ("A", "B")
        fx.select_end("A")
        fx.goto_fiber(12)
        assert fx.status().fiber == 12
        fx.close()
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    assert proc.returncode == 0
