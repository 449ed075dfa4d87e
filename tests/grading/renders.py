"""Rendered end faces for grading tests: the simulated probe's optics with truth."""

from __future__ import annotations

import numpy as np

from grading.geometry import connector
from hardware.optics.render import RenderedFrame, render
from hardware.optics.scene import Feature, View, scene_from_layout

SCALE = 0.3125  # um/px of the simulated 400x probe at 1280 x 960


def face(
    conn: str = "lc-upc",
    features: tuple[Feature, ...] = (),
    fiber: str = "sm",
    fibre_index: int = 0,
    seed: int = 1,
    **view: object,
) -> RenderedFrame:
    """One end face seen centred on fibre ``fibre_index`` of the connector."""
    geometry = connector(conn)
    centre = geometry.fiber_positions_um[fibre_index]
    scene = scene_from_layout(geometry, fiber, features, texture_seed=seed)
    params = {"center_um": centre, "um_per_px": SCALE}
    params.update(view)
    return render(scene, View(**params), seed=seed)


def ring(n: int, radius_um: float, size_um: float, centre=(0.0, 0.0), contrast=-0.5) -> tuple:
    """``n`` particles of one size evenly spread on a circle around the fibre."""
    out = []
    for i in range(n):
        a = 2 * np.pi * i / n + 0.3
        out.append(
            Feature(
                "particle",
                (centre[0] + radius_um * np.cos(a), centre[1] + radius_um * np.sin(a)),
                size_um,
                contrast=contrast,
                seed=i + 10,
            )
        )
    return tuple(out)
