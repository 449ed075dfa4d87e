"""Scale calibration of a probe and tip from a reference image of a known end face.

Nothing is measured here that grading does not already measure: the image is
read and normalised as for grading and ``grading.locate`` finds the claddings.
The scale then comes from the two dimensions every end face carries: the
250 um pitch of an MT ferrule where several fibres of a row are in view (a
long, sharp-edged distance, so the better measure) and otherwise the 125 um
cladding. Where both are available they must agree: a disagreement means the
image is not of the connector chosen (or not a standard 125 um fibre), and a
wrong calibration would silently misgrade every end after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grading.geometry import CLADDING_DIAMETER_UM, MT_PITCH_UM, connector
from grading.image_io import ImageError, normalise, read_image, to_gray
from grading.locate import estimate_scale, locate
from grading.pixels import SQUARE_TOLERANCE
from hardware.focus import focus_score
from qa_station.config import tip_for

MAX_DISAGREEMENT = 0.05  # pitch against cladding scale before the image is refused
MIN_EDGE_SUPPORT = 0.9  # share of the cladding edge that must be clear (locate's support)
MIN_CLADDING_PX = 24.0  # smaller claddings cannot be measured to 1 %


class CalibrationError(ValueError):
    """A reference image that cannot calibrate, with what to do about it."""


@dataclass(frozen=True)
class ScaleCalibration:
    connector: str
    tip: str  # the probe tip this connector needs ("mpo", "lc", "sc")
    um_per_px: float  # the result
    source: str  # "pitch" (250 um MT pitch) or "cladding" (125 um cladding)
    fibres: int  # fibres fully in view and measured
    cladding_px: tuple[float, ...]  # measured cladding diameter of each, reading order
    pitch_px: float | None  # mean fibre spacing along the rows, when several are in view
    cladding_um_per_px: float  # the scale from the cladding alone (a cross-check)
    image_size_px: tuple[int, int]  # width, height
    focus_score: float  # sharpness of the reference image (hardware.focus)
    # Vertical scale, when the claddings are ellipses (pixels not square); None: square.
    um_per_px_y: float | None = None

    @property
    def cladding_median_px(self) -> float:
        return float(np.median(self.cladding_px))

    @property
    def field_of_view_um(self) -> tuple[float, float]:
        w, h = self.image_size_px
        return w * self.um_per_px, h * (self.um_per_px_y or self.um_per_px)


def calibrate_from_image(image: str | Path | np.ndarray, connector_name: str) -> ScaleCalibration:
    """Measure um/px on a reference image of a clean end face of ``connector_name``."""
    geometry = connector(connector_name)  # UnknownConnectorError names the known types
    try:
        raw = read_image(image) if isinstance(image, str | Path) else image
        linear = to_gray(raw)
        gray = normalise(linear)
    except ImageError as exc:
        where = f"{image}: " if isinstance(image, str | Path) else ""
        raise CalibrationError(f"{where}{exc}") from None
    height, width = gray.shape
    # Both axes are measured: the cladding of a frame whose pixels are not square
    # (analog video) is an ellipse, and its shape is the pixels' shape.
    loc = locate(gray, measure_aspect=True)
    # A reference must show whole, clean cladding edges big enough to measure to a fraction
    # of a percent; anything else locate found (grain, glints, a cut fibre) is left out.
    keep = [
        i
        for i, c in enumerate(loc.fibers)
        if c.support >= MIN_EDGE_SUPPORT and c.diameter >= MIN_CLADDING_PX
    ]
    if not keep:
        if loc.partial and not loc.fibers:
            raise CalibrationError(
                "the fibre is cut by the image border: centre a whole fibre in view and try again"
            )
        raise CalibrationError(
            "no fibre found in the image: use a sharp, evenly lit image of a clean end face "
            f"with at least one whole fibre in view, its cladding {MIN_CLADDING_PX:.0f} px "
            "across or more (the probe's inspection magnification)"
        )
    fibres = [loc.fibers[i] for i in keep]
    if not geometry.is_multi_fiber and len(fibres) > 1:
        raise CalibrationError(
            f"the image shows {len(fibres)} fibres but a {connector_name} ferrule holds one: "
            "choose the connector the reference image shows"
        )
    renumber = {old: new for new, old in enumerate(keep)}
    rows = tuple(
        row for row in (tuple(renumber[i] for i in r if i in renumber) for r in loc.rows) if row
    )
    diameters = tuple(float(c.diameter) for c in fibres)
    from_cladding = CLADDING_DIAMETER_UM / float(np.median(diameters))
    scale, source = estimate_scale(fibres, rows)
    if geometry.is_multi_fiber and source == "pitch" and scale:
        pitch_px = MT_PITCH_UM / scale
        disagreement = abs(from_cladding / scale - 1.0)
        if disagreement > MAX_DISAGREEMENT:
            raise CalibrationError(
                f"the spacing of what was found gives {scale:.4f} um/px but its diameter gives "
                f"{from_cladding:.4f} um/px ({disagreement:.0%} apart): these are not 125 um "
                "fibres on a 250 um pitch (guide pins of an overview?); use a view of the fibres "
                "at the probe's inspection magnification"
            )
    else:
        scale, source, pitch_px = from_cladding, "cladding", None
    return ScaleCalibration(
        connector=connector_name,
        tip=tip_for(connector_name),
        um_per_px=scale,
        source=source,
        fibres=len(fibres),
        cladding_px=diameters,
        pitch_px=pitch_px,
        cladding_um_per_px=from_cladding,
        image_size_px=(int(width), int(height)),
        focus_score=float(focus_score(linear)),
        um_per_px_y=None if abs(loc.aspect - 1.0) <= SQUARE_TOLERANCE else scale / loc.aspect,
    )
