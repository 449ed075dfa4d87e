"""How much of each zone is in the frame.

At 400x the 250 um contact zone often runs past the frame. What is in view is
graded; each zone's share in view is reported, and a rule file sets the least
share a verdict needs (A, B and C whole; D at least half by default). Below
it the verdict is ``error``: a zone mostly out of view cannot be called clean.
"""

from __future__ import annotations

import math

import numpy as np

from grading.rules import Zone

_ANGLES = 360
_RINGS = 24


def zone_coverage(
    shape: tuple[int, int], cx: float, cy: float, um_per_px: float, zones: tuple[Zone, ...]
) -> dict[str, float]:
    """Share of each zone's area (annulus round (cx, cy)) that lies inside the image."""
    h, w = shape
    theta = np.linspace(0.0, 2.0 * math.pi, _ANGLES, endpoint=False)
    cos_t, sin_t = np.cos(theta)[:, None], np.sin(theta)[:, None]
    out: dict[str, float] = {}
    for z in zones:
        r_in = z.inner_radius_um / um_per_px
        r_out = z.outer_radius_um / um_per_px
        if (
            cx - r_out >= -0.5
            and cx + r_out <= w - 0.5
            and cy - r_out >= -0.5
            and cy + r_out <= h - 0.5
        ):
            out[z.name] = 1.0  # the whole annulus is in view: every sample would be
            continue
        # Equal-area rings, so that each sample stands for the same area.
        u = (np.arange(_RINGS) + 0.5) / _RINGS
        radii = np.sqrt(r_in**2 + u * (r_out**2 - r_in**2))[None, :]
        x = cx + radii * cos_t
        y = cy + radii * sin_t
        inside = (x >= -0.5) & (x <= w - 0.5) & (y >= -0.5) & (y <= h - 0.5)
        out[z.name] = float(inside.mean())
    return out


def short_of_coverage(coverage: dict[str, float], zones: tuple[Zone, ...]) -> str | None:
    """Why the zones in view are too few for a verdict, or None."""
    for z in zones:
        share = coverage.get(z.name, 1.0)
        if share + 1e-9 < z.min_coverage:
            need = "all of it" if z.min_coverage >= 1.0 else f"at least {z.min_coverage:.0%}"
            return (
                f"zone {z.name} ({z.label}) is only {math.floor(share * 100)}% in view "
                f"({need} needed): "
                "centre the fibre in view"
            )
    return None
