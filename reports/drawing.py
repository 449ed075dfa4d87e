"""What an overlay shows of a grading result, as shapes in the frame's pixels (no Qt, no OpenCV).

One routine decides what is drawn on an end face, for the bench window and
History (``qa_station/ui/live_view.py``, through Qt paths) and for the PDFs
(``reports/overlay.py``, through OpenCV): the zone circles the result was
graded with (``EndFaceResult.zones``, never a rule file read again, which may
have changed since), each defect and scratch in the fibre's verdict colour,
and where the fibre's number goes. A zone the frame holds less of than its
``min_coverage`` (the reason a fibre is "not judged") is drawn in the
not-judged colour, so the picture says which zone was cut off.

Sizes are in frame pixels; renderers only scale them. Markers round small
defects are a few pixels bigger than the defect (``marker_radius``), so a
1 um particle is still visible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grading.geometry import CLADDING_DIAMETER_UM
from grading.results import ERROR, VERDICTS, EndFaceResult, FiberResult, ZoneShape

Point = tuple[float, float]
ZONE = "zone"  # a ring in the zone colour
SHORT = "short"  # a ring of a zone the frame holds too little of
MARKER_MIN_PX = 3.0  # a defect's circle is at least this radius (in the drawing's pixels)...
MARKER_PAD_PX = 2.0  # ...and this much wider than the defect


@dataclass(frozen=True)
class Ring:
    """A zone boundary: an ellipse round the fibre centre (a circle on square pixels)."""

    centre: Point
    rx_px: float
    ry_px: float
    role: str  # ZONE or SHORT


@dataclass(frozen=True)
class Mark:
    """A defect (a circle of ``radius_px``, the defect's own size) or a scratch (a line)."""

    colour: str  # the fibre's verdict: "pass", "fail" or "error"
    centre: Point
    radius_px: float = 0.0
    line: tuple[Point, Point] | None = None


@dataclass(frozen=True)
class FibreDrawing:
    index: int
    colour: str  # the fibre's verdict, as a palette key
    centre: Point
    rings: tuple[Ring, ...]
    marks: tuple[Mark, ...]
    reach_px: float  # the outermost ring's vertical radius (the number goes above it)


def marker_radius(radius_px: float, scale: float = 1.0) -> float:
    """A defect circle's radius when the drawing is scaled by ``scale`` (display pixels)."""
    return max(radius_px * scale, MARKER_MIN_PX) + MARKER_PAD_PX


def scale_of(fibre: FiberResult, um_per_px: float | None) -> float:
    """um per pixel: the result's, else from the fibre's measured cladding."""
    if um_per_px:
        return float(um_per_px)
    if fibre.diameter_px > 0:
        return CLADDING_DIAMETER_UM / fibre.diameter_px
    return 0.5


def reach_um(zones: Sequence[ZoneShape]) -> float:
    """The radius of the outermost zone, in um (the cladding's when no zone is known)."""
    return max((z.outer_diameter_um for z in zones), default=CLADDING_DIAMETER_UM) / 2.0


def fibre_drawing(
    fibre: FiberResult,
    zones: Sequence[ZoneShape],
    um_per_px: float | None,
    um_per_px_y: float | None = None,
) -> FibreDrawing:
    """One fibre's overlay: its zones' rings, its defects and scratches."""
    sx = scale_of(fibre, um_per_px)
    sy = float(um_per_px_y) if um_per_px and um_per_px_y else sx
    colour = fibre.verdict if fibre.verdict in VERDICTS else ERROR
    rings: list[Ring] = []
    drawn: dict[float, str] = {}
    for z in zones:
        short = z.name in fibre.coverage and fibre.coverage[z.name] + 1e-9 < z.min_coverage
        for d in (z.inner_diameter_um, z.outer_diameter_um):
            if d > 0 and drawn.get(d) != SHORT:  # a shared boundary is drawn once
                drawn[d] = SHORT if short else ZONE
    for d, role in sorted(drawn.items()):
        rings.append(Ring(fibre.center_px, d / 2.0 / sx, d / 2.0 / sy, role))
    marks = tuple(
        Mark(colour, d.center_px, line=d.ends_px)
        if d.kind == "scratch" and d.ends_px is not None
        else Mark(colour, d.center_px, radius_px=d.size_um / 2.0 / sx)
        for d in fibre.defects
    )
    reach = rings[-1].ry_px if rings else fibre.diameter_px / 2.0
    return FibreDrawing(fibre.index, colour, fibre.center_px, tuple(rings), marks, reach)


def end_drawing(result: EndFaceResult) -> tuple[FibreDrawing, ...]:
    """Every placed fibre of an end face, drawn with the zones the result carries."""
    return tuple(
        fibre_drawing(f, result.zones, result.um_per_px, result.um_per_px_y)
        for f in result.fibers
        if all(c == c and abs(c) != float("inf") for c in f.center_px)
    )
