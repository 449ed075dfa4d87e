"""What a clean end face would look like around one fibre, and how noisy it is.

An end face is built of rings (core, cladding, epoxy, ferrule), each with its
own brightness, under light that is rarely even. A single global threshold
fails on that; instead the clean face is modelled as a radial profile about
the fitted fibre centre times a smooth illumination field. The profile is the
median of each one-pixel ring (dirt is a minority of a ring), taken in polar
coordinates where a ring is a row. The noise is measured per ring too, because
ceramic grain and camera shot noise differ from ring to ring.

Inside the cladding the profile is held within a few per cent of the glass
level: in reflected light core and cladding look nearly alike, and a profile
free to follow anything would swallow a particle sitting exactly on the core
(every small ring there is covered by it), the worst false pass there is.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

N_ANGLES = 160
GLASS_TOLERANCE = 0.08  # a clean core departs from the glass level by less than this
GLASS_NOISE_RATIO = 1.5  # nor is any ring of the glass much noisier than the rest


@dataclass(frozen=True)
class Background:
    radius_px: np.ndarray  # distance of each pixel from the fibre centre
    model: np.ndarray  # expected clean brightness
    sigma: np.ndarray  # expected departure (one sigma) of a clean pixel: noise and model
    residual: np.ndarray  # image minus model
    noise_profile: np.ndarray  # per ring: the camera-and-surface noise part of sigma
    model_profile: np.ndarray  # per ring: the model's own uncertainty at sharp edges
    ring: np.ndarray  # each pixel's ring index into the profiles

    def split_sigma(self) -> tuple[np.ndarray, np.ndarray]:
        """Per pixel: (noise sigma, model sigma); only some looks need them apart."""
        return self.noise_profile[self.ring], self.model_profile[self.ring]


def fit_background(
    roi: np.ndarray,
    cx: float,
    cy: float,
    r_max_px: float,
    glass_radius_px: float,
    registration_px: float = 0.6,
) -> Background:
    """Model the clean face in ``roi`` around the fibre centre (cx, cy) in roi pixels.

    ``glass_radius_px``: where the glass ends, less the blur of its edge; the
    profile inside it is held near the glass level. ``registration_px``: how
    far the true rings may sit from the modelled ones (centre error, a slightly
    elliptical APC cladding); at a sharp edge that uncertainty, times the
    edge's slope, is added to the noise so that edges are not taken for dirt.
    """
    h, w = roi.shape
    n_r = int(np.ceil(r_max_px)) + 2
    # Without FILL_OUTLIERS, samples beyond the ROI are left uninitialised.
    flags = cv2.INTER_LINEAR | cv2.WARP_POLAR_LINEAR | cv2.WARP_FILL_OUTLIERS
    polar = cv2.warpPolar(roi, (n_r, N_ANGLES), (cx, cy), n_r, flags)
    radii = np.arange(n_r, dtype=np.float32)
    theta = np.linspace(0.0, 2.0 * np.pi, N_ANGLES, endpoint=False, dtype=np.float32)
    px = cx + radii[None, :] * np.cos(theta)[:, None]
    py = cy + radii[None, :] * np.sin(theta)[:, None]
    # Samples that fall outside the ROI (a fibre near the image border) are unknown.
    inside = (px >= 0) & (px <= w - 1) & (py >= 0) & (py <= h - 1)
    if not inside.all():
        polar = np.where(inside, polar, np.nan).astype(np.float32)
    norm = max(r_max_px, 1.0)
    pu = (px - cx) / norm
    pv = (py - cy) / norm
    # Profile under even light, the light that profile implies, the profile again.
    coef = _fit_light(polar, _glass_profile(polar, glass_radius_px), pu, pv)
    light = _light(coef, pu, pv)
    profile = _glass_profile(polar / light, glass_radius_px)
    with np.errstate(all="ignore"):
        resid_polar = polar - profile[None, :] * light
    spread = 1.4826 * column_median(np.abs(resid_polar))
    noise = _hold_glass_noise(_smooth_spread(_fill(spread)), glass_radius_px)
    slope = np.abs(np.gradient(profile))
    slope = np.max(np.stack([np.roll(slope, k) for k in (-1, 0, 1)]), axis=0)
    model_err = (registration_px * slope).astype(np.float32)
    ys = np.arange(h, dtype=np.float32)[:, None] - np.float32(cy)
    xs = np.arange(w, dtype=np.float32)[None, :] - np.float32(cx)
    radius = np.sqrt(xs * xs + ys * ys)
    idx = np.minimum(radius.astype(np.int32), n_r - 2)
    frac = np.minimum(radius - idx, 1.0)
    model = _lerp(profile, idx, frac) * _light_field(coef, h, w, cx, cy, norm)
    ring = np.minimum((radius + 0.5).astype(np.int32), n_r - 1)
    total = np.hypot(noise, model_err).astype(np.float32)
    return Background(
        radius_px=radius,
        model=model,
        sigma=total[ring],
        residual=(roi - model).astype(np.float32),
        noise_profile=noise.astype(np.float32),
        model_profile=model_err,
        ring=ring,
    )


def _lerp(profile: np.ndarray, idx: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """A radial profile read at fractional radii (linear between rings)."""
    p = profile.astype(np.float32)
    lo = p[idx]
    return lo + (p[idx + 1] - lo) * frac


def _ring_median(polar: np.ndarray) -> np.ndarray:
    return _fill(column_median(polar)).astype(np.float32)


def column_median(a: np.ndarray) -> np.ndarray:
    """Median of each column ignoring NaN (NaN where a column has none).

    Sorting puts NaN last, so the median sits in the middle of each column's
    finite count; far faster than numpy's nanmedian, which goes through
    masked arrays.
    """
    ordered = np.sort(a, axis=0)
    n = np.isfinite(a).sum(axis=0)
    lo = np.clip((n - 1) // 2, 0, a.shape[0] - 1)
    hi = np.clip(n // 2, 0, a.shape[0] - 1)
    cols = np.arange(a.shape[1])
    out = 0.5 * (ordered[lo, cols] + ordered[hi, cols])
    return np.where(n > 0, out, np.nan)


def _glass_profile(polar: np.ndarray, glass_radius_px: float) -> np.ndarray:
    """Ring medians, with the glass rings taken from glass-like samples only.

    Inside the glass a clean face departs from the glass level by a faint core
    at most; samples further off are dirt and are left out of the rings'
    medians. A ring wholly covered by dirt (a particle on the core) takes the
    glass level.
    """
    profile = _ring_median(polar)
    g = min(int(glass_radius_px), polar.shape[1])
    if g < 4:
        return profile
    level = float(np.median(profile[g // 2 : g]))
    inner = polar[:, :g]
    glassy = np.abs(inner - level) <= GLASS_TOLERANCE * abs(level)
    counts = glassy.sum(axis=0)
    rings = column_median(np.where(glassy, inner, np.nan))
    enough = counts >= 0.3 * np.isfinite(inner).sum(axis=0).clip(min=1)
    out = profile.copy()
    out[:g] = np.where(enough & np.isfinite(rings), rings, level)
    return out


def _hold_glass_noise(spread: np.ndarray, glass_radius_px: float) -> np.ndarray:
    """Noise on glass is the same all over it; a ring covered by dirt must not say otherwise."""
    g = int(glass_radius_px)
    if g < 4:
        return spread
    level = float(np.median(spread[g // 2 : g]))
    out = spread.copy()
    out[:g] = np.minimum(out[:g], GLASS_NOISE_RATIO * level)
    return out


def _light_field(coef: np.ndarray, h: int, w: int, cx: float, cy: float, norm: float) -> np.ndarray:
    """The light field over the ROI: smooth, so computed on a coarse grid and enlarged."""
    if not np.any(coef):
        return np.ones((h, w), np.float32)
    step = 8
    gy = (np.arange(0, h + step, step, dtype=np.float32) - cy) / norm
    gx = (np.arange(0, w + step, step, dtype=np.float32) - cx) / norm
    coarse = _light(coef, gx[None, :], gy[:, None])
    # Map coarse node k to pixel k * step exactly (INTER_LINEAR on a scaled grid).
    m = np.array([[1.0 / step, 0.0, 0.0], [0.0, 1.0 / step, 0.0]])
    return cv2.warpAffine(
        coarse,
        m,
        (w, h),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


def _light(coef: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Multiplicative illumination: a tilt and a bowl over the region (kept physical)."""
    field = 1.0 + coef[0] * u + coef[1] * v + coef[2] * u * u + coef[3] * v * v + coef[4] * u * v
    return np.clip(field, 0.2, 5.0).astype(np.float32)


