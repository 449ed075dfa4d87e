"""grade(image, connector, rules): the one entry point from pixels to verdicts.

Usage errors (an unknown connector, a rules file that does not load, rules
that do not fit the connector) raise, because nothing can be graded until they
are fixed. Everything that is wrong with an *image* becomes a result with
verdict ``error`` and the reason, so a batch goes on with the other images.
A verdict is never ``pass`` unless every fibre was actually judged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import numpy as np

from grading.fiber import grade_fiber
from grading.geometry import CLADDING_DIAMETER_UM, ConnectorGeometry, connector
from grading.image_io import ImageError, prepared, read_image
from grading.locate import Circle, Location, locate
from grading.pixels import SQUARE_TOLERANCE, scale_pair, square
from grading.projection import projected
from grading.results import ERROR, FAIL, PASS, EndFaceResult, FiberResult, ZoneShape
from grading.rules import RuleSet, load_rules, polish_mismatch

_T = TypeVar("_T")

SCALE_TOLERANCE = 0.08  # measured cladding vs the given scale before calibration is doubted


class GradingUsageError(ValueError):
    """The request itself cannot be graded (wrong connector, rules, or pairing)."""


def grade(
    image: np.ndarray | str | Path,
    connector: str,
    rules: str | Path | RuleSet,
    um_per_px: float | tuple[float, float] | None = None,
    image_name: str | None = None,
) -> EndFaceResult:
    """Grade one end-face image against a rule set; see DESIGN.md section 5.

    ``um_per_px``: the calibrated scale, a number for square pixels or an (x, y)
    pair for pixels that are not; None to estimate it from the image.
    """
    geometry, ruleset = resolve(connector, rules)
    try:
        scale = scale_pair(um_per_px)
    except ValueError as exc:
        raise GradingUsageError(str(exc)) from None
    name = (
        image_name
        if image_name is not None
        else (str(image) if isinstance(image, str | Path) else None)
    )
    # The fields every outcome shares; each return below fills in the rest.
    base = EndFaceResult(
        verdict=ERROR,
        um_per_px=None,
        rules=ruleset.name,
        connector=geometry.name,
        image=name,
        rules_sha256=ruleset.sha256,
        zones=zone_shapes(ruleset, geometry),
    )
    try:
        raw = read_image(image) if isinstance(image, str | Path) else image
        gray, saturated = prepared(raw)
    except ImageError as exc:
        x, y = scale or (None, None)
        return replace(base, verdict=ERROR, um_per_px=x, um_per_px_y=_y(x, y), error=str(exc))
    return grade_array(gray, geometry, ruleset, scale, base, saturated=saturated)


def grade_located(
    image: np.ndarray,
    fibre: tuple[float, float, float],
    kept_radius_px: float | None,
    connector: str,
    rules: str | Path | RuleSet,
    um_per_px: float,
    blur_px: float = 1.0,
) -> FiberResult:
    """Grade one fibre whose cladding was located when the frame was taken: ``fibre`` is
    (cx, cy, r) in this image's pixels. This is how a kept region of a frame is graded
    again (a re-grade under another table): the region may end inside the cladding, so
    its edge cannot be found again. Pixels beyond ``kept_radius_px`` were not kept; they
    are filled with the glass's own level at the region's rim, so no edge is seen there.
    """
    geometry, ruleset = resolve(connector, rules)
    cx, cy, r = fibre
    try:
        # Stretched as cut: the zeros outside the kept disc stand for the dark surround the
        # whole frame had, so contrast is measured on about the frame's own scale.
        gray, saturated = prepared(image)
    except ImageError as exc:
        return FiberResult(1, (cx, cy), 2 * r, ERROR, error=str(exc))
    if kept_radius_px is not None:
        gray = _mirrored_beyond(gray, cx, cy, kept_radius_px)
    circle = Circle(cx, cy, r, support=1.0, contrast=0.0, blur_px=blur_px)
    zones = ruleset.zones_for(geometry.is_multi_fiber)
    return grade_fiber(gray, circle, 1, float(um_per_px), ruleset, zones, saturated)


def _mirrored_beyond(gray: np.ndarray, cx: float, cy: float, radius: float) -> np.ndarray:
    """What lies beyond ``radius`` (not kept) filled with its mirror image inside it, so the
    glass's shading goes on smoothly and no edge is seen where the kept disc ends."""
    h, w = gray.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = xx - np.float32(cx), yy - np.float32(cy)
    d = np.hypot(dx, dy)
    outside = d > radius
    if not outside.any():
        return gray
    k = np.where(outside, np.maximum(2.0 * radius - d, 0.0) / np.maximum(d, 1e-6), 1.0)
    mx = np.clip(np.rint(cx + dx * k), 0, w - 1).astype(np.intp)
    my = np.clip(np.rint(cy + dy * k), 0, h - 1).astype(np.intp)
    out = gray.copy()
    out[outside] = gray[my[outside], mx[outside]]
    return out


