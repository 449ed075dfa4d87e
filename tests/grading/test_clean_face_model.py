"""The clean-face model and the scratch finder on faces built pixel by pixel.

Each case is a face whose clean look is known exactly, so the model can be
held to it: light that a contrast stretch made uneven in an affine way, a
scratch across a small bright core, two scratches crossing.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from grading.background import Rings, fit_background
from grading.scratches import find_lines

H = W = 241
CX = CY = 120.0


def _radius(cx: float = CX, cy: float = CY) -> np.ndarray:
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    return np.hypot(xs - cx, ys - cy)


def _bar(angle_deg: float, through: tuple[float, float], width_px: float) -> np.ndarray:
    """Coverage (0..1) of a straight bar ``width_px`` wide, anti-aliased."""
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    a = math.radians(angle_deg)
    d = np.abs(-(xs - through[0]) * math.sin(a) + (ys - through[1]) * math.cos(a))
    return np.clip(width_px / 2.0 - d + 0.5, 0.0, 1.0)


def test_light_on_a_frame_stretched_from_its_darkest_pixels_is_modelled_not_left_as_dirt():
    r = _radius()
    face = np.where(r < 40, 0.55, np.where(r < 100, 0.22, 0.7)).astype(np.float32)
    face = cv2.GaussianBlur(face, (0, 0), 1.0)
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    # A strong tilt and vignetting round a point far off the fibre (it sits near the
    # frame's corner), then the stretch that takes the black level away.
    u, v = (xs + 300) / 700.0, (ys + 200) / 700.0
    light = (1.0 + 0.25 * (u - v)) * (1.0 - 0.2 * (u * u + v * v) / 2.0)
    seen = (face * light - 0.18) / 0.8
    rng = np.random.default_rng(3)
    image = (seen + rng.normal(0, 0.003, seen.shape)).astype(np.float32)
    bg = fit_background(image, CX, CY, 115.0, 96.0, rings=Rings(edges=((40.0, 3.0),)))
    z = bg.residual / bg.sigma
    inside = (r < 94) & (np.abs(r - 40) > 3)
    # Nothing left that region finding would take for a faint stain.
    assert np.abs(cv2.GaussianBlur(z, (0, 0), 3.0)[inside]).max() < 1.2


def test_a_scratch_across_a_small_bright_core_leaves_the_core_at_its_own_level():
    r = _radius()
    face = np.where(r < 10.8, 0.92, 0.54).astype(np.float32)
    face = cv2.GaussianBlur(face, (0, 0), 1.0)
    bar = cv2.GaussianBlur(_bar(80.0, (CX - 3.0, CY), 4.0), (0, 0), 1.0)
    image = face * (1.0 - 0.55 * bar)
    image += np.random.default_rng(4).normal(0, 0.004, image.shape).astype(np.float32)
    bg = fit_background(
        image, CX, CY, 60.0, 55.0, rings=Rings(edges=((10.8, 2.8),)), hold_radius_px=29.0
    )
    core = (r < 6.0) & (bar < 0.01)
    assert abs(float(np.median(bg.model[core])) - 0.92) < 0.03
    # So the scratch is all the residual holds there: no core-sized blob beside it.
    assert np.abs(bg.residual[core]).max() < 0.05


def test_crossing_scratches_are_two_lines_each_at_its_own_width_and_angle():
    um_per_px = 0.62
    bars = [(72.0, 2.1 / um_per_px), (114.0, 2.3 / um_per_px)]
    residual = np.zeros((H, W), np.float32)
    for angle, width in bars:
        cut = _bar(angle, (CX, CY), width) * (_radius() < 55)
        residual -= 0.3 * cut
    residual = cv2.GaussianBlur(residual, (0, 0), 1.5)
    residual += np.random.default_rng(5).normal(0, 0.01, residual.shape).astype(np.float32)
    sigma = np.full_like(residual, 0.01)
    lines = find_lines(residual, sigma, _radius(), 100.0, um_per_px, 1.5)
    assert len(lines) == 2
    for line in lines:
        dx, dy = np.subtract(line.end_px, line.start_px)
        angle = math.degrees(math.atan2(dy, dx)) % 180.0
        want_angle, want_width = min(bars, key=lambda b: abs(b[0] - angle))
        assert abs(angle - want_angle) < 2.0
        assert abs(line.width_px - want_width) * um_per_px < 0.3


def _region_of(mask: np.ndarray):
    from grading.regions import region_from_pixels

    ys, xs = np.nonzero(mask)
    return region_from_pixels(xs, ys, _radius())


def test_two_particles_merged_on_a_coarse_copy_are_beads_and_a_broken_scratch_is_not():
    from grading.fiber import _beaded

    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    beads = (np.hypot(xs - 100, ys - 120) < 8) | (np.hypot(xs - 122, ys - 120) < 7)
    beads |= (np.abs(ys - 120) <= 0.5) & (xs > 100) & (xs < 122)  # the neck the copy made
    assert _beaded(_region_of(beads))
    # A scratch 4 px wide in two long pieces, joined where its break was bridged.
    bar = (np.abs(ys - 120) <= 2) & (xs > 60) & (xs < 180)
    broken = bar & ~((xs > 115) & (xs < 125)) | ((np.abs(ys - 120) <= 0.5) & (xs > 60) & (xs < 180))
    assert not _beaded(_region_of(broken))
