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

import warnings
from dataclasses import dataclass

import cv2
import numpy as np

N_ANGLES = 256
GLASS_TOLERANCE = 0.08  # a clean core departs from the glass level by less than this
GLASS_NOISE_RATIO = 1.5  # nor is any ring of the glass much noisier than the rest


@dataclass(frozen=True)
class Background:
    radius_px: np.ndarray  # distance of each pixel from the fibre centre
    model: np.ndarray  # expected clean brightness
    sigma: np.ndarray  # expected departure (one sigma) of a clean pixel: noise and model
    residual: np.ndarray  # image minus model
    sigma_noise: np.ndarray  # the camera-and-surface noise part of sigma
    sigma_model: np.ndarray  # the model's own uncertainty at sharp edges


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
    inside = cv2.warpPolar(np.ones_like(roi), (n_r, N_ANGLES), (cx, cy), n_r, flags) > 0.999
    polar = np.where(inside, polar, np.nan).astype(np.float32)
    radii = np.arange(n_r, dtype=np.float32)
    theta = np.linspace(0.0, 2.0 * np.pi, N_ANGLES, endpoint=False, dtype=np.float32)
    norm = max(r_max_px, 1.0)
    pu = (radii[None, :] * np.cos(theta)[:, None]) / norm
    pv = (radii[None, :] * np.sin(theta)[:, None]) / norm
    coef = np.zeros(5)
    for _ in range(3):
        light = _light(coef, pu, pv)
        profile = _glass_profile(polar / light, glass_radius_px)
        coef = _fit_light(polar, profile, pu, pv)
    light = _light(coef, pu, pv)
    profile = _glass_profile(polar / light, glass_radius_px)
    with np.errstate(all="ignore"):
        resid_polar = polar - profile[None, :] * light
        spread = 1.4826 * np.nanmedian(np.abs(resid_polar), axis=0)
    noise = _hold_glass_noise(_smooth_spread(_fill(spread)), glass_radius_px)
    slope = np.abs(np.gradient(profile))
    slope = np.max(np.stack([np.roll(slope, k) for k in (-1, 0, 1)]), axis=0)
    model_err = (registration_px * slope).astype(np.float32)
    ys = np.arange(h, dtype=np.float32)[:, None] - np.float32(cy)
    xs = np.arange(w, dtype=np.float32)[None, :] - np.float32(cx)
    radius = np.sqrt(xs * xs + ys * ys)
    model = np.interp(radius, radii, profile).astype(np.float32) * _light(
        coef, xs / norm, ys / norm
    )
    sigma_noise = np.interp(radius, radii, noise).astype(np.float32)
    sigma_model = np.interp(radius, radii, model_err).astype(np.float32)
    return Background(
        radius_px=radius,
        model=model,
        sigma=np.sqrt(sigma_noise**2 + sigma_model**2),
        residual=(roi - model).astype(np.float32),
        sigma_noise=sigma_noise,
        sigma_model=sigma_model,
    )


def _ring_median(polar: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rings wholly outside the image
        return _fill(np.nanmedian(polar, axis=0)).astype(np.float32)


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
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rings with no glass left
        rings = np.nanmedian(np.where(glassy, inner, np.nan), axis=0)
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


def _light(coef: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Multiplicative illumination: a tilt and a bowl over the region (kept physical)."""
    field = 1.0 + coef[0] * u + coef[1] * v + coef[2] * u * u + coef[3] * v * v + coef[4] * u * v
    return np.clip(field, 0.2, 5.0).astype(np.float32)


def _fit_light(
    polar: np.ndarray, profile: np.ndarray, pu: np.ndarray, pv: np.ndarray
) -> np.ndarray:
    """Least-squares field: polar ~ profile * (1 + terms), ignoring outliers."""
    step = 2
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
    weight = np.sqrt(np.hypot(uo, vo)[keep])
    coef, *_ = np.linalg.lstsq(design * weight[:, None], ratio[keep] * weight, rcond=None)
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
