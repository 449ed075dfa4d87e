"""Why an end keeps failing, from the defect maps before and after cleaning.

Defects that stay in the same place across cleans are in the glass: damage
(reject or re-polish). Contamination that moved or spread after dry cleaning
is residue or oil: clean wet-to-dry next (seed 000: dry cleaning smears it).
If neither, or residue survives wet-to-dry, contamination is no longer the
likely cause and a supervisor decides (seed 000: stop assuming contamination
after a verified clean-retest cycle).
"""

from __future__ import annotations

import math
from typing import Any

from hardware.cleaning import WET_METHODS
from qa_station.gate.state import Escalation

SAME_PLACE_UM = 3.0  # how far a defect may appear to move and still be the same one
SPREAD_REACH = 0.8  # a smear may travel this many of its own sizes and still be the same dirt
SPREAD_REACH_MIN_UM = 25.0
DAMAGE_MAX_UM = 15.0  # pits and chips are small; dirt that large is a smear, not damage
SAME_SIZE = (0.75, 1.33)


def escalate(before: dict[str, Any], after: dict[str, Any], methods: tuple[str, ...]) -> Escalation:
    """Compare two failed inspections (grade JSON of an end) with cleanings between them.

    The order of the questions follows the seed: a failing scratch, or small
    defects that stay put, are damage; otherwise, while wet-to-dry has not
    been tried, that is the next step (residue when the dirt is large or
    moved); only after wet-to-dry does the end go to a supervisor.
    """
    stayed = moved = scratched = large = 0
    for fibre in after.get("fibers", []):
        if fibre.get("verdict") != "fail":
            continue
        old = _fibre(before, fibre["index"])
        now = _relative(fibre, after.get("um_per_px"))
        then = _relative(old, before.get("um_per_px")) if old else []
        for kind, x, y, size in now:
            if kind == "scratch":
                scratched += 1
                continue
            if size > DAMAGE_MAX_UM:
                large += 1
            near = [(math.hypot(x - x0, y - y0), s0) for k0, x0, y0, s0 in then if k0 == kind]
            same = [
                d
                for d, s0 in near
                if d <= max(SAME_PLACE_UM, 0.15 * size)
                and SAME_SIZE[0] <= size / max(s0, 1e-6) <= SAME_SIZE[1]
            ]
            if same and size <= DAMAGE_MAX_UM:
                stayed += 1
            elif any(d <= max(SPREAD_REACH_MIN_UM, SPREAD_REACH * max(size, s0)) for d, s0 in near):
                moved += 1
    tried_wet = any(m in WET_METHODS for m in methods)
    if scratched or (stayed and not moved and not large):
        return Escalation(
            cause="damage",
            advice="defects stay in the same place across cleanings (scratch, pit or chip in the "
            "glass): a supervisor rejects the assembly or releases it for re-polishing",
            blocking=True,
        )
    if not tried_wet:
        if moved or large:
            return Escalation(
                cause="residue",
                advice="contamination moved or spread after dry cleaning (residue or oil): clean "
                "wet-to-dry next",
                blocking=False,
                require_method="wet-to-dry",
            )
        return Escalation(
            cause="contamination dry cleaning does not lift",
            advice="dry cleaning is not enough: clean wet-to-dry next",
            blocking=False,
            require_method="wet-to-dry",
        )
    if stayed:
        return Escalation(
            cause="damage",
            advice="defects stay in the same place even after wet-to-dry: a supervisor rejects "
            "the assembly or releases it for re-polishing",
            blocking=True,
        )
    return Escalation(
        cause="persistent contamination",
        advice="still failing after verified cleaning, wet-to-dry included: stop assuming "
        "contamination (check for damage, polarity, cable stress); a supervisor decides",
        blocking=True,
    )


def _fibre(result: dict[str, Any], index: int) -> dict[str, Any] | None:
    return next((f for f in result.get("fibers", []) if f.get("index") == index), None)


def _relative(
    fibre: dict[str, Any] | None, um_per_px: float | None
) -> list[tuple[str, float, float, float]]:
    """Defects as (kind, x, y, size) in um from the fibre centre (the frames differ)."""
    if not fibre or not um_per_px:
        return []
    cx, cy = fibre["center_px"]
    return [
        (
            d["kind"],
            (d["center_px"][0] - cx) * um_per_px,
            (d["center_px"][1] - cy) * um_per_px,
            d["size_um"],
        )
        for d in fibre.get("defects", [])
    ]
