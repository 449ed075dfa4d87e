"""Apply a rule set's limits to a fibre's placed defects and say what failed, in words."""

from __future__ import annotations

from collections.abc import Iterable

from grading.results import Defect
from grading.rules import SizeLimit, Zone

_NOUN = {"defect": ("defect", "defects"), "scratch": ("scratch", "scratches")}


def failures(defects: Iterable[Defect], zones: tuple[Zone, ...]) -> list[str]:
    """Every limit broken, e.g. 'zone B (cladding): 6 defects of 2-5 um, at most 5 allowed'."""
    found = list(defects)
    out: list[str] = []
    for zone in zones:
        for kind in ("scratch", "defect"):
            here = [d for d in found if d.zone == zone.name and d.kind == kind]
            for limit in zone.limits(kind):
                hits = [d for d in here if limit.matches(d.size_um)]
                if len(hits) > limit.max_count:
                    out.append(_describe(zone, kind, limit, hits))
    return out


def _describe(zone: Zone, kind: str, limit: SizeLimit, hits: list[Defect]) -> str:
    one, many = _NOUN[kind]
    n = len(hits)
    noun = one if n == 1 else many
    span = limit.describe()
    if kind == "scratch" and span != "any size":
        span += " wide"
    if span == "any size":
        what = f"{n} {noun}"
    elif "-" in span and not span.startswith(("<", ">")):
        what = f"{n} {noun} of {span}"
    else:
        what = f"{n} {noun} {span}"
    biggest = max(d.size_um for d in hits)
    measure = "widest" if kind == "scratch" else "largest"
    detail = f" ({biggest:.1f} um)" if n == 1 else f" ({measure} {biggest:.1f} um)"
    allowed = "none allowed" if limit.max_count == 0 else f"at most {limit.max_count} allowed"
    return f"zone {zone.name} ({zone.label}): {what}{detail}, {allowed}"
