"""The simulated probe's optics: deterministic, and its truth matches what it draws."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from grading.geometry import CONNECTORS, connector
from hardware.optics.render import render, render_optical
from hardware.optics.scene import Feature, View, scene_from_layout


def test_the_same_scene_and_seed_render_the_same_frame():
    scene = scene_from_layout(connector("lc-upc"), features=(Feature("particle", (10, 10), 4.0),))
    a = render(scene, View(), seed=3).image
    b = render(scene, View(), seed=3).image
    c = render(scene, View(), seed=4).image
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)  # fresh sensor noise


@pytest.mark.parametrize("name", sorted(CONNECTORS))
def test_truth_places_every_fibre_where_the_layout_says(name):
    g = connector(name)
    frame = render(scene_from_layout(g), View(um_per_px=5.0, width_px=1400, height_px=800))
    assert len(frame.truth.fibers) == g.fiber_count
    for fibre, (x, y) in zip(frame.truth.fibers, g.fiber_positions_um, strict=True):
        assert fibre.center_px == pytest.approx((x / 5.0 + 699.5, y / 5.0 + 399.5))
        assert fibre.diameter_px == pytest.approx(25.0)


def test_a_blob_outline_has_the_requested_enclosing_diameter():
    for kind in ("particle", "pit", "chip", "residue"):
        f = Feature(kind, (5.0, -3.0), 7.5, seed=11)
        (cx, cy), r = cv2.minEnclosingCircle(f.outline_um().astype(np.float32))
        assert 2 * r == pytest.approx(7.5, abs=0.02)
        assert math.dist((cx, cy), (5.0, -3.0)) < 0.05


def test_a_drawn_particle_darkens_the_face_by_its_contrast():
    g = connector("lc-upc")
    clean = render_optical(scene_from_layout(g), View(blur_um=0.0))
    dirty = render_optical(
        scene_from_layout(
            g, features=(Feature("particle", (20.0, 0.0), 8.0, contrast=-0.5, seed=1),)
        ),
        View(blur_um=0.0),
    )
    x, y = round(639.5 + 20 / 0.3125), round(479.5)
    assert dirty[y, x] == pytest.approx(clean[y, x] * 0.5, rel=0.02)
    assert np.count_nonzero(np.abs(dirty - clean) > 1e-4) == pytest.approx(
        math.pi * (4.0 / 0.3125) ** 2, rel=0.35
    )


def test_texture_is_anchored_to_the_ferrule_not_the_pixels():
    scene = scene_from_layout(connector("mpo12"))
    a = render_optical(scene, View(center_um=(-375.0, 0.0), blur_um=0.0))
    b = render_optical(scene, View(center_um=(-375.0 + 31.25, 0.0), blur_um=0.0))  # 100 px right
    assert np.allclose(a[:, 100:400], b[:, 0:300], atol=1e-4)


def test_feature_values_are_checked():
    with pytest.raises(ValueError, match="unknown feature kind"):
        Feature("smudge", (0, 0), 3.0)
    with pytest.raises(ValueError, match="positive"):
        Feature("particle", (0, 0), -1.0)
