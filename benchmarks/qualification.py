"""The figures behind "the station itself can be trusted" (issue 14), measured.

    python -m benchmarks.qualification [--clean-assemblies 100] [--smudges 12]
                                       [--out benchmarks/results/qualification.json]

1. Reference qualification: the built-in set on the default (simulated)
   station, and on the same station with its scale calibration off by
   -10 % ... +10 %: qualified or not, and why.
2. Repeatability: 10 trials of an MPO-12 end (the ``gauge`` trunk: 5-10 um
   particles on odd fibres, 2.5-4.5 um on even ones), re-seated by the
   simulated bench, by one operator and by two: verdict agreement, Fleiss'
   kappa, the largest size's spread (1 sigma) for 5-10 um particles, %GRR,
   and the scale calibration measured again on every seating.
3. The dirty-probe alarm: a lens smudge (3-10 um, placed at random in the
   graded zones of the views) put on the simulated probe before a line of
   assemblies (MPO-12 trunks and LC jumpers, realistic dirt): how many
   inspections until the alarm; and a long run of clean-probe assemblies of
   the realistic mix through the gate: how many false alarms (the soak,
   ``benchmarks.soak``, counts them over its 500 assemblies too).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.figures import write_figures

OUT = Path(__file__).parent / "results" / "qualification.json"


def reference() -> dict:
    from qa_station.config import StationConfig
    from qa_station.qualification.reference import qualify

    base = StationConfig()
    out = {}
    for k in (0.90, 0.95, 0.98, 1.0, 1.02, 1.05, 1.10):
        cfg = replace(
            base,
            calibrations=tuple(replace(c, um_per_px=c.um_per_px * k) for c in base.calibrations),
        )
        t0 = time.perf_counter()
        r = qualify(cfg)
        out[f"{k:.2f}"] = {
            "qualified": r.passed,
            "agreed": r.agreed,
            "graded": r.graded,
            "false_passes": [f.face.id for f in r.false_passes],
            "false_fails": [f.face.id for f in r.false_fails],
            "not_judged": len(r.not_judged),
            "median_size_error_um": r.median_size_error_um,
            "max_size_error_um": r.max_size_error_um,
            "scale_error": r.scale_errors(),
            "reasons": r.reasons,
            "disagreements": [
                f"{f.face.id} ({f.face.limit}): {f.face.verdict} -> {f.graded}: {f.why}"
                for f in r.disagreements
            ][:10],
            "seconds": round(time.perf_counter() - t0, 2),
            "set_sha256": r.set_sha256,
        }
        print(f"calibration x{k:.2f}: {r.summary_line()}", flush=True)
    return out


def repeatability() -> dict:
    from qa_station.bench import open_bench
    from qa_station.catalog import load_catalog
    from qa_station.config import StationConfig
    from qa_station.qualification.repeatability import run_study

    identified = load_catalog().identify("T12B-000123")
    out = {}
    for operators in (("op1",), ("op1", "op2")):
        bench = open_bench(StationConfig(), "simulated", "simulated", realtime=False)
        try:
            bench.load(identified, "gauge")
            t0 = time.perf_counter()
            study = run_study(
                bench, identified.serial, identified.product.end("A"), 10, operators,
                lambda op, n, b=bench: b.simulated.reseat("A"),
            )  # fmt: skip
            figs = study.figures()
        finally:
            bench.close()
        figs["seconds"] = round(time.perf_counter() - t0, 1)
        figs["per_fibre"] = study.to_payload()["fibres"]
        out[f"{len(operators)} operator(s) x 10 trials"] = figs
        print(f"repeatability, {len(operators)} operator(s): {figs['verdict_agreement']:.1%} agreement, "
              f"largest sd (5-10 um) max {figs['largest_sd_um_mid_max']:.3f} um", flush=True)  # fmt: skip
    return out


def smudges(n: int, seed: int = 14) -> dict:
    """Inspections from a smudge until the alarm, over a line of trunks and of jumpers."""
    from hardware.simulated.bench import FIBRE_UM_PER_PX, RESOLUTION
    from hardware.simulated.lens import LensSmudge
    from qa_station.gate import GateRefused

    rng = np.random.default_rng(seed)
    w, h = RESOLUTION
    trials = []
    with tempfile.TemporaryDirectory(prefix="qa-smudge-") as home:
        os.environ["QA_STATION_HOME"] = home
        c = _station()
        serial_no = 0
        for i in range(n):
            product_prefix = ("T12B-", 6) if i % 2 == 0 else ("LCD-", 7)
            r_um = rng.uniform(16.0, 52.0)  # zone B of every table, from the frame's centre
            a = rng.uniform(0, 2 * math.pi)
            size = float(rng.uniform(3.0, 10.0))
            centre = (
                (w - 1) / 2 + r_um / FIBRE_UM_PER_PX * math.cos(a),
                (h - 1) / 2 + r_um / FIBRE_UM_PER_PX * math.sin(a),
            )
            c.bench.simulated.smudge_lens(LensSmudge(centre, size / FIBRE_UM_PER_PX, -0.5, seed=i))
            inspections, fired = 0, None
            while fired is None and inspections < 12:
                serial_no += 1
                prefix, digits = product_prefix
                c.open_serial(f"{prefix}{500000 + serial_no:0{digits}d}")
                for end in [e.label for e in c.session.ends]:
                    try:
                        rec = c.inspect(end)
                    except GateRefused as exc:
                        if "probe tip is dirty" in str(exc):
                            break
                        continue  # an end that must be cleaned first: the next end
                    inspections += 1
                    if rec.probe_alarm:
                        fired = inspections
                        break
            trials.append(
                {
                    "line": prefix.strip("-"),
                    "size_um": round(size, 2),
                    "at_um": round(r_um, 1),
                    "inspections_to_alarm": fired,
                }
            )
            print(
                f"smudge {i + 1}: {size:.1f} um at {r_um:.0f} um on {prefix}: alarm after {fired} inspection(s)",
                flush=True,
            )
            c.probe_cleaned("benchmark")
        c.close()
    fired = [t["inspections_to_alarm"] for t in trials]
    return {
        "trials": trials,
        "all_fired": all(x is not None for x in fired),
        "max_inspections_to_alarm": max((x for x in fired if x is not None), default=None),
        "within_3": sum(1 for x in fired if x is not None and x <= 3),
    }


def clean_run(assemblies: int) -> dict:
    """A long run of the realistic dirt mix with a clean probe: the alarm must stay quiet."""
    from sqlalchemy import func, select

    from qa_station.catalog import load_catalog
    from qa_station.config import load_config
    from qa_station.demo import run_demo
    from qa_station.store.kinds import Kind
    from qa_station.store.models import Event
    from qa_station.store.store import open_store

    out = {}
    with tempfile.TemporaryDirectory(prefix="qa-clean-") as home:
        os.environ["QA_STATION_HOME"] = home
        config = load_config()
        store = open_store(config)
        t0 = time.perf_counter()
        try:
            for product, n in (
                ("trunk-mpo12-sm-apc-b", assemblies // 2),
                ("jumper-lc-duplex-sm-upc", assemblies - assemblies // 2),
            ):
                s = run_demo(store, load_catalog(), config, n, product)
                out[product] = {
                    "assemblies": s.assemblies,
                    "inspections": s.inspections,
                    "accepted": s.accepted,
                    "rejected": s.rejected,
                }
            with store.read() as q:
                alarms = q.execute(
                    select(func.count(Event.id)).where(Event.kind == Kind.PROBE_DIRTY.value)
                ).scalar_one()
        finally:
            store.close()
    out["probe_dirty_events"] = alarms
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(f"clean run: {assemblies} assemblies, {alarms} dirty-probe alarm(s)", flush=True)
    return out


def _station():
    """A fresh simulated station, qualified by its supervisor, an operator signed in."""
    from qa_station.controller import StationController

    c = StationController.open(realtime=False)
    admin = c.create_first_admin("bench-admin", "bench-admin-password")
    c.accounts.add("bench-operator", "operator", admin, "Operator", "bench-operator-password")
    c.accounts.add("bench-supervisor", "supervisor", admin, "Supervisor", "bench-supervisor-pw")
    c.qualify("bench-supervisor", "bench-supervisor-pw")
    c.login("bench-operator", "bench-operator-password")
    return c


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean-assemblies", type=int, default=100)
    ap.add_argument("--smudges", type=int, default=12)
    ap.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=("reference", "repeatability", "smudges", "clean"),
    )
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    result = json.loads(args.out.read_text()) if args.out.exists() else {}
    result.update(
        {
            "machine": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        }
    )
    if "reference" not in args.skip:
        result["reference"] = reference()
    if "repeatability" not in args.skip:
        result["repeatability"] = repeatability()
    if "smudges" not in args.skip:
        result["dirty_probe"] = smudges(args.smudges)
    if "clean" not in args.skip:
        result["clean_run"] = clean_run(args.clean_assemblies)
    write_figures(args.out, result, indent=1, default=float)
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
