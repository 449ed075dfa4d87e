"""Dirt on the probe itself: a smudge on the lens or tip window, fixed in the frame.

Whatever end face is under the probe, the smudge darkens the same pixels at
the same size: that is what tells it from dirt on a connector (which moves
with its fibre as the fixture lands each one a little differently). Cleaning
the probe tip removes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hardware.optics.render import feature_layer
from hardware.optics.scene import Feature, View


@dataclass(frozen=True)
class LensSmudge:
    center_px: tuple[float, float]  # where it sits in the frame
    size_px: float  # its smallest enclosing circle, in pixels
    contrast: float = -0.5
    seed: int = 0

    def layer(self, width_px: int, height_px: int) -> np.ndarray:
        """The factor it multiplies a frame of this size by."""
        view = View(
            center_um=((width_px - 1) / 2.0, (height_px - 1) / 2.0),
            um_per_px=1.0,
            width_px=width_px,
            height_px=height_px,
        )
        blob = Feature("particle", self.center_px, self.size_px, self.contrast, seed=self.seed)
        return feature_layer(view, blob)
