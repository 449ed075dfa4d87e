"""Circular edges seen along rays from a centre: what every boundary of a fibre is made of.

A cladding, a core, the adhesive ring and the ferrule bore are all closed circles
round (nearly) one centre. Sampled along rays from that centre, each becomes a
step at the same radius on every ray, falling (brighter inside) or rising
(darker inside). One ray sampler and one edge picker serve the locator, the
search for a fibre's concentric structure and the background model, so that a
fibre is measured the same way wherever it is measured.

Polarity is never assumed: a fibre may be brighter than its ferrule (ceramic
under diffuse light) or darker (zirconia under coaxial light), and a core may
be either against its cladding.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from grading.robust import median, medians

BRIGHTER_INSIDE = 1
DARKER_INSIDE = -1


@dataclass(frozen=True)
class RayProfile:
    """Brightness along ``n`` rays at ``radii`` from (cx, cy), smoothed and differentiated."""

    cx: float
    cy: float
    radii: np.ndarray  # (m,) px
    step: float  # px between samples
    cos: np.ndarray  # (n,) direction of each ray, times its stretch
    sin: np.ndarray  # (n,)
    values: np.ndarray  # (n, m), smoothed along each ray
    deriv: np.ndarray  # (n, m), d(values)/d(radius), per px
    valid: np.ndarray  # (n,) bool: the ray lies wholly inside the image

    def at(self, idx: np.ndarray, offset: np.ndarray | float = 0.0) -> np.ndarray:
        """Radius (px) of sample ``idx`` on each ray, plus a fraction of a step."""
        r: np.ndarray = self.radii[idx] + np.asarray(offset) * self.step
        return r


def sample_rays(
    image: np.ndarray,
    cx: float,
    cy: float,
    r_lo: float,
    r_hi: float,
    n_rays: int,
    max_samples: int = 96,
    smooth_px: float = 1.0,
    aspect: float = 1.0,
) -> RayProfile:
    """Sample ``n_rays`` rays between radii ``r_lo`` and ``r_hi`` (px).

    ``aspect`` (vertical over horizontal radius) samples an ellipse's rings
    instead of a circle's: radii are then horizontal radii, and each ray is
    stretched to meet the ellipse of that horizontal radius.
    """
    h, w = image.shape
    r_lo = max(0.0, r_lo)
    step = max(0.25, (r_hi - r_lo) / max_samples)
    radii = np.arange(r_lo, r_hi + step, step, dtype=np.float32)
    if len(radii) < 8:
        radii = np.linspace(r_lo, r_hi, 8, dtype=np.float32)
        step = float(radii[1] - radii[0]) or 0.25
    cos_t, sin_t = directions(n_rays)
    if aspect != 1.0:
        stretch = 1.0 / np.sqrt(cos_t * cos_t + (sin_t / np.float32(aspect)) ** 2)
        cos_t, sin_t = cos_t * stretch, sin_t * stretch
    map_x = (np.float32(cx) + radii[None, :] * cos_t[:, None]).astype(np.float32)
    map_y = (np.float32(cy) + radii[None, :] * sin_t[:, None]).astype(np.float32)
    prof = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    k = max(0.6, smooth_px / step)
    prof = cv2.GaussianBlur(prof, (0, 0), sigmaX=k, sigmaY=0.01)
    deriv = np.empty_like(prof)
    deriv[:, 1:-1] = (prof[:, 2:] - prof[:, :-2]) / np.float32(2.0 * step)
    deriv[:, 0] = deriv[:, 1]
    deriv[:, -1] = deriv[:, -2]
    end_x, end_y = map_x[:, -1], map_y[:, -1]
    start_x, start_y = map_x[:, 0], map_y[:, 0]
    valid = (
        (np.minimum(start_x, end_x) >= 0)
        & (np.maximum(start_x, end_x) <= w - 1)
        & (np.minimum(start_y, end_y) >= 0)
        & (np.maximum(start_y, end_y) <= h - 1)
    )
    return RayProfile(cx, cy, radii, float(step), cos_t, sin_t, prof, deriv, valid)


@functools.lru_cache(maxsize=16)
def directions(n_rays: int) -> tuple[np.ndarray, np.ndarray]:
    """(cos, sin) of ``n_rays`` evenly spaced directions, made once per count (read-only)."""
    theta = np.linspace(0.0, 2.0 * math.pi, n_rays, endpoint=False, dtype=np.float32)
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    cos_t.flags.writeable = False
    sin_t.flags.writeable = False
    return cos_t, sin_t


@dataclass(frozen=True)
class EdgeFit:
    """A closed circular edge fitted to per-ray edge points."""

    cx: float
    cy: float
    r: float
    polarity: int  # BRIGHTER_INSIDE or DARKER_INSIDE
    support: float  # share of the usable rays whose edge lies on the circle
    usable: float  # share of all rays that lie inside the image
    contrast: float  # |inside - outside| a few blur widths from the edge
    blur_px: float  # sigma of the edge's spread
    scatter_px: float  # robust spread of the edge points about the circle
    aspect: float = 1.0  # vertical / horizontal radius (an ellipse fit), 1 for a circle


def pick_edges(
    rays: RayProfile, polarity: int, lo: int = 1, hi: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per ray: the sample index of the strongest edge of ``polarity`` and its strength."""
    hi = rays.deriv.shape[1] - 1 if hi is None else hi
    signed = rays.deriv[:, lo:hi] * np.float32(-polarity)  # brighter inside: falling outwards
    idx = np.argmax(signed, axis=1) + lo
    rows = np.arange(len(idx))
    return idx, signed[rows, idx - lo]