def zone_shapes(ruleset: RuleSet, geometry: ConnectorGeometry) -> tuple[ZoneShape, ...]:
    """The connector's zones as graded (MT ferrules: the multi-fibre zones only)."""
    return tuple(projected(ZoneShape, z) for z in ruleset.zones_for(geometry.is_multi_fiber))


def with_zones(result: EndFaceResult, rules: str | None = None) -> EndFaceResult:
    """A result read back from a record, with the zones it was graded with.

    Results carry their zones (``EndFaceResult.zones``) since they were first stored
    with them; an older record has none, and is given its rule file's zones now, but
    only when the file is still the one it was graded with (the recorded hash): no
    zones are drawn rather than zones the grade never used. ``rules``: the rule set as
    the record names it (a house table's path), else the result's own name for it.
    The one place a rule file is read again for a recorded result.
    """
    if result.zones:
        return result
    try:
        geometry, ruleset = resolve(result.connector, rules or result.rules)
    except GradingUsageError:
        return result
    if result.rules_sha256 and result.rules_sha256 != ruleset.sha256:
        return result
    return replace(result, zones=zone_shapes(ruleset, geometry))


def _y(x: float | None, y: float | None) -> float | None:
    """The vertical scale as the result carries it: only when it differs from x."""
    if x is None or y is None or abs(y / x - 1.0) <= SQUARE_TOLERANCE:
        return None
    return y


def resolve(connector_name: str, rules: str | Path | RuleSet) -> tuple[ConnectorGeometry, RuleSet]:
    """Look up the connector and load the rules, refusing pairs that cannot be right."""
    try:
        geometry = connector(connector_name)
    except ValueError as exc:
        raise GradingUsageError(str(exc)) from None
    if isinstance(rules, RuleSet):
        ruleset = rules
    else:
        try:
            ruleset = load_rules(rules)
        except ValueError as exc:
            raise GradingUsageError(str(exc)) from None
    mismatch = polish_mismatch(geometry, ruleset)
    if mismatch:
        raise GradingUsageError(mismatch)
    return geometry, ruleset


def grade_array(
    gray: np.ndarray,
    geometry: ConnectorGeometry,
    ruleset: RuleSet,
    um_per_px: float | tuple[float, float] | None,
    base: EndFaceResult,
    saturated: np.ndarray | None = None,
) -> EndFaceResult:
    """Grade a normalised float32 image (see ``image_io.normalise``).

    ``base`` holds the fields every outcome shares (rules, connector, image, zones).
    ``saturated`` marks the pixels the camera clipped, whose true brightness is unknown.
    """
    scale = scale_pair(um_per_px)
    y_um: float | None
    if scale is not None:
        sq = square(gray, saturated, *scale)
        loc = locate(sq.image, scale[0])
        y_um = scale[1]
    else:
        # The pixels' shape is measured from the claddings; a frame whose pixels are
        # not square is made square and looked at again with the scale now known.
        first = locate(gray, None, measure_aspect=True, multi_fiber=geometry.is_multi_fiber)
        sq = square(gray, saturated, 1.0, 1.0 / first.aspect)
        loc = first
        y_um = first.um_per_px
        if not sq.unchanged and first.um_per_px is not None:
            y_um = first.um_per_px / first.aspect
            again = locate(sq.image, first.um_per_px)
            loc = replace(again, scale_source=first.scale_source)
    x_um = loc.um_per_px
    grid = replace(base, um_per_px=x_um, um_per_px_y=_y(x_um, y_um))
    fibers = list(loc.fibers)
    if not fibers:
        reason = "no fibre found fully inside the image"
        if loc.partial:
            reason += f" ({loc.partial} cut by the image border: centre the fibre in view)"
        elif scale is not None:
            reason = _elliptic(sq.image) or reason
        return replace(grid, verdict=ERROR, error=reason)
    if not geometry.is_multi_fiber:
        fibers = [nearest_to_centre(fibers, sq.image.shape)]
    if x_um is None:  # located fibres always carry a scale (given, pitch or cladding)
        raise AssertionError("fibres were located without a scale")
    scale_x = float(x_um)
    blur_um = float(np.median([c.blur_px for c in fibers])) * scale_x
    common = replace(grid, scale_source=loc.scale_source, edge_blur_um=blur_um)
    # Pixels that are not square resolve less along their longer side.
    problem = _image_problem(loc, fibers, scale_x, ruleset, blur_um, max(scale_x, y_um or scale_x))
    if problem is not None:
        located = tuple(
            sq.fibre_to_frame(
                FiberResult(
                    index=i,
                    center_px=(c.cx, c.cy),
                    diameter_px=c.diameter,
                    verdict=ERROR,
                    error=problem,
                )
            )
            for i, c in enumerate(fibers, start=1)
        )
        return replace(common, verdict=ERROR, fibers=located, error=problem)
    zones = ruleset.zones_for(geometry.is_multi_fiber)
    results = tuple(
        sq.fibre_to_frame(grade_fiber(sq.image, c, i, scale_x, ruleset, zones, sq.saturated))
        for i, c in enumerate(fibers, start=1)
    )
    return replace(common, verdict=roll_up(results), fibers=results, error=fibre_errors(results))


