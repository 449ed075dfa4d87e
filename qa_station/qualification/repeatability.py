"""Repeatability and reproducibility: does the bench give the same verdict again, for anyone?

The same end is inspected ``trials`` times by each operator, re-seated in the
fixture before every trial (the simulated bench re-seats it itself; at a real
bench the operator does, when asked). Nothing is recorded at the gate: the
trials are a study of the station, and the study goes on the record as one
event with its signed report. Per fibre: the verdicts of every trial, their
agreement within each operator and between operators (and Fleiss' kappa over
all of them), the spread of the defect count and of the largest defect's
size, and %GRR of that size against each size limit of its zone. The scale
calibration is measured again on every seating, from the first fibre's frame,
and its spread reported.
"""

from __future__ import annotations

import statistics
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from grading.results import FiberResult
from grading.rules import Zone, load_rules
from qa_station.calibration import CalibrationError, calibrate_from_image
from qa_station.catalog import EndDefinition
from qa_station.config import Calibration
from qa_station.qualification.msa import (
    all_agree,
    fleiss_kappa,
    gauge_rr,
    majority_agreement,
    spread,
)
from qa_station.scan import ScanCancelled, ScanResult, scan_end

if TYPE_CHECKING:  # the bench is handed in; opening one is the caller's business
    from qa_station.bench import Bench

MAX_TRIALS = 50
MID_SIZE_UM = (5.0, 10.0)  # particles the acceptance figure is about


class StudyError(ValueError):
    """A study that cannot be run as asked."""


@dataclass(frozen=True)
class Reading:
    """One fibre in one trial."""

    verdict: str
    count: int  # region defects graded
    largest_um: float | None
    zone: str | None  # where the largest is


@dataclass
class Trial:
    operator: str
    number: int
    readings: dict[int, Reading]
    scale_um_per_px: float | None
    scale_problem: str | None = None
    scan: ScanResult | None = field(default=None, repr=False)


@dataclass
class FibreFigures:
    fibre: int
    ratings: list[str]
    agreement: float
    within: int  # operators whose every trial agrees
    operators: int
    count_sd: float
    largest_mean_um: float | None
    largest_sd_um: float | None
    grr_percent: dict[float, float]  # limit (um) -> %GRR
    repeatability_sd_um: float | None
    reproducibility_sd_um: float | None

    def ratings_text(self) -> str:
        return ", ".join(f"{v} x{n}" for v, n in Counter(self.ratings).most_common())


@dataclass
class Study:
    serial: str
    end: str
    connector: str
    rules: str
    probe: str
    trials_per_operator: int
    operators: tuple[str, ...]
    calibration: Calibration
    trials: list[Trial] = field(default_factory=list)

    # -- figures -----------------------------------------------------------------------
    @property
    def fibres(self) -> list[int]:
        return sorted({n for t in self.trials for n in t.readings})

    def fibre_figures(self) -> list[FibreFigures]:
        out = []
        zones = {z.name: z for z in load_rules(self.rules).zones}
        for n in self.fibres:
            ratings = [t.readings[n].verdict for t in self.trials]
            by_op = {op: [t for t in self.trials if t.operator == op] for op in self.operators}
            within = sum(
                1 for ts in by_op.values() if all_agree([t.readings[n].verdict for t in ts])
            )
            counts = [t.readings[n].count for t in self.trials]
            largest = [t.readings[n].largest_um for t in self.trials]
            sizes = [x for x in largest if x is not None]
            mean, sd = spread(sizes) if sizes and len(sizes) == len(largest) else (None, None)
            grr = None
            if mean is not None:
                grr = gauge_rr([_largest_sizes(ts, n) for ts in by_op.values()])
            zone_names = [z for t in self.trials if (z := t.readings[n].zone)]
            limits: dict[float, float] = {}
            if grr is not None and zone_names:
                zone = zones.get(Counter(zone_names).most_common(1)[0][0])
                for lim in _size_limits(zone):
                    pct = grr.percent_of(lim)
                    if pct is not None:
                        limits[lim] = pct
            out.append(
                FibreFigures(
                    fibre=n,
                    ratings=ratings,
                    agreement=majority_agreement(ratings),
                    within=within,
                    operators=len(by_op),
                    count_sd=spread(counts)[1],
                    largest_mean_um=mean,
                    largest_sd_um=sd,
                    grr_percent=limits,
                    repeatability_sd_um=grr.repeatability_sd if grr else None,
                    reproducibility_sd_um=grr.reproducibility_sd if grr else None,
                )
            )
        return out

    def figures(self) -> dict[str, Any]:
        per = self.fibre_figures()
        ratings = [f.ratings for f in per]
        total = sum(len(r) for r in ratings)
        agreeing = sum(round(f.agreement * len(f.ratings)) for f in per)
        mid: list[float] = []
        for f in per:
            if f.largest_mean_um is None or not (
                MID_SIZE_UM[0] <= f.largest_mean_um <= MID_SIZE_UM[1]
            ):
                continue
            if f.largest_sd_um is None:  # spread() gives the two together
                raise RuntimeError(f"fibre {f.fibre}: a mean largest size without its spread")
            mid.append(f.largest_sd_um)
        scales = [t.scale_um_per_px for t in self.trials if t.scale_um_per_px]
        s_mean, s_sd = spread(scales)
        grr = [p for f in per for p in f.grr_percent.values()]
        return {
            "ratings": total,
            "verdict_agreement": agreeing / total if total else None,
            "within_operator": _share(sum(f.within for f in per), sum(f.operators for f in per)),
            "between_operators": _share(sum(1 for f in per if all_agree(f.ratings)), len(per)),
            "fleiss_kappa": fleiss_kappa(ratings) if ratings else None,
            "fibres_mid_size": len(mid),
            "largest_sd_um_mid_max": max(mid) if mid else None,
            "largest_sd_um_mid_median": statistics.median(mid) if mid else None,
            "max_grr_percent": max(grr) if grr else None,
            "scale_measurements": len(scales),
            "scale_mean_um_per_px": s_mean if scales else None,
            "scale_sd_um_per_px": s_sd if scales else None,
            "scale_relative_sd": s_sd / s_mean if scales and s_mean else None,
            "scale_range_um_per_px": (max(scales) - min(scales)) if scales else None,
            "scale_problems": [
                f"{t.operator} trial {t.number}: {t.scale_problem}"
                for t in self.trials
                if t.scale_problem
            ][:10],
        }

    def to_payload(self) -> dict[str, Any]:
        figs = self.figures()
        return {
            "serial": self.serial,
            "end": self.end,
            "connector": self.connector,
            "rules": self.rules,
            "probe": self.probe,
            "trials": self.trials_per_operator,
            "operators": list(self.operators),
            "calibration": {"um_per_px": self.calibration.um_per_px, "tip": self.calibration.tip},
            "figures": _rounded(figs),
            "fibres": [
                {
                    "fibre": f.fibre,
                    "verdicts": "".join(v[0] for v in f.ratings),  # p/f/e per trial, in order
                    "agreement": round(f.agreement, 4),
                    "count_sd": round(f.count_sd, 4),
                    "largest_mean_um": _r(f.largest_mean_um),
                    "largest_sd_um": _r(f.largest_sd_um),
                    "grr_percent": {f"{k:g}": round(v, 2) for k, v in f.grr_percent.items()},
                }
                for f in self.fibre_figures()
            ],
            "scales": [_r(t.scale_um_per_px, 6) for t in self.trials],
        }