def dominant_polarity(rays: RayProfile, lo: int = 1, hi: int | None = None) -> int:
    """The polarity whose strongest edges are, ray by ray, the stronger."""
    ok = rays.valid if rays.valid.any() else np.ones_like(rays.valid)
    _, falling = pick_edges(rays, BRIGHTER_INSIDE, lo, hi)
    _, rising = pick_edges(rays, DARKER_INSIDE, lo, hi)
    return BRIGHTER_INSIDE if median(falling[ok]) >= median(rising[ok]) else DARKER_INSIDE


def fit_edge(
    rays: RayProfile,
    polarity: int,
    lo: int = 1,
    hi: int | None = None,
    min_usable: float = 0.5,
    ellipse: bool = False,
    measure: bool = True,
) -> EdgeFit | None:
    """Fit the strongest edge of ``polarity`` on each ray with a robust circle (or ellipse).

    ``measure``: False leaves the edge's blur and contrast at 0 (cheaper).
    """
    n = len(rays.valid)
    idx, strength = pick_edges(rays, polarity, lo, hi)
    usable = rays.valid & (strength > 0)
    if usable.sum() < max(6, n * min_usable * 0.5):
        return None
    typical = median(strength[usable])
    if typical <= 0:
        return None
    good = usable & (strength > 0.4 * typical)
    d = rays.deriv
    rows = np.arange(n)
    a = d[rows, np.maximum(idx - 1, 0)]
    b = d[rows, idx]
    c = d[rows, np.minimum(idx + 1, d.shape[1] - 1)]
    denom = a - 2 * b + c
    safe = np.where(np.abs(denom) > 1e-12, denom, 1.0)
    offset = np.where(np.abs(denom) > 1e-12, 0.5 * (a - c) / safe, 0.0)
    edge_r = rays.at(idx, _clip(offset, -0.5, 0.5))
    px = rays.cx + edge_r * rays.cos
    py = rays.cy + edge_r * rays.sin
    keep = good.copy()
    fit: tuple[float, float, float, float] | None = None
    resid = np.zeros(n)
    for _ in range(3):
        if keep.sum() < 6:
            return None
        fit = _fit_ellipse(px[keep], py[keep]) if ellipse else _fit_circle(px[keep], py[keep])
        if fit is None:
            return None
        resid = _radial_residual(fit, px, py)
        mad = median(np.abs(resid[keep])) * 1.4826
        keep = good & (np.abs(resid) <= max(3.0 * mad, 0.75, 0.01 * fit[2]))
    if fit is None:  # the loop above always fits or returns; this tells the type checker
        return None
    fx, fy, fr, aspect = fit
    n_usable = int(rays.valid.sum())
    blur = edge_sigma(d[keep] * np.float32(-polarity), idx[keep], rays.step) if measure else 0.0
    # Support against a fixed tolerance: with a scatter-relative one, noise that
    # scatters everywhere would "support" any circle.
    on_edge = good & (np.abs(resid) <= max(1.0, 0.015 * fr, blur))
    support = float(on_edge.sum()) / max(n_usable, 1)
    gap = round(max(3.0 * blur, 2.0) / rays.step)
    m = rays.values.shape[1] - 1
    inner = rays.values[keep, _clip(idx[keep] - gap, 0, m)]
    outer = rays.values[keep, _clip(idx[keep] + gap, 0, m)]
    contrast = median(inner - outer) * polarity if measure else 0.0
    scatter = median(np.abs(resid[keep])) * 1.4826
    return EdgeFit(
        cx=fx,
        cy=fy,
        r=fr,
        polarity=polarity,
        support=support,
        usable=n_usable / n,
        contrast=contrast,
        blur_px=blur,
        scatter_px=scatter,
        aspect=aspect,
    )