def _elliptic(image: np.ndarray) -> str | None:
    """Why a calibrated frame shows no fibre when its claddings are ellipses."""
    loc = locate(image, None, measure_aspect=True)
    if not loc.fibers or abs(loc.aspect - 1.0) <= 0.02:
        return None
    way = "taller than wide" if loc.aspect > 1 else "wider than tall"
    return (
        f"the cladding is an ellipse ({abs(loc.aspect - 1.0):.0%} {way}): the pixels are not "
        "square; give the calibration its vertical scale (pixel aspect)"
    )


def roll_up(fibres: tuple[FiberResult, ...] | list[FiberResult]) -> str:
    """An end face's verdict from its fibres': never pass unless every fibre was judged."""
    if not fibres or any(f.verdict == ERROR for f in fibres):
        return ERROR
    return FAIL if any(f.verdict == FAIL for f in fibres) else PASS


def fibre_errors(fibres: tuple[FiberResult, ...] | list[FiberResult]) -> str | None:
    """Why fibres were not judged, one clause each ("fibre 3: out of focus; ...")."""
    text = "; ".join(f"fibre {f.index}: {f.error}" for f in fibres if f.error)
    return text or None


def nearest_to_centre(fibers: list[Circle], shape: tuple[int, int]) -> Circle:
    """The fibre a single-fibre view is of: the one nearest the middle of the frame."""
    return _nearest(fibers, shape, lambda c: (c.cx, c.cy))


def nearest_to_centre_px(fibers: tuple[FiberResult, ...], shape: tuple[int, int]) -> FiberResult:
    """The graded fibre nearest the middle of a frame of ``shape`` (height, width)."""
    return _nearest(fibers, shape, lambda f: f.center_px)


def _nearest(
    items: Sequence[_T], shape: tuple[int, int], where: Callable[[_T], tuple[float, float]]
) -> _T:
    h, w = shape
    mid = ((w - 1) / 2.0, (h - 1) / 2.0)
    return min(items, key=lambda it: math.dist(where(it), mid))


def _image_problem(
    loc: Location,
    fibers: list[Circle],
    scale: float,
    ruleset: RuleSet,
    blur_um: float,
    coarsest_um: float,
) -> str | None:
    if coarsest_um > ruleset.max_um_per_px * (1 + 1e-9):
        return (
            f"image scale {coarsest_um:.3g} um/px is coarser than the {ruleset.max_um_per_px:g} "
            f"um/px that rule set {ruleset.name} needs: use a higher magnification"
        )
    if loc.scale_source == "given":
        measured = float(np.median([c.diameter for c in fibers])) * scale
        if abs(measured / CLADDING_DIAMETER_UM - 1.0) > SCALE_TOLERANCE:
            return (
                f"the cladding measures {measured:.0f} um at the given {scale:.4g} um/px "
                f"(expected {CLADDING_DIAMETER_UM:g} um): check the probe's scale calibration"
            )
    if blur_um > ruleset.max_blur_um:
        return (
            f"image out of focus: the cladding edge is blurred over {blur_um:.2f} um "
            f"(at most {ruleset.max_blur_um:g} um for rule set {ruleset.name}): refocus"
        )
    return None
