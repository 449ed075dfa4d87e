"""Accuracy of the grading engine against rendered end faces with known truth.

    python -m benchmarks.accuracy [--images 600] [--seed 1] [--out benchmarks/results/accuracy.json]

Targets (issue 2): per-fibre verdict agreement >= 98 %; false passes = 0;
median absolute size error <= 0.7 um; fibre centre error <= 2 um; scale
estimated within 2 % when not given.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.scenes import TruthFiber, random_case, truth_for
from grading import grade
from hardware.optics.render import render

TARGETS = {
    "verdict_agreement": 0.98,
    "false_passes": 0,
    "median_size_error_um": 0.7,
    "max_centre_error_um": 2.0,
    "max_scale_error": 0.02,
}


def run(n_images: int, seed: int, verbose: bool = False) -> dict:
    rng = np.random.default_rng(seed)
    agree = total = false_pass = false_fail = errors = 0
    size_errors: list[float] = []
    size_errors_by_kind: dict[str, list[float]] = {"defect": [], "scratch": []}
    centre_errors: list[float] = []
    scale_errors: list[float] = []
    missed = found_extra = matched = 0
    overview_located = overview_expected = 0
    overview_verdict_ok = overview_cases = 0
    disagreements: list[dict] = []
    grade_ms: list[float] = []
    for i in range(n_images):
        case = random_case(rng, seed * 100_000 + i)
        frame = render(case.scene, case.view, seed=case.seed)
        truth = truth_for(case, frame.truth)
        given = case.view.um_per_px if case.give_scale else None
        t0 = time.perf_counter()
        result = grade(frame.image, connector=case.connector, rules=case.rules, um_per_px=given)
        grade_ms.append((time.perf_counter() - t0) * 1000)
        s_true = case.view.um_per_px
        if result.um_per_px and not case.give_scale:
            scale_errors.append(abs(result.um_per_px / s_true - 1.0))
        graded = {f.index: f for f in result.fibers}
        pairs = _pair(truth, list(graded.values()))
        for t, g in pairs:
            if g is not None:
                err_px = math.dist(t.center_px, g.center_px)
                centre_errors.append(err_px * s_true)
        if case.kind == "overview":
            overview_cases += 1
            overview_expected += len(truth)
            overview_located += sum(1 for _, g in pairs if g is not None)
            overview_verdict_ok += result.verdict == "error"
            continue
        for t, g in pairs:
            total += 1
            verdict = g.verdict if g is not None else "error"
            if verdict == t.verdict:
                agree += 1
            else:
                if verdict == "pass":
                    false_pass += 1
                elif verdict == "fail":
                    false_fail += 1
                else:
                    errors += 1
                disagreements.append(
                    {
                        "case": i,
                        "connector": case.connector,
                        "rules": case.rules,
                        "truth": t.verdict,
                        "graded": verdict,
                        "truth_defects": [d.to_dict() for d in t.defects],
                        "graded_defects": [d.to_dict() for d in (g.defects if g else ())],
                        "graded_failures": list(g.failures) if g else [],
                        "error": (g.error if g else result.error),
                        "view": {
                            "um_per_px": s_true,
                            "blur_um": case.view.blur_um,
                            "noise": case.view.noise,
                        },
                    }
                )
            if g is None:
                continue
            m, x, errs = _match_defects(t, g, s_true)
            matched += len(errs)
            missed += m
            found_extra += x
            for kind, e in errs:
                size_errors.append(e)
                size_errors_by_kind[kind].append(e)
        if verbose and (i + 1) % 50 == 0:
            print(
                f"{i + 1}/{n_images}: agreement {agree}/{total}, false passes {false_pass}",
                file=sys.stderr,
            )
    figures = {
        "images": n_images,
        "seed": seed,
        "fibres_judged": total,
        "verdict_agreement": agree / total if total else None,
        "false_passes": false_pass,
        "false_fails": false_fail,
        "graded_error": errors,
        "median_size_error_um": float(np.median(size_errors)) if size_errors else None,
        "p90_size_error_um": float(np.percentile(size_errors, 90)) if size_errors else None,
        "median_size_error_um_by_kind": {
            k: float(np.median(v)) if v else None for k, v in size_errors_by_kind.items()
        },
        "features_matched": matched,
        "features_missed": missed,
        "features_extra": found_extra,
        "max_centre_error_um": float(np.max(centre_errors)) if centre_errors else None,
        "median_centre_error_um": float(np.median(centre_errors)) if centre_errors else None,
        "scale_estimates": len(scale_errors),
        "max_scale_error": float(np.max(scale_errors)) if scale_errors else None,
        "median_scale_error": float(np.median(scale_errors)) if scale_errors else None,
        "overview_cases": overview_cases,
        "overview_fibres_located": f"{overview_located}/{overview_expected}",
        "overview_refused_as_too_coarse": f"{overview_verdict_ok}/{overview_cases}",
        "median_grade_ms": float(np.median(grade_ms)),
    }
    figures["targets"] = TARGETS
    figures["met"] = {
        "verdict_agreement": (figures["verdict_agreement"] or 0) >= TARGETS["verdict_agreement"],
        "false_passes": false_pass == TARGETS["false_passes"],
        "median_size_error_um": (figures["median_size_error_um"] or 0)
        <= TARGETS["median_size_error_um"],
        "max_centre_error_um": (figures["max_centre_error_um"] or 0)
        <= TARGETS["max_centre_error_um"],
        "max_scale_error": (figures["max_scale_error"] or 0) <= TARGETS["max_scale_error"],
        "overview_fibres_located": overview_located == overview_expected,
    }
    figures["disagreements"] = disagreements
    return figures


def _pair(truth: list[TruthFiber], graded: list) -> list[tuple[TruthFiber, object]]:
    out = []
    for t in truth:
        best = min(graded, key=lambda g: math.dist(g.center_px, t.center_px), default=None)
        if best is not None and math.dist(best.center_px, t.center_px) > 20:
            best = None
        out.append((t, best))
    return out


def _match_defects(t: TruthFiber, g, s: float) -> tuple[int, int, list[tuple[str, float]]]:
    """Missed truth features, extra graded ones, and size errors of the matched."""
    used: set[int] = set()
    errs: list[tuple[str, float]] = []
    missed = 0
    for d in t.defects:
        best, best_dist = None, math.inf
        for j, gd in enumerate(g.defects):
            if j in used or gd.kind != d.kind:
                continue
            dist = math.dist(gd.center_px, d.center_px) * s
            tol = max(3.0, 0.6 * d.size_um) if d.kind == "defect" else 40.0
            if dist < tol and dist < best_dist:
                best, best_dist = j, dist
        if best is None:
            missed += 1
            continue
        used.add(best)
        errs.append((d.kind, abs(g.defects[best].size_um - d.size_um)))
    return missed, len(g.defects) - len(used), errs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--images", type=int, default=600)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/accuracy.json"))
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    figures = run(args.images, args.seed, args.verbose)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    summary = {k: v for k, v in figures.items() if k != "disagreements"}
    print(json.dumps(summary, indent=2))
    return 0 if all(figures["met"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