def fit_crossing(
    rays: RayProfile, polarity: int, lo: int, hi: int, tolerance_px: float = 1.0
) -> EdgeFit | None:
    """A soft closed edge (a lit single-mode core is a blurred spot), fitted where each
    ray first crosses half-way between the levels inside and outside it.

    Where an edge is soft its steepest point wanders from ray to ray with the
    noise; the half-way crossing does not.
    """
    vals = rays.values[:, lo:hi]
    n, m = vals.shape
    if m < 6:
        return None
    inside = median(vals[:, : max(1, m // 6)])
    outside = median(vals[:, -max(1, m // 6) :])
    contrast = (inside - outside) * polarity
    if contrast <= 0:
        return None
    half = 0.5 * (inside + outside)
    above = (vals - half) * polarity > 0  # on the inner side of the half level
    # The first sample of each ray on the outer side.
    first_out = np.argmax(~above, axis=1)
    ok = rays.valid & above[:, 0] & (~above).any(axis=1) & (first_out > 0)
    if ok.sum() < max(6, n // 2):
        return None
    rows = np.arange(n)
    j = _clip(first_out, 1, m - 1)
    a, b = vals[rows, j - 1], vals[rows, j]
    frac = np.where(a != b, (a - half) / np.where(a != b, a - b, 1.0), 0.5)
    edge_r = rays.at(lo + j - 1, _clip(frac, 0.0, 1.0))
    px = rays.cx + edge_r * rays.cos
    py = rays.cy + edge_r * rays.sin
    fit = _fit_circle(px[ok], py[ok])
    if fit is None:
        return None
    resid = _radial_residual(fit, px, py)
    scatter = median(np.abs(resid[ok])) * 1.4826
    on_edge = ok & (np.abs(resid) <= max(tolerance_px, 0.03 * fit[2]))
    # Its spread from the median profile: a quarter and three quarters of the way.
    mean = (medians(vals[ok], axis=0) - outside) / (inside - outside)
    r25 = _first_below(mean, 0.75, rays.radii[lo:hi])
    r75 = _first_below(mean, 0.25, rays.radii[lo:hi])
    blur = max(0.0, (r75 - r25) / 1.349) if r25 is not None and r75 is not None else 0.0
    return EdgeFit(
        cx=fit[0],
        cy=fit[1],
        r=fit[2],
        polarity=polarity,
        support=float(on_edge.sum()) / max(int(rays.valid.sum()), 1),
        usable=float(rays.valid.mean()),
        contrast=contrast,
        blur_px=blur,
        scatter_px=scatter,
    )


def _first_below(v: np.ndarray, level: float, radii: np.ndarray) -> float | None:
    """The radius at which a falling profile first drops below ``level`` (interpolated)."""
    below = np.nonzero(v < level)[0]
    if len(below) == 0 or below[0] == 0:
        return None
    j = int(below[0])
    a, b = float(v[j - 1]), float(v[j])
    t = (a - level) / (a - b) if a != b else 0.5
    return float(radii[j - 1] + t * (radii[j] - radii[j - 1]))


def edge_sigma(deriv: np.ndarray, idx: np.ndarray, step: float) -> float:
    """Spread of an edge from the inner half-width of its averaged gradient peak.

    ``deriv`` is signed so that the edge is a positive peak. Only the inner flank
    is used: just outside a cladding the adhesive ring ends in an edge of the
    other sign that would widen the outer flank.
    """
    span = round(8.0 / step) + 2
    n = len(idx)
    if n == 0:
        return 0.0
    cols = idx[:, None] + np.arange(-span, 1)[None, :]
    ok = cols >= 0
    counts = ok.sum(axis=0)
    sums = np.where(ok, deriv[np.arange(n)[:, None], np.maximum(cols, 0)], 0.0).sum(axis=0)
    mean = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)  # inner flank, peak last
    peak = mean[-1]
    if not np.isfinite(peak) or peak <= 0:
        return 0.0
    half = peak / 2.0
    below = np.nonzero(mean[:-1] < half)[0]
    if len(below) == 0:
        return span * step / 1.1774
    j = below[-1]
    y0, y1 = mean[j], mean[j + 1]
    frac = (half - y0) / (y1 - y0) if y1 != y0 else 0.0
    hwhm = (len(mean) - 1 - (j + frac)) * step
    # The ray smoothing and the sampling widen the peak a little.
    smoothing = max(0.6, 1.0 / step) * step
    sigma2 = (hwhm / 1.1774) ** 2 - smoothing**2 - 1.0 / 12.0
    return float(math.sqrt(max(sigma2, 0.0)))


def _clip(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """np.clip without its per-call checks, which cost more than the work on a few rays."""
    out: np.ndarray = np.minimum(np.maximum(a, lo), hi)
    return out


def _radial_residual(
    fit: tuple[float, float, float, float], x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """Distance of each point from the fitted outline, along the ray (px)."""
    fx, fy, fr, aspect = fit
    u, v = x - fx, y - fy
    return np.hypot(u, v / aspect) - fr


def _fit_circle(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float] | None:
    """Algebraic (Kasa) circle fit, centred for numerical stability: 3x3 normal equations."""
    n = x.size
    mx, my = float(x.sum()) / n, float(y.sum()) / n
    u, v = x - mx, y - my
    uu, vv, uv = float(u @ u), float(v @ v), float(u @ v)
    zz = u * u + v * v
    # Centred: sum(u) = sum(v) = 0, so the constant term decouples.
    det = uu * vv - uv * uv
    if abs(det) < 1e-12:
        return None
    bu, bv = -float(u @ zz), -float(v @ zz)
    su = (bu * vv - bv * uv) / det
    sv = (uu * bv - uv * bu) / det
    c0 = -float(zz.sum()) / n
    cu, cv = -su / 2.0, -sv / 2.0
    r2 = cu * cu + cv * cv - c0
    if not math.isfinite(r2) or r2 <= 0:
        return None
    return mx + cu, my + cv, math.sqrt(r2), 1.0


def _fit_ellipse(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float] | None:
    """Axis-aligned ellipse: pixels that are not square stretch a circle along x or y.

    Returns (cx, cy, horizontal radius, vertical / horizontal radius).
    """
    n = x.size
    mx, my = float(x.sum()) / n, float(y.sum()) / n
    u, v = x - mx, y - my
    # u^2 + B v^2 + C u + D v + E = 0, by 4x4 normal equations.
    a = np.stack([v * v, u, v, np.ones_like(u)])
    rhs = -(u * u)
    try:
        sol = np.linalg.solve(a @ a.T, a @ rhs)
    except np.linalg.LinAlgError:
        return None
    b, c, d, e = (float(q) for q in sol)
    if not (b > 0 and math.isfinite(b)):
        return None
    cu, cv = -c / 2.0, -d / (2.0 * b)
    rx2 = cu * cu + b * cv * cv - e
    if rx2 <= 0:
        return None
    rx = math.sqrt(rx2)
    return mx + cu, my + cv, rx, 1.0 / math.sqrt(b)
