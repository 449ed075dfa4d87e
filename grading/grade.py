"""grade(image, connector, rules): the one entry point from pixels to verdicts.

Usage errors (an unknown connector, a rules file that does not load, rules
that do not fit the connector) raise, because nothing can be graded until they
are fixed. Everything that is wrong with an *image* becomes a result with
verdict ``error`` and the reason, so a batch goes on with the other images.
A verdict is never ``pass`` unless every fibre was actually judged.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from grading.fiber import grade_fiber
from grading.geometry import CLADDING_DIAMETER_UM, ConnectorGeometry, connector
from grading.image_io import ImageError, normalise, read_image, to_gray
from grading.locate import Circle, Location, locate
from grading.results import ERROR, FAIL, PASS, EndFaceResult, FiberResult
from grading.rules import RuleSet, load_rules

SCALE_TOLERANCE = 0.08  # measured cladding vs the given scale before calibration is doubted
SATURATED = 1.0 - 0.5 / 255.0  # at the top of the sensor's range


class GradingUsageError(ValueError):
    """The request itself cannot be graded (wrong connector, rules, or pairing)."""


def grade(
    image: np.ndarray | str | Path,
    connector: str,
    rules: str | Path | RuleSet,
    um_per_px: float | None = None,
    image_name: str | None = None,
) -> EndFaceResult:
    """Grade one end-face image against a rule set; see DESIGN.md section 5."""
    geometry, ruleset = resolve(connector, rules)
    if um_per_px is not None and not (math.isfinite(um_per_px) and um_per_px > 0):
        raise GradingUsageError(f"um_per_px must be a positive number, got {um_per_px!r}")
    name = (
        image_name
        if image_name is not None
        else (str(image) if isinstance(image, str | Path) else None)
    )
    base = dict(
        rules=ruleset.name, connector=geometry.name, image=name, rules_sha256=ruleset.sha256
    )
    try:
        raw = read_image(image) if isinstance(image, str | Path) else image
        linear = to_gray(raw)
        gray = normalise(linear)
    except ImageError as exc:
        return EndFaceResult(verdict=ERROR, um_per_px=um_per_px, error=str(exc), **base)
    return grade_array(gray, geometry, ruleset, um_per_px, base, saturated=linear >= SATURATED)


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
    if geometry.polish and ruleset.polish and geometry.polish != ruleset.polish:
        raise GradingUsageError(
            f"connector {geometry.name} is {geometry.polish.upper()}-polished but rule set "
            f"{ruleset.name} is for {ruleset.polish.upper()} end faces"
        )
    return geometry, ruleset


def grade_array(
    gray: np.ndarray,
    geometry: ConnectorGeometry,
    ruleset: RuleSet,
    um_per_px: float | None,
    base: dict,
    saturated: np.ndarray | None = None,
) -> EndFaceResult:
    """Grade a normalised float32 image (see ``image_io.normalise``).

    ``saturated`` marks the pixels the camera clipped, whose true brightness is unknown.
    """
    loc = locate(gray, um_per_px)
    fibers = list(loc.fibers)
    if not fibers:
        reason = "no fibre found fully inside the image"
        if loc.partial:
            reason += f" ({loc.partial} cut by the image border: centre the fibre in view)"
        return EndFaceResult(verdict=ERROR, um_per_px=loc.um_per_px, error=reason, **base)
    if not geometry.is_multi_fiber:
        h, w = gray.shape
        fibers = [min(fibers, key=lambda c: math.hypot(c.cx - w / 2.0, c.cy - h / 2.0))]
    scale = float(loc.um_per_px)
    blur_um = float(np.median([c.blur_px for c in fibers])) * scale
    common = dict(base, um_per_px=scale, scale_source=loc.scale_source, edge_blur_um=blur_um)
    problem = _image_problem(loc, fibers, scale, ruleset, blur_um)
    if problem is not None:
        located = tuple(
            FiberResult(
                index=i,
                center_px=(c.cx, c.cy),
                diameter_px=c.diameter,
                verdict=ERROR,
                error=problem,
            )
            for i, c in enumerate(fibers, start=1)
        )
        return EndFaceResult(verdict=ERROR, fibers=located, error=problem, **common)
    zones = ruleset.zones_for(geometry.is_multi_fiber)
    results = tuple(
        grade_fiber(gray, c, i, scale, ruleset, zones, saturated)
        for i, c in enumerate(fibers, start=1)
    )
    if any(f.verdict == ERROR for f in results):
        verdict = ERROR
        error = "; ".join(f"fibre {f.index}: {f.error}" for f in results if f.error)
        return EndFaceResult(verdict=verdict, fibers=results, error=error, **common)
    verdict = FAIL if any(f.verdict == FAIL for f in results) else PASS
    return EndFaceResult(verdict=verdict, fibers=results, **common)


def _image_problem(
    loc: Location, fibers: list[Circle], scale: float, ruleset: RuleSet, blur_um: float
) -> str | None:
    if scale > ruleset.max_um_per_px * (1 + 1e-9):
        return (
            f"image scale {scale:.3g} um/px is coarser than the {ruleset.max_um_per_px:g} um/px "
            f"that rule set {ruleset.name} needs: use a higher magnification"
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