def _largest_sizes(trials: list[Trial], n: int) -> list[float]:
    """Fibre ``n``'s largest defect in each of ``trials`` (every one of them has one)."""
    out = []
    for t in trials:
        size = t.readings[n].largest_um
        if size is None:
            raise RuntimeError(
                f"fibre {n}: {t.operator} trial {t.number} has no largest defect to measure"
            )
        out.append(size)
    return out


def _size_limits(zone: Zone | None) -> list[float]:
    if zone is None:
        return []
    bounds = set()
    for lim in zone.limits("defect"):
        for v in (lim.from_um, lim.above_um, lim.to_um, lim.below_um):
            if v:
                bounds.add(float(v))
    return sorted(bounds)


def _share(n: int, d: int) -> float | None:
    return n / d if d else None


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def _rounded(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in d.items()}


def reading(fibre: FiberResult) -> Reading:
    defects = [d for d in fibre.defects if d.kind == "defect"]
    big = max(defects, key=lambda d: d.size_um, default=None)
    return Reading(
        verdict=fibre.verdict,
        count=len(defects),
        largest_um=big.size_um if big else None,
        zone=big.zone if big else None,
    )


def run_study(
    bench: Bench,
    serial: str,
    end: EndDefinition,
    trials: int,
    operators: tuple[str, ...],
    reseat: Callable[[str, int], None],
    progress: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> Study:
    """Inspect ``end`` ``trials`` times per operator, re-seated before each trial."""
    if not 2 <= trials <= MAX_TRIALS:
        raise StudyError(f"--trials must be 2 to {MAX_TRIALS}; got {trials}")
    if not operators or len(set(operators)) != len(operators):
        raise StudyError("name each operator once (--operators a,b)")
    cal = bench.calibration(end)
    study = Study(
        serial=serial,
        end=end.label,
        connector=end.connector,
        rules=end.ruleset().name if "/" in end.rules else end.rules,
        probe=bench.probe.info.probe_id,
        trials_per_operator=trials,
        operators=tuple(operators),
        calibration=cal,
    )
    say = progress or (lambda s: None)
    for op in operators:
        for n in range(1, trials + 1):
            if cancel is not None and cancel.is_set():
                raise ScanCancelled("repeatability study cancelled")
            reseat(op, n)
            say(f"{op}: trial {n} of {trials}")
            scan = scan_end(
                bench.probe, bench.fixture, end, cal.min_focus_score, cal.scale, cancel=cancel
            )
            scale, problem = _scale(scan, end.connector)
            study.trials.append(
                Trial(op, n, {k: reading(f) for k, f in scan.fibers.items()}, scale, problem, scan)
            )
    return study


def _scale(scan: ScanResult, connector_name: str) -> tuple[float | None, str | None]:
    """The scale measured again on this seating, from the first fibre's frame."""
    frame = scan.frames.get(min(scan.frames)) if scan.frames else None
    if frame is None:
        return None, "no frame"
    try:
        return calibrate_from_image(np.asarray(frame.image), connector_name).um_per_px, None
    except CalibrationError as exc:
        return None, str(exc)[:160]
