"""Speed of grading on one core.

    python -m benchmarks.speed [--repeat 60] [--out benchmarks/results/speed.json]

Targets (issue 2): a 1280x960 single-fibre view graded in <= 30 ms median (a
30 fps probe is graded live); a 12-fibre MT overview located in <= 100 ms.
The process is pinned to one CPU and every library runs single-threaded.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from grading import grade  # noqa: E402
from grading.geometry import connector  # noqa: E402
from grading.image_io import normalise, to_gray  # noqa: E402
from grading.locate import locate  # noqa: E402
from hardware.optics.render import render  # noqa: E402
from hardware.optics.scene import Feature, View, scene_from_layout  # noqa: E402

TARGETS = {"single_fibre_grade_ms": 30.0, "overview_locate_ms": 100.0}


def one_core() -> None:
    cv2.setNumThreads(1)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def timed(fn, repeat: int) -> dict:
    fn()  # warm caches and lazy imports
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return {
        "median_ms": float(np.median(times)),
        "p90_ms": float(np.percentile(times, 90)),
        "min_ms": float(np.min(times)),
        "runs": repeat,
    }


def scenes() -> dict[str, tuple]:
    lc = connector("lc-upc")
    dusty = (
        Feature("particle", (20.0, -30.0), 3.5, -0.5, seed=1),
        Feature("particle", (-25.0, 20.0), 7.0, -0.55, seed=2),
        Feature("scratch", (5.0, 10.0), 2.0, -0.25, length_um=50, angle_deg=30, seed=3),
        Feature("residue", (-80.0, 50.0), 25.0, -0.15, seed=4),
    )
    mpo = connector("mpo12")
    return {
        "lc_clean": (lc, "sm", (), View(light_gradient=0.2)),
        "lc_dusty": (lc, "sm", dusty, View(light_gradient=0.2)),
        "mpo_fibre": (mpo, "sm", (), View(center_um=mpo.fiber_positions_um[4])),
        "mpo_overview": (mpo, "mm", (), View(um_per_px=2.5, blur_um=1.5)),
    }


def run(repeat: int) -> dict:
    one_core()
    images = {}
    for name, (geometry, fiber, features, view) in scenes().items():
        images[name] = render(scene_from_layout(geometry, fiber, features, 7), view, seed=1).image
    s = 0.3125
    out: dict = {"machine": platform.platform(), "python": platform.python_version(), "cases": {}}
    cases = out["cases"]
    cases["lc_clean_grade_known_scale"] = timed(
        lambda: grade(images["lc_clean"], "lc-upc", "iec-61300-3-35-ed2/sm-pc", s), repeat
    )
    cases["lc_dusty_grade_known_scale"] = timed(
        lambda: grade(images["lc_dusty"], "lc-upc", "iec-61300-3-35-ed2/sm-pc", s), repeat
    )
    cases["mpo_fibre_grade_known_scale"] = timed(
        lambda: grade(images["mpo_fibre"], "mpo12", "iec-61300-3-35-ed2/sm-apc", s), repeat
    )
    cases["lc_clean_grade_scale_estimated"] = timed(
        lambda: grade(images["lc_clean"], "lc-upc", "iec-61300-3-35-ed2/sm-pc"), repeat
    )
    overview = normalise(to_gray(images["mpo_overview"]))
    cases["mpo12_overview_locate_known_scale"] = timed(lambda: locate(overview, 2.5), repeat)
    cases["mpo12_overview_locate_scale_estimated"] = timed(lambda: locate(overview, None), repeat)
    single = max(
        cases[k]["median_ms"]
        for k in (
            "lc_clean_grade_known_scale",
            "lc_dusty_grade_known_scale",
            "mpo_fibre_grade_known_scale",
        )
    )
    locate_ms = cases["mpo12_overview_locate_scale_estimated"]["median_ms"]
    out["figures"] = {"single_fibre_grade_ms": single, "overview_locate_ms": locate_ms}
    out["targets"] = TARGETS
    out["met"] = {k: out["figures"][k] <= v for k, v in TARGETS.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeat", type=int, default=60)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/speed.json"))
    args = ap.parse_args(argv)
    figures = run(args.repeat)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return 0 if all(figures["met"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