def _fit_light(
    polar: np.ndarray, profile: np.ndarray, pu: np.ndarray, pv: np.ndarray
) -> np.ndarray:
    """Least-squares field: polar ~ profile * (1 + terms), ignoring outliers."""
    step = 3
    p = polar[::step, ::step]
    e = np.broadcast_to(profile[None, :], polar.shape)[::step, ::step]
    u, v = pu[::step, ::step], pv[::step, ::step]
    ok = np.isfinite(p) & np.isfinite(e) & (e > 0.02)
    if ok.sum() < 12:
        return np.zeros(5)
    ratio = p[ok] / e[ok] - 1.0
    uo, vo = u[ok], v[ok]
    med = np.median(ratio)
    keep = np.abs(ratio - med) < 4.0 * (np.median(np.abs(ratio - med)) * 1.4826 + 1e-4)
    if keep.sum() < 12:
        return np.zeros(5)
    design = np.stack([uo, vo, uo * uo, vo * vo, uo * vo, np.ones_like(uo)], axis=1)[keep]
    # Polar samples crowd the centre (every ring has as many as the outermost);
    # weight each by its radius, the area it stands for, or a smear on the core
    # would pass for a dip in the light.
    weight = np.hypot(uo, vo)[keep]
    # Normal equations (6 x 6): far cheaper than an SVD of thousands of rows.
    a = (design * weight[:, None]).T @ design
    b = (design * weight[:, None]).T @ ratio[keep]
    try:
        coef = np.linalg.solve(a + np.eye(6) * 1e-9, b)
    except np.linalg.LinAlgError:
        return np.zeros(5)
    if not np.all(np.isfinite(coef)):
        return np.zeros(5)
    # The constant term belongs to the profile, which is re-estimated next.
    return coef[:5]


def _smooth_spread(spread: np.ndarray) -> np.ndarray:
    """Rings a few pixels wide are noisy estimates; take the local maximum over +-2 rings."""
    n = len(spread)
    padded = np.pad(spread, 2, mode="edge")
    out = np.max(np.stack([padded[i : i + n] for i in range(5)]), axis=0)
    floor = 0.5 * float(np.median(spread))
    return np.maximum(out, max(floor, 1e-4)).astype(np.float32)


def _fill(profile: np.ndarray) -> np.ndarray:
    bad = ~np.isfinite(profile)
    if not bad.any():
        return profile
    if bad.all():
        return np.zeros_like(profile)
    idx = np.arange(len(profile))
    out = profile.copy()
    out[bad] = np.interp(idx[bad], idx[~bad], profile[~bad])
    return out
