"""Which zone a defect or scratch counts in.

A feature counts in one zone. When it touches several, the rule set decides:
``stricter`` (the default, the conservative reading) puts it in the zone
whose table allows the fewest features of its size, ties going inward;
``center`` puts a defect where its centre lies. Scratches always take the
stricter zone they cross: a line through the core is judged as a core
scratch whatever its midpoint.
"""

from __future__ import annotations

import math

from grading.rules import Zone


def allowance(zone: Zone, kind: str, size_um: float) -> float:
    """How many features of this kind and size the zone allows (inf: no limit)."""
    counts = [lim.max_count for lim in zone.limits(kind) if lim.matches(size_um)]
    return float(min(counts)) if counts else math.inf


def place(
    kind: str,
    size_um: float,
    r_min_um: float,
    r_max_um: float,
    r_center_um: float,
    zones: tuple[Zone, ...],
    straddle: str,
) -> Zone | None:
    """The zone the feature counts in, or None when it lies outside every graded zone."""
    touched = [z for z in zones if r_max_um >= z.inner_radius_um and r_min_um < z.outer_radius_um]
    if not touched:
        return None
    if straddle == "center" and kind == "defect":
        for z in zones:
            if z.inner_radius_um <= r_center_um < z.outer_radius_um:
                return z
        # Centre outside the graded zones but an edge reaches in: count it where it reaches.
    return min(touched, key=lambda z: (allowance(z, kind, size_um), z.inner_radius_um))
