"""Region defects: particles, pits, chips, residue.

Pixels that depart from the clean-face model by more than the local noise
allows are grouped (hysteresis: a confident seed, grown over weaker pixels).
Each group is then measured where its own contrast falls to half, so that a
faint smear and a black particle are both sized at their true edge rather
than at the detection threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from statistics import NormalDist

import cv2
import numpy as np

from grading.background import Background
from grading.labels import components
from grading.robust import mad, median

SMEAR_GAIN = 0.35
SEED_SIGMA = 6.0  # a real defect in zones A-B is far above this; noise almost never
GROW_SIGMA = 3.0


@dataclass(frozen=True)
class Region:
    """A measured blob, in ROI pixel coordinates."""

    center_px: tuple[float, float]
    diameter_px: float  # smallest enclosing circle of the blob's half-contrast area
    r_min_px: float  # nearest and farthest extent from the fibre centre
    r_max_px: float
    length_px: float  # along its major axis
    width_px: float  # mean width across it
    axis: tuple[float, float]  # unit vector of the major axis
    mask_bbox: tuple[int, int, int, int]  # x, y, w, h
    mask: np.ndarray  # bool, over mask_bbox: the half-contrast pixels

    @property
    def elongation(self) -> float:
        return self.length_px / max(self.width_px, 1e-6)


def find_regions(
    bg: Background,
    search_radius_px: float,
    min_area_px: float,
    smear_px: float = 0.0,
    saturated: np.ndarray | None = None,
    raw_residual: np.ndarray | None = None,
    raw_psf_px: float = 1.0,
    max_regions: int = 400,
) -> list[Region]:
    """Blobs within ``search_radius_px`` of the fibre centre.

    Two looks: pixel by pixel, and smoothed over ``smear_px`` for residue that is
    faint at every pixel but large (its noise drops with smoothing, an edge's
    model error does not). ``saturated`` marks pixels the camera clipped: a
    clipped blob's contrast is unknown, and is recovered from the shape of its
    edge on the unsmoothed ``raw_residual`` (see ``_clipped_excess``).
    """
    residual, sigma, radius_px = bg.residual, bg.sigma, bg.radius_px
    inside = radius_px <= search_radius_px
    z = np.abs(residual) / sigma
    found = _look(z, inside, residual, sigma, radius_px, min_area_px, max_regions, None)
    if saturated is not None and raw_residual is not None:
        found = [
            (
                _measure_clipped(r, i, lab, st, saturated, raw_residual, radius_px, raw_psf_px),
                i,
                lab,
                st,
            )
            for r, i, lab, st in found
        ]
    regions = [r for r, *_ in found]
    if smear_px >= 1.0:
        regions += _faint_smears(bg, inside, regions, smear_px, min_area_px, max_regions)
    return regions


# A measured region with its label, the label image and the component stats it came from.
_Found = tuple["Region", int, np.ndarray, np.ndarray]


def _look(
    z: np.ndarray,
    inside: np.ndarray,
    residual: np.ndarray,
    sigma: np.ndarray,
    radius_px: np.ndarray,
    min_area_px: float,
    max_regions: int,
    exclude: np.ndarray | None,
) -> list[_Found]:
    """Hysteresis components of one z map, measured on the matching residual."""
    seeds = (z > SEED_SIGMA) & inside
    if exclude is not None:
        seeds &= ~exclude
    if not seeds.any():  # the common case on a clean face: nothing to label
        return []
    grow = (z > GROW_SIGMA) & inside
    n, labels, stats = components(grow)
    if n <= 1:
        return []
    seeded = np.zeros(n, bool)
    seeded[np.unique(labels[seeds])] = True
    seeded[0] = False
    if exclude is not None:
        seeded[np.unique(labels[exclude & grow])] = False
    candidates = [i for i in range(1, n) if seeded[i] and stats[i, cv2.CC_STAT_AREA] >= min_area_px]
    # The biggest first: if a face is so dirty that there are more blobs than we
    # measure, the ones that decide the verdict are measured.
    candidates.sort(key=lambda i: -stats[i, cv2.CC_STAT_AREA])
    out: list[_Found] = []
    for i in candidates[:max_regions]:
        region = _measure(i, labels, stats, residual, sigma, radius_px, min_area_px)
        if region is not None:
            out.append((region, i, labels, stats))
    return out


def _measure(
    label: int,
    labels: np.ndarray,
    stats: np.ndarray,
    residual: np.ndarray,
    sigma: np.ndarray,
    radius_px: np.ndarray,
    min_area_px: float,
) -> Region | None:
    x, y, w, h = (int(v) for v in stats[label, :4])
    sl = (slice(y, y + h), slice(x, x + w))
    comp = labels[sl] == label
    res = residual[sl]
    # Measure on the dominant polarity: a dark particle's bright halo is not the particle.
    signed = np.where(comp, res, 0.0)
    dark = -signed[signed < 0].sum()
    bright = signed[signed > 0].sum()
    mag = -res if dark >= bright else res
    inside = comp & (mag > 0)
    if not inside.any():
        return None
    values = mag[inside]
    k = min(len(values) - 1, int(0.9 * len(values)))
    peak = float(np.partition(values, k)[k])  # the 90th percentile
    level = max(0.5 * peak, GROW_SIGMA * median(sigma[sl][inside]))
    half = inside & (mag >= level)
    if half.sum() < max(1.0, min_area_px * 0.5):
        return None
    ys, xs = np.nonzero(half)
    return region_from_pixels(xs + x, ys + y, radius_px)


def _measure_clipped(
    region: Region,
    label: int,
    labels: np.ndarray,
    stats: np.ndarray,
    saturated: np.ndarray,
    raw_residual: np.ndarray,
    radius_px: np.ndarray,
    psf_px: float,
) -> Region:
    """Size a blob the camera clipped, from its unsmoothed edge."""
    x, y, w, h = (int(v) for v in stats[label, :4])
    sl = (slice(y, y + h), slice(x, x + w))
    comp = labels[sl] == label
    clipped = saturated[sl] & comp
    if clipped.sum() < 3:
        return region
    raw = raw_residual[sl]
    polarity = 1.0 if median(raw[clipped]) >= 0 else -1.0
    mag = raw * polarity
    clip_level = median(mag[clipped])
    half = comp & (mag >= clip_level / 2.0)
    ys, xs = np.nonzero(half)
    if len(xs) < 3:
        return region
    measured = region_from_pixels(xs + x, ys + y, radius_px)
    excess = _clipped_excess(float(clipped.sum()), float(half.sum()), psf_px)
    return replace(measured, diameter_px=max(1.0, measured.diameter_px - 2.0 * excess))


def _clipped_excess(area_clipped: float, area_half: float, psf_px: float) -> float:
    """How far a clipped blob's half-of-clip outline lies outside its true edge.

    A blurred edge of contrast A clipped at C: the clip boundary and the C/2
    outline are apart by sigma * (inv_cdf(u) - inv_cdf(u / 2)) with u = C / A,
    and the true (A/2) edge lies sigma * -inv_cdf(u / 2) inside the C/2 outline.
    The gap is measured from the two areas; u follows, then the excess.
    """
    if psf_px <= 0.05:
        return 0.0
    gap = (np.sqrt(area_half / np.pi) - np.sqrt(area_clipped / np.pi)) / psf_px
    if gap <= 0:
        return 0.0
    nd = NormalDist()
    lo, hi = 1e-6, 1.0 - 1e-9
    for _ in range(60):
        u = (lo + hi) / 2.0
        if nd.inv_cdf(u) - nd.inv_cdf(u / 2.0) > gap:
            hi = u
        else:
            lo = u
    u = (lo + hi) / 2.0
    return float(-nd.inv_cdf(u / 2.0) * psf_px)


def region_from_pixels(xs: np.ndarray, ys: np.ndarray, radius_px: np.ndarray) -> Region:
    """Measure a set of pixels (ROI coordinates) as one blob."""
    pts = np.stack([xs, ys], axis=1).astype(np.float32)
    (cx, cy), rad = cv2.minEnclosingCircle(pts)
    # Pixel centres sit on average half a pixel inside the true outline.
    diameter = 2.0 * float(rad) + 1.0
    rr = radius_px[ys, xs]
    length, width, axis = _shape(pts)
    x0, y0 = int(xs.min()), int(ys.min())
    mask = np.zeros((int(ys.max()) - y0 + 1, int(xs.max()) - x0 + 1), bool)
    mask[ys - y0, xs - x0] = True
    return Region(
        center_px=(float(cx), float(cy)),
        diameter_px=diameter,
        r_min_px=max(0.0, float(rr.min()) - 0.5),
        r_max_px=float(rr.max()) + 0.5,
        length_px=length,
        width_px=width,
        axis=axis,
        mask_bbox=(x0, y0, mask.shape[1], mask.shape[0]),
        mask=mask,
    )


def _shape(pts: np.ndarray) -> tuple[float, float, tuple[float, float]]:
    """Length along the major axis and mean width, from the pixel set."""
    if len(pts) < 3:
        return 1.0, 1.0, (1.0, 0.0)
    c = pts - pts.mean(axis=0)
    cov = c.T @ c / len(pts)
    _evals, evecs = np.linalg.eigh(cov)
    major = evecs[:, 1]
    proj = c @ major
    length = float(proj.max() - proj.min()) + 1.0
    width = len(pts) / length
    return length, float(width), (float(major[0]), float(major[1]))


def _wide_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian-like blur at a cost that does not grow with sigma: three box passes."""
    k = max(1, round(math.sqrt(12.0 * sigma * sigma / 3.0 + 1.0)))
    k += 1 - k % 2
    out = cv2.blur(img, (k, k))
    out = cv2.blur(out, (k, k))
    return cv2.blur(out, (k, k))


