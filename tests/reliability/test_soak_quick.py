"""The soak benchmark's quick mode runs end to end and writes the figures it promises.

``python -m benchmarks.soak --quick`` in a subprocess (its own process: the memory,
descriptors and threads it measures are its own): 30 assemblies through the gate on the
simulated bench, with the live view's grading (6 here, to keep CI short: mated and capped
ends, a baseline and two samples after it). Only the shape of the JSON and the
counting are checked here, no timings and no leak limits (30 assemblies are too few to
judge growth; the full run does that).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_KEYS = {
    "assemblies",
    "frames_graded",
    "seconds",
    "rss_mb",
    "fds",
    "threads",
    "os_threads",
    "py_objects",
}
LIMIT_KEYS = {
    "assemblies",
    "min_frames",
    "rss_growth_mb",
    "fd_growth",
    "thread_growth",
    "chain_verifies",
    "no_error",
    "no_dirty_probe_alarm",  # a clean probe never raises the alarm (issue 14)
}

pytestmark = pytest.mark.slow  # a minute or two
# Shorter than --quick itself, so that every CI run can afford it.
SHORTER = [
    "--assemblies",
    "6",
    "--baseline-after",
    "2",
    "--sample-every",
    "2",
    "--min-frames",
    "150",
]


@pytest.fixture(scope="module")
def soak(tmp_path_factory) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path_factory.mktemp("soak") / "soak.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.soak", "--quick", *SHORTER, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert out.exists(), f"no JSON written (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return proc, json.loads(out.read_text())


def test_runs_without_error_and_exit_status_follows_the_limits(soak):
    proc, f = soak
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert "error" not in f, f.get("traceback")
    assert f["finished"] is True
    assert set(f["met"]) == LIMIT_KEYS
    assert f["pass"] == all(f["met"].values())
    assert proc.returncode == (0 if f["pass"] else 1)
    assert "PASS" in proc.stdout or "FAIL" in proc.stdout


def test_counts_frames_and_assemblies(soak):
    _, f = soak
    s = f["settings"]
    assert (s["assemblies"], s["baseline_after"], s["sample_every"]) == (6, 2, 2)
    assert f["assemblies"] == 6
    assert f["verdicts"]["accepted"] + f["verdicts"]["rejected"] == 6
    assert f["verdicts"]["open"] == 0
    assert f["frames_graded"] == f["frames_graded_gate"] + f["frames_graded_live"]
    assert f["frames_graded"] >= s["min_frames"] > 0
    assert f["frames_graded_live"] == sum(f["live_verdicts"].values())
    # every inspection of an MPO-12 end grades its twelve fibres
    assert f["frames_graded_gate"] == 12 * f["counts"]["inspections"]
    assert f["counts"]["inspections"] >= 2 * 6  # two ends each, at least once
    assert f["met"]["assemblies"] and f["met"]["min_frames"]


def test_samples_baseline_and_growth(soak):
    _, f = soak
    samples = f["samples"]
    assert [s["assemblies"] for s in samples] == [0, 2, 4, 6]
    for s in samples:
        assert set(s) == SAMPLE_KEYS
        assert s["rss_mb"] > 0 and s["fds"] > 0 and s["threads"] >= 1 and s["os_threads"] >= 1
    frames = [s["frames_graded"] for s in samples]
    assert frames == sorted(frames) and frames[-1] == f["frames_graded"]
    assert f["start"] == samples[0]
    assert f["baseline"] == samples[1]
    assert f["final"] == samples[-1]
    g = f["growth"]
    assert g["rss_mb"] == pytest.approx(f["final"]["rss_mb"] - f["baseline"]["rss_mb"], abs=0.11)
    assert g["fds"] == f["final"]["fds"] - f["baseline"]["fds"]
    assert g["threads"] == f["final"]["threads"] - f["baseline"]["threads"]
    assert f["throughput"]["frames_per_s"] > 0 and f["throughput"]["assemblies_per_min"] > 0
    assert f["limits"]["rss_growth_mb"] == 50.0


def test_the_store_verifies_afterwards(soak):
    _, f = soak
    v = f["verify"]
    assert v["ok"] is True and v["first_problem"] is None
    assert v["events"] == v["store_events"] > 0
    assert v["inspections"] == f["counts"]["inspections"]
    assert v["cleanings"] == f["counts"].get("cleanings", 0)
    assert v["store_assemblies"] == 6
