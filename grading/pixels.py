"""Pixels that are not square, made square for grading and mapped back for the result.

Analog video captures (720x576, 720x480) have pixels about 7 % wider or taller
than square, so a round cladding is an ellipse and a distance in pixels means
different micrometres across and down. Rather than carry two scales through
every detector, the frame is resampled along y to the x scale before anything
is measured; sizes and zones are then micrometres in both directions. Every
position in the result is given back in the frame's own pixels, so overlays
land where the operator sees them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from grading.results import Defect, FiberResult

SQUARE_TOLERANCE = 0.015  # an aspect closer to 1 than this is taken as square


def scale_pair(um_per_px: float | tuple[float, float] | None) -> tuple[float, float] | None:
    """(x, y) um per pixel from a number (square pixels) or a pair; None when not given.

    Raises ValueError for anything but positive finite numbers.
    """
    if um_per_px is None:
        return None
    if isinstance(um_per_px, tuple | list):
        if len(um_per_px) != 2:
            raise ValueError(f"um_per_px must be a number or an (x, y) pair, got {um_per_px!r}")
        pair = (um_per_px[0], um_per_px[1])
    else:
        pair = (um_per_px, um_per_px)
    for v in pair:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"um_per_px must be a positive number, got {um_per_px!r}")
    return float(pair[0]), float(pair[1])


@dataclass(frozen=True)
class Squared:
    """A frame resampled to square pixels, and the way back to the frame's pixels."""

    image: np.ndarray
    saturated: np.ndarray | None
    rows_per_row: float  # frame rows per square-pixel row (1.0: nothing was done)

    @property
    def unchanged(self) -> bool:
        return self.rows_per_row == 1.0

    def to_frame(self, p: tuple[float, float]) -> tuple[float, float]:
        return (p[0], (p[1] + 0.5) * self.rows_per_row - 0.5)

    def fibre_to_frame(self, f: FiberResult) -> FiberResult:
        if self.unchanged:
            return f
        return replace(
            f,
            center_px=self.to_frame(f.center_px),
            diameter_px_y=f.diameter_px * self.rows_per_row,
            defects=tuple(self._defect(d) for d in f.defects),
        )

    def _defect(self, d: Defect) -> Defect:
        ends = (
            None
            if d.ends_px is None
            else (self.to_frame(d.ends_px[0]), self.to_frame(d.ends_px[1]))
        )
        return replace(d, center_px=self.to_frame(d.center_px), ends_px=ends)


def square(image: np.ndarray, saturated: np.ndarray | None, x_um: float, y_um: float) -> Squared:
    """Resample rows so that a pixel is ``x_um`` high as it is wide."""
    ratio = y_um / x_um
    if abs(ratio - 1.0) <= SQUARE_TOLERANCE:
        return Squared(image, saturated, 1.0)
    h, w = image.shape
    new_h = max(1, round(h * ratio))
    interp = cv2.INTER_AREA if new_h < h else cv2.INTER_LINEAR
    out = cv2.resize(image, (w, new_h), interpolation=interp)
    sat = None
    if saturated is not None:
        sat = (
            cv2.resize(saturated.astype(np.uint8), (w, new_h), interpolation=cv2.INTER_NEAREST) > 0
        )
    return Squared(out, sat, h / new_h)
