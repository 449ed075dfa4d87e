"""A capture's JSON sidecar: which end and fibre it shows and at what scale.

A folder of per-fibre captures (from another bench, or an earlier run) then
replays as a scan, each frame labelled as the fixture would have labelled it.
A sidecar's keys are checked strictly: a misspelt key ("fibre") silently
ignored would replay a scan with its fibres unlabelled.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

KEYS = ("end", "fiber", "um_per_px")


@dataclass(frozen=True)
class Sidecar:
    """None means the sidecar does not say (absent or null)."""

    end: str | None = None
    fiber: int | None = None
    um_per_px: float | None = None


def sidecar_path(image: Path) -> Path | None:
    """``f01.png.json`` next to ``f01.png``, or else ``f01.json``; None when neither exists."""
    for candidate in (image.with_name(image.name + ".json"), image.with_suffix(".json")):
        if candidate.is_file():
            return candidate
    return None


def parse_sidecar(text: str) -> Sidecar:
    """ValueError naming the key and the problem when the sidecar cannot be used."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, not {type(data).__name__}")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(KEYS)}")
    end = data.get("end")
    if end is not None and (not isinstance(end, str) or not end.strip()):
        raise ValueError(f"'end' must be a non-empty string, not {end!r}")
    fiber = data.get("fiber")
    if fiber is not None and (isinstance(fiber, bool) or not isinstance(fiber, int) or fiber < 1):
        raise ValueError(f"'fiber' must be a whole number from 1, not {fiber!r}")
    um = data.get("um_per_px")
    if um is not None and (
        isinstance(um, bool) or not isinstance(um, int | float) or not math.isfinite(um) or um <= 0
    ):
        raise ValueError(f"'um_per_px' must be a number above 0, not {um!r}")
    return Sidecar(end=end, fiber=fiber, um_per_px=None if um is None else float(um))
