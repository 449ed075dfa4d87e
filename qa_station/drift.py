"""Is the station drifting? Control charts per bench, with the Western Electric run rules.

Two charts per bench (the station that inspected), one point per UTC day:

- a p-chart of the first-inspection failure rate: of the ends first inspected
  that day, the share whose first inspection did not pass ("not judged" is
  not a pass). Limits p +- 3 sqrt(p (1 - p) / n), n that day's ends;
- a u-chart of zone B defects per fibre on those first inspections (counts
  per unit): limits u +- 3 sqrt(u / n), n that day's fibres.

The centre line is the mean over the period charted. Each point gets its
z-score against its own limits, and the Western Electric rules flag it: one
point beyond 3 sigma; 2 of 3 in a row beyond 2 sigma on one side; 4 of 5
beyond 1 sigma on one side; 8 in a row on one side of the centre. A day with
no variation to measure (every end passed, or none did) has no z-score.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select

from qa_station.store import Store
from qa_station.store.models import Assembly, Inspection
from qa_station.store.queries import in_period

DAY_US = 86_400_000_000
# (day, n, value, lcl, ucl, z): one day of a chart before the rules are applied
_Raw = tuple[int, int, float, float, float, float | None]
RULES = (
    "rule 1: beyond 3 sigma",
    "rule 2: 2 of 3 beyond 2 sigma on one side",
    "rule 3: 4 of 5 beyond 1 sigma on one side",
    "rule 4: 8 in a row on one side of the centre",
)


@dataclass(frozen=True)
class ChartPoint:
    start_us: int  # the day (UTC midnight)
    n: int  # ends (p-chart) or fibres (u-chart) that day
    value: float
    lcl: float
    ucl: float
    z: float | None
    flags: tuple[str, ...] = ()

    @property
    def out_of_control(self) -> bool:
        return bool(self.flags)


@dataclass(frozen=True)
class ControlChart:
    bench: str
    kind: str  # "p" or "u"
    title: str
    centre: float
    points: tuple[ChartPoint, ...]

    @property
    def flagged(self) -> list[ChartPoint]:
        return [p for p in self.points if p.flags]


@dataclass
class _Day:
    ends: int = 0
    failed: int = 0
    fibres: int = 0
    zone_b: int = 0


@dataclass
class Drift:
    charts: list[ControlChart] = field(default_factory=list)

    @property
    def flagged(self) -> list[tuple[ControlChart, ChartPoint]]:
        return [(c, p) for c in self.charts for p in c.flagged]


def first_inspections(
    store: Store,
    since_us: int | None = None,
    until_us: int | None = None,
    product: str | None = None,
) -> dict[str, dict[int, _Day]]:
    """bench -> day -> what that day's first inspections came to."""
    with store.read() as s:
        first = select(func.min(Inspection.id).label("id")).group_by(Inspection.end_id).subquery()
        q = (
            select(
                Inspection.station_id, Inspection.created_us, Inspection.verdict, Inspection.result
            )
            .join(first, first.c.id == Inspection.id)
            .order_by(Inspection.id)
        )
        q = in_period(q, Inspection.created_us, since_us, until_us)
        if product:
            q = q.join(Assembly, Assembly.id == Inspection.assembly_id).where(
                Assembly.product_id == product
            )
        rows = s.execute(q).all()
    out: dict[str, dict[int, _Day]] = defaultdict(lambda: defaultdict(_Day))
    for bench, at, verdict, result in rows:
        day = out[bench][at - at % DAY_US]
        day.ends += 1
        day.failed += verdict != "pass"
        fibres = json.loads(result).get("fibers", [])
        day.fibres += len(fibres)
        day.zone_b += sum(1 for f in fibres for d in f.get("defects", []) if d.get("zone") == "B")
    return out


def drift(
    store: Store,
    since_us: int | None = None,
    until_us: int | None = None,
    product: str | None = None,
) -> Drift:
    """Both charts for every bench that first-inspected an end in the period."""
    result = Drift()
    for bench, days in sorted(first_inspections(store, since_us, until_us, product).items()):
        ordered = sorted(days.items())
        result.charts.append(p_chart(bench, [(d, x.failed, x.ends) for d, x in ordered]))
        result.charts.append(u_chart(bench, [(d, x.zone_b, x.fibres) for d, x in ordered]))
    return result


def p_chart(bench: str, days: list[tuple[int, int, int]]) -> ControlChart:
    """(day, failed, ends) per day -> the p-chart."""
    total = sum(n for _, _, n in days)
    p = sum(k for _, k, _ in days) / total if total else 0.0
    points: list[_Raw] = []
    for day, k, n in days:
        sigma = math.sqrt(p * (1 - p) / n) if n else 0.0
        value = k / n if n else 0.0
        points.append(
            (day, n, value, max(0.0, p - 3 * sigma), min(1.0, p + 3 * sigma), _z(value, p, sigma))
        )
    return ControlChart(bench, "p", "first-inspection failure rate", p, _flag(points))


def u_chart(bench: str, days: list[tuple[int, int, int]]) -> ControlChart:
    """(day, zone B defects, fibres) per day -> the u-chart."""
    total = sum(n for _, _, n in days)
    u = sum(k for _, k, _ in days) / total if total else 0.0
    points: list[_Raw] = []
    for day, k, n in days:
        sigma = math.sqrt(u / n) if n else 0.0
        value = k / n if n else 0.0
        points.append((day, n, value, max(0.0, u - 3 * sigma), u + 3 * sigma, _z(value, u, sigma)))
    return ControlChart(bench, "u", "zone B defects per fibre", u, _flag(points))


def _z(value: float, centre: float, sigma: float) -> float | None:
    return (value - centre) / sigma if sigma > 0 else None


def _flag(points: list[_Raw]) -> tuple[ChartPoint, ...]:
    zs = [p[5] for p in points]
    flags = western_electric(zs)
    return tuple(
        ChartPoint(d, n, v, lo, hi, z, tuple(f))
        for (d, n, v, lo, hi, z), f in zip(points, flags, strict=True)
    )


def western_electric(zs: list[float | None]) -> list[list[str]]:
    """The rules each point breaks (a run is flagged at the point that completes it)."""
    out: list[list[str]] = [[] for _ in zs]
    for i, z in enumerate(zs):
        if z is None:
            continue
        if abs(z) > 3:
            out[i].append(RULES[0])
        for rule, (window, need, beyond) in zip(
            RULES[1:3], ((3, 2, 2.0), (5, 4, 1.0)), strict=True
        ):
            run = [x for x in zs[max(0, i - window + 1) : i + 1] if x is not None]
            if len(run) < window:
                continue
            for side in (1, -1):
                if side * z > beyond and sum(1 for x in run if side * x > beyond) >= need:
                    out[i].append(rule)
        last = [x for x in zs[max(0, i - 7) : i + 1] if x is not None]
        if len(last) == 8 and (all(x > 0 for x in last) or all(x < 0 for x in last)):
            out[i].append(RULES[3])
    return out