def _faint_smears(
    bg: Background,
    inside: np.ndarray,
    found: list[Region],
    smear_px: float,
    min_area_px: float,
    max_regions: int,
) -> list[Region]:
    """The second look: residue faint at every pixel but large.

    Only where the pixel look saw nothing (a smoothed blob's tail is a halo, not
    a smear). A cheap pass at half resolution decides whether to look at all;
    on most faces it finds nothing and the full look is skipped.
    """
    h, w = bg.residual.shape
    taken = np.zeros((h, w), np.uint8)
    for r in found:
        x, y, rw, rh = r.mask_bbox
        taken[y : y + rh, x : x + rw] |= r.mask
    # Where a found blob's smoothed tail reaches (about three smoothing widths),
    # worked out on a half-size grid: it only needs to be roughly right.
    hh, ww = h // 2, w // 2
    near_half = np.zeros((hh, ww), bool)
    if taken.any() and hh and ww:
        half = cv2.resize(taken[: hh * 2, : ww * 2], (ww, hh), interpolation=cv2.INTER_AREA) > 0
        far = cv2.distanceTransform((~half).astype(np.uint8), cv2.DIST_L2, 3)
        near_half = far <= 1.5 * smear_px
    if not _smear_seen(bg, inside, near_half, smear_px):
        return []
    near = None  # no blob found: nothing to keep the smoothed look away from
    if near_half.any():
        near = cv2.resize(near_half.view(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    residual = bg.residual
    smeared = _wide_blur(residual, smear_px)
    # Smoothing shrinks the noise, but not the model's small systematic errors:
    # never trust it to shrink by more than SMEAR_GAIN.
    sub = inside[::4, ::4]
    ratio = max(SMEAR_GAIN, mad(smeared[::4, ::4][sub]) / max(mad(residual[::4, ::4][sub]), 1e-9))
    sigma_s = bg.sigma_with_noise_scaled(ratio)
    z_s = np.abs(smeared) / sigma_s
    faint = _look(z_s, inside, smeared, sigma_s, bg.radius_px, min_area_px, max_regions, near)
    return [r for r, *_ in faint]


def _smear_seen(bg: Background, inside: np.ndarray, near_half: np.ndarray, smear_px: float) -> bool:
    """Whether a half-resolution smoothed look finds anything away from found blobs.

    Deliberately generous (the model part of sigma shrinks here too): it only
    decides whether to look properly.
    """
    h, w = bg.residual.shape
    hh, ww = h // 2, w // 2
    if hh < 8 or ww < 8:
        return True
    half = cv2.resize(bg.residual[: hh * 2, : ww * 2], (ww, hh), interpolation=cv2.INTER_AREA)
    sig = bg.sigma[: hh * 2 : 2, : ww * 2 : 2]
    ok = inside[: hh * 2 : 2, : ww * 2 : 2] & ~near_half
    if not ok.any():
        return False
    smeared = _wide_blur(half, smear_px / 2.0)
    ratio = max(
        SMEAR_GAIN,
        mad(smeared[::2, ::2][ok[::2, ::2]]) / max(mad(half[::2, ::2][ok[::2, ::2]]), 1e-9),
    )
    return bool(((np.abs(smeared) > 0.8 * SEED_SIGMA * ratio * sig) & ok).any())
