"""Speed of the simulated bench and of a scan through the serial emulator, on one core.

    python -m benchmarks.bench_speed [--frames 300] [--scans 5] [--out benchmarks/results/bench_speed.json]

Targets (issue 3): the simulated probe renders 1280x960 frames at >= 30 fps;
a 12-fibre scan through the emulator (motion delays zero, the probe paced at
its real 30 fps) completes with every fibre graded in <= 1.5 s.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.figures import write_figures  # noqa: E402
from benchmarks.speed import one_core  # noqa: E402
from hardware.simulated.probe import SimulatedProbe  # noqa: E402
from qa_station.bench import open_bench  # noqa: E402
from qa_station.catalog import load_catalog  # noqa: E402
from qa_station.config import StationConfig  # noqa: E402
from qa_station.scan import scan_end  # noqa: E402

TARGETS = {"probe_fps": 30.0, "mpo12_emulator_scan_s": 1.5}


def probe_fps(n_frames: int) -> dict:
    """Frames per second the simulated probe can render, unpaced, focus wandering as in use."""
    bench = open_bench(StationConfig(), realtime=False)
    try:
        bench.load(load_catalog().identify("T12B-000777"), "dusty")
        bench.fixture.select_end("A")
        probe: SimulatedProbe = bench.probe
        times = []
        for i in range(n_frames):
            if i % 30 == 0:  # step to another fibre and refocus now and then
                bench.fixture.goto_fiber(1 + (i // 30) % 12)
                bench.fixture.focus_to(2000 + (i % 90))
            t0 = time.perf_counter()
            probe.read()
            times.append(time.perf_counter() - t0)
    finally:
        bench.close()
    steady = np.array(times)
    return {
        "frames": n_frames,
        "fps_mean": float(1.0 / steady.mean()),
        "median_frame_ms": float(np.median(steady) * 1000),
        "p90_frame_ms": float(np.percentile(steady, 90) * 1000),
    }


def emulator_scans(n_scans: int) -> dict:
    catalog = load_catalog()
    durations = []
    graded = []
    for i in range(n_scans):
        ident = catalog.identify(f"T12B-{900 + i:06d}")
        bench = open_bench(StationConfig(), fixture="emulator", realtime=True)
        try:
            bench.load(ident, "dusty")
            end = ident.product.end("A")
            cal = bench.calibration(end)
            t0 = time.perf_counter()
            result = scan_end(bench.probe, bench.fixture, end, cal.min_focus_score, cal.um_per_px)
            durations.append(time.perf_counter() - t0)
            graded.append(sum(1 for f in result.fibers.values() if f.verdict in ("pass", "fail")))
        finally:
            bench.close()
    return {
        "scans": n_scans,
        "median_s": float(np.median(durations)),
        "max_s": float(np.max(durations)),
        "fibres_graded_per_scan": graded,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--scans", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/bench_speed.json"))
    args = ap.parse_args(argv)
    one_core()
    with tempfile.TemporaryDirectory() as home:
        os.environ["QA_STATION_HOME"] = home
        frames = probe_fps(args.frames)
        scans = emulator_scans(args.scans)
    out = {
        "machine": platform.platform(),
        "probe": frames,
        "emulator_scan": scans,
        "figures": {"probe_fps": frames["fps_mean"], "mpo12_emulator_scan_s": scans["median_s"]},
        "targets": TARGETS,
    }
    out["met"] = {
        "probe_fps": frames["fps_mean"] >= TARGETS["probe_fps"],
        "mpo12_emulator_scan_s": scans["median_s"] <= TARGETS["mpo12_emulator_scan_s"]
        and all(g == 12 for g in scans["fibres_graded_per_scan"]),
    }
    write_figures(args.out, out)
    print(json.dumps(out, indent=2))
    return 0 if all(out["met"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
