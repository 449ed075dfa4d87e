"""What of a frame is kept: each fibre's graded region, losslessly; whole frames by policy.

A busy bench takes about fifty 1280x960 frames per assembly, 0.7 MB each as
PNG: a terabyte in two months. What the record rests on is far smaller: the
zones the rule set grades (on an MT ferrule only A and B, 115 um across) and
every defect or scratch the grade found there. So each fibre keeps the disc
around its centre out to the outermost graded zone, widened to take in every
defect it recorded, cut from the frame as a square PNG whose pixels outside
the disc are zero (a few bytes). The crop's origin in the frame is recorded
with the inspection (``regions`` in its grade JSON, sealed with it), so
overlays drawn later land where the grade put them. A fibre the grade could
not place (verdict ``error``) keeps its whole frame: there is no region to
cut. The MT overview keeps the band of the fibre array (one pitch around it)
when its fibres can be found, else the whole frame.

The station config's ``[images] full_frames`` keeps whole frames as well:
``never`` (default), ``failing`` (every frame of an inspection that did not
pass) or ``always``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from grading.geometry import connector
from grading.locate import locate_overview
from grading.results import Defect, EndFaceResult, FiberResult
from grading.rules import RuleFileError, load_rules

FULL_FRAMES = ("never", "failing", "always")
MARGIN_PX = 3  # beyond the outermost graded zone: its edge is inside what is kept


@dataclass(frozen=True)
class Region:
    """A square cut of a frame: origin and size in the frame's pixels, and the kept disc."""

    x0: int
    y0: int
    width: int
    height: int
    radius_px: float | None = None  # None: every pixel is kept (the overview band)
    cx: float = 0.0  # the kept disc's centre, in the frame's pixels
    cy: float = 0.0

    def to_dict(self, frame_shape: tuple[int, ...]) -> dict[str, Any]:
        d: dict[str, Any] = {
            "origin": [self.x0, self.y0],
            "size": [self.width, self.height],
            "frame": [int(frame_shape[1]), int(frame_shape[0])],
        }
        if self.radius_px is not None:
            d["radius_px"] = round(self.radius_px, 2)
        return d


def graded_outer_um(result: EndFaceResult) -> float | None:
    """The diameter of the outermost zone the rule set grades on this connector, in um."""
    try:
        rules = load_rules(result.rules)
        multi = connector(result.connector).is_multi_fiber
    except (RuleFileError, ValueError, KeyError):
        return None
    zones = rules.zones_for(multi)
    return max((z.outer_diameter_um for z in zones), default=None)


def fibre_region(
    fibre: FiberResult, shape: tuple[int, ...], um_per_px: float | None, outer_um: float | None
) -> Region | None:
    """The region to keep of one fibre's frame; None when the whole frame must be kept."""
    if fibre.verdict == "error" or not um_per_px or not outer_um or um_per_px <= 0:
        return None
    cx, cy = fibre.center_px
    if not (math.isfinite(cx) and math.isfinite(cy)):
        return None
    radius = outer_um / 2.0 / um_per_px
    for d in fibre.defects:
        radius = max(radius, _reach(d, cx, cy, um_per_px))
    radius += MARGIN_PX
    h, w = shape[:2]
    x0, y0 = max(0, math.floor(cx - radius)), max(0, math.floor(cy - radius))
    x1, y1 = min(w, math.ceil(cx + radius) + 1), min(h, math.ceil(cy + radius) + 1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return Region(x0, y0, x1 - x0, y1 - y0, radius, cx, cy)


def _reach(d: Defect, cx: float, cy: float, um_per_px: float) -> float:
    """How far from the fibre centre a recorded defect or scratch extends, in pixels."""
    half = d.size_um / 2.0 / um_per_px
    points = [d.center_px, *(d.ends_px or ())]
    return max(math.hypot(p[0] - cx, p[1] - cy) for p in points) + half


def cut(image: np.ndarray, region: Region) -> np.ndarray:
    """The region's pixels as they are; outside its disc, zeros (compressed to nothing)."""
    crop = image[region.y0 : region.y0 + region.height, region.x0 : region.x0 + region.width]
    crop = np.array(crop, copy=True, order="C")
    if region.radius_px is not None:
        yy, xx = np.ogrid[0 : region.height, 0 : region.width]
        dx, dy = xx + region.x0 - region.cx, yy + region.y0 - region.cy
        crop[dx * dx + dy * dy > region.radius_px**2] = 0
    return crop


def overview_band(
    image: np.ndarray, connector_name: str
) -> tuple[Region, list[list[float]]] | None:
    """The band of an MT overview that holds the fibre array, one pitch around it, and where
    each fibre is in it ([x, y, r], fibre order)."""
    circles = locate_overview(image, connector(connector_name).fiber_count)
    if not circles or len(circles) < 2:
        return None
    found = [(c.cx, c.cy, c.r) for c in circles]
    xs, ys = [f[0] for f in found], [f[1] for f in found]
    pitch = min(  # neighbours in a row are the closest fibres: one pitch apart
        math.hypot(b[0] - a[0], b[1] - a[1]) for a, b in itertools.pairwise(found)
    )
    h, w = image.shape[:2]
    x0, y0 = max(0, math.floor(min(xs) - pitch)), max(0, math.floor(min(ys) - pitch))
    x1, y1 = min(w, math.ceil(max(xs) + pitch) + 1), min(h, math.ceil(max(ys) + pitch) + 1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    at = [[round(x - x0, 2), round(y - y0, 2), round(r, 2)] for x, y, r in found]
    return Region(x0, y0, x1 - x0, y1 - y0, None), at


def in_region(fibre: FiberResult, region: dict[str, Any] | None) -> FiberResult:
    """The fibre's grade in the coordinates of its stored crop (unchanged without one)."""
    if not region or "origin" not in region:
        return fibre
    dx, dy = float(region["origin"][0]), float(region["origin"][1])
    if dx == 0 and dy == 0:
        return fibre

    def at(p: tuple[float, float]) -> tuple[float, float]:
        return (p[0] - dx, p[1] - dy)

    from dataclasses import replace

    defects = tuple(
        replace(
            d,
            center_px=at(d.center_px),
            ends_px=None if d.ends_px is None else (at(d.ends_px[0]), at(d.ends_px[1])),
        )
        for d in fibre.defects
    )
    return replace(fibre, center_px=at(fibre.center_px), defects=defects)
