"""Measurement-system analysis (AIAG MSA, 4th ed.) for an inspection station.

Attribute agreement: within an appraiser (every trial of one operator gives a
part the same verdict), between appraisers (every trial of every operator
agrees), and Fleiss' kappa over all ratings (chance-corrected agreement of
many raters; above 0.75 is commonly taken as good, above 0.9 as excellent).
Variables gauge R&R for a size: repeatability (equipment variation, the
pooled spread within an operator's trials) and reproducibility (appraiser
variation, the spread of operators' means beyond what repeatability
explains), and %GRR of a limit: 6 sigma of the measurement system over the
tolerance, taken from the natural bound 0 um to the limit (under 10 % good,
10-30 % may be acceptable, over 30 % not).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


def fleiss_kappa(ratings: Sequence[Sequence[str]]) -> float | None:
    """Fleiss' kappa of items each rated by the same number of raters (``ratings[i]``: the
    ratings of item i). None when it is undefined: one item, or every rating the same
    category (chance agreement is then 1)."""
    items = [list(r) for r in ratings if r]
    if not items:
        return None
    n = len(items[0])
    if n < 2 or any(len(r) != n for r in items):
        raise ValueError("Fleiss' kappa needs the same number (2 or more) of ratings per item")
    categories = sorted({c for r in items for c in r})
    counts = [Counter(r) for r in items]
    p_i = [(sum(c[k] ** 2 for k in categories) - n) / (n * (n - 1)) for c in counts]
    p_bar = sum(p_i) / len(items)
    p_j = [sum(c[k] for c in counts) / (len(items) * n) for k in categories]
    p_e = sum(p * p for p in p_j)
    if p_e >= 1.0 - 1e-12:
        return None
    return (p_bar - p_e) / (1.0 - p_e)


def majority_agreement(ratings: Sequence[str]) -> float:
    """Share of ratings equal to the most common one."""
    if not ratings:
        return 0.0
    return Counter(ratings).most_common(1)[0][1] / len(ratings)


def all_agree(ratings: Sequence[str]) -> bool:
    return len(set(ratings)) <= 1


@dataclass(frozen=True)
class GaugeRR:
    repeatability_sd: float  # equipment variation (within an operator's trials)
    reproducibility_sd: float  # appraiser variation
    mean: float

    @property
    def grr_sd(self) -> float:
        return math.hypot(self.repeatability_sd, self.reproducibility_sd)

    def percent_of(self, limit: float) -> float | None:
        """%GRR of the tolerance from 0 to ``limit``."""
        if limit <= 0:
            return None
        return 100.0 * 6.0 * self.grr_sd / limit


def gauge_rr(by_operator: Sequence[Sequence[float]]) -> GaugeRR | None:
    """Gauge R&R of one part measured by several operators several times each."""
    groups = [list(g) for g in by_operator if g]
    values = [v for g in groups for v in g]
    if len(values) < 2:
        return None
    pooled = [statistics.variance(g) * (len(g) - 1) for g in groups if len(g) > 1]
    dof = sum(len(g) - 1 for g in groups if len(g) > 1)
    within = sum(pooled) / dof if dof else 0.0
    means = [statistics.fmean(g) for g in groups]
    between = 0.0
    if len(means) > 1:
        trials = statistics.fmean(len(g) for g in groups)
        between = max(0.0, statistics.variance(means) - within / trials)
    return GaugeRR(math.sqrt(within), math.sqrt(between), statistics.fmean(values))


def spread(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 with one value)."""
    vals = list(values)
    if not vals:
        return 0.0, 0.0
    return statistics.fmean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0
