"""Find every fibre fully inside the image and the image's scale.

Two steps, each with a bounded cost whatever the image holds:

1. Candidates: bright discs found by a scale-normalised Laplacian of Gaussian
   over a pyramid (one scale when the scale is known, a range otherwise). A
   blob detector is not fooled by the grain of MT plastic or by scratches the
   way edge-voting circle transforms are, and its cost does not grow with
   clutter.
2. Refinement: the cladding edge is sampled along rays from each candidate
   centre; the strongest falling edge on each ray gives one point, and a
   robust circle fit of those points gives the centre and diameter to a
   fraction of a pixel, ignoring rays spoilt by chips or dirt on the edge.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from grading.geometry import CLADDING_DIAMETER_UM, MT_PITCH_UM

N_RAYS = 128
MIN_SUPPORT = 0.5  # share of rays that must show the cladding edge
MIN_RADIUS_PX = 8.0  # smaller claddings cannot be measured (> 7.8 um/px)
WORK_RADIUS_PX = 4.0  # candidates are searched with the disc about this size
MAX_CANDIDATES = 80
SCALE_STEP = 1.3
PEAKS_PER_SCALE = 150


@dataclass(frozen=True)
class Circle:
    cx: float
    cy: float
    r: float
    support: float  # share of rays with a clear edge on the fitted circle
    contrast: float  # brightness step at the edge, as a fraction of full scale
    blur_px: float  # sigma of the edge's spread (sharpness)

    @property
    def diameter(self) -> float:
        return 2.0 * self.r


@dataclass(frozen=True)
class Location:
    fibers: tuple[Circle, ...]  # fully inside the image, in reading order
    rows: tuple[tuple[int, ...], ...]  # indices into fibers, top row first
    um_per_px: float | None
    scale_source: str | None  # "given", "pitch" or "cladding"
    partial: int = 0  # fibres found that are cut by the image border


def locate(image: np.ndarray, um_per_px: float | None = None) -> Location:
    """Locate claddings in a float32 image in [0, 1]."""
    h, w = image.shape
    if um_per_px is not None:
        r0 = CLADDING_DIAMETER_UM / 2.0 / um_per_px
        radii = [r0]
    else:
        r_max = min(h, w) / 2.0
        radii = []
        r = MIN_RADIUS_PX
        while r <= r_max:
            radii.append(r)
            r *= SCALE_STEP
    candidates = _blob_candidates(image, radii)
    circles: list[Circle] = []
    for cx, cy, r in candidates:
        # Claddings never overlap: nothing inside a found one can be another.
        if any(
            math.hypot(cx - o.cx, cy - o.cy) < o.r + 0.5 * r and o.r >= 0.8 * r for o in circles
        ):
            continue
        # A coarse look with few rays rejects most stray candidates cheaply.
        if refine(image, cx, cy, r, window=(0.72, 1.4), n_rays=24) is None:
            continue
        c = refine(image, cx, cy, r, window=(0.72, 1.4))
        if c is None:
            continue
        c = refine(image, c.cx, c.cy, c.r, window=(0.92, 1.08)) or c
        if um_per_px is not None and not 0.75 < c.r / radii[0] < 1.33:
            continue
        if any(math.hypot(c.cx - o.cx, c.cy - o.cy) < 0.6 * max(c.r, o.r) for o in circles):
            continue
        circles.append(c)
    circles = _consistent(circles, known=um_per_px is not None)
    inside = [c for c in circles if _fully_inside(c, w, h)]
    partial = len(circles) - len(inside)
    rows = _rows(inside)
    ordered = [inside[i] for row in rows for i in row]
    renumbered, k = [], 0
    for row in rows:
        renumbered.append(tuple(range(k, k + len(row))))
        k += len(row)
    if um_per_px is not None:
        scale, source = um_per_px, "given"
    else:
        scale, source = estimate_scale(ordered, tuple(renumbered))
    return Location(
        fibers=tuple(ordered),
        rows=tuple(renumbered),
        um_per_px=scale,
        scale_source=source,
        partial=partial,
    )


def estimate_scale(
    fibers: list[Circle], rows: tuple[tuple[int, ...], ...]
) -> tuple[float | None, str | None]:
    """um/px from the 250 um pitch where a row shows it, else from the 125 um cladding."""
    if not fibers:
        return None, None
    d_px = float(np.median([f.diameter for f in fibers]))
    from_cladding = CLADDING_DIAMETER_UM / d_px
    expected_pitch = d_px * MT_PITCH_UM / CLADDING_DIAMETER_UM
    gaps, steps = [], []
    for row in rows:
        xs = sorted(fibers[i].cx for i in row)
        for a, b in itertools.pairwise(xs):
            n = round((b - a) / expected_pitch)
            if n < 1 or abs((b - a) / n - expected_pitch) > 0.15 * expected_pitch:
                continue
            gaps.append(b - a)
            steps.append(n)
    if gaps:
        pitch = sum(gaps) / sum(steps)
        return MT_PITCH_UM / pitch, "pitch"
    return from_cladding, "cladding"


def _blob_candidates(image: np.ndarray, radii: list[float]) -> list[tuple[float, float, float]]:
    """Centres of bright discs, strongest first, one per disc."""
    h, w = image.shape
    found: list[tuple[float, float, float, float]] = []
    pyramid: dict[int, np.ndarray] = {1: image}
    for r in radii:
        f = 1
        while r / (2 * f) >= WORK_RADIUS_PX and min(h, w) // (2 * f) >= 16:
            f *= 2
            if f not in pyramid:
                finer = pyramid[f // 2]
                half = (max(1, finer.shape[1] // 2), max(1, finer.shape[0] // 2))
                pyramid[f] = cv2.resize(
                    finer[: half[1] * 2, : half[0] * 2], half, interpolation=cv2.INTER_AREA
                )
        work = pyramid[f]
        rw = r / f
        sigma = rw / math.sqrt(2.0)
        blurred = cv2.GaussianBlur(work, (0, 0), sigma)
        log = cv2.Laplacian(blurred, cv2.CV_32F, ksize=1) * np.float32(-(sigma**2))
        # A bright disc of contrast C gives about 0.74 C at its centre.
        peaks = (log >= cv2.dilate(log, np.ones((3, 3), np.uint8))) & (log > 0.05)
        ys, xs = np.nonzero(peaks)
        if len(ys) > PEAKS_PER_SCALE:  # grain makes many weak peaks; the discs are the strong ones
            keep = np.argpartition(-log[ys, xs], PEAKS_PER_SCALE)[:PEAKS_PER_SCALE]
            ys, xs = ys[keep], xs[keep]
        for y, x in zip(ys, xs, strict=True):
            cx, cy = (x + 0.5) * f - 0.5, (y + 0.5) * f - 0.5
            found.append((float(log[y, x]), cx, cy, r))
    if not found:
        return []
    found.sort(reverse=True)
    strongest = found[0][0]
    kept = np.empty((0, 3))
    for resp, cx, cy, r in found:
        if resp < 0.3 * strongest or len(kept) >= MAX_CANDIDATES:
            break
        if len(kept):
            near = np.hypot(kept[:, 0] - cx, kept[:, 1] - cy) < 0.7 * np.maximum(kept[:, 2], r)
            if near.any():
                continue
        kept = np.vstack([kept, (cx, cy, r)])
    return [tuple(map(float, k)) for k in kept]


def refine(
    image: np.ndarray,
    cx: float,
    cy: float,
    r: float,
    window: tuple[float, float],
    n_rays: int = N_RAYS,
) -> Circle | None:
    """Fit the cladding edge near a guessed circle; None when there is no clear edge."""
    h, w = image.shape
    lo, hi = window
    step = max(0.25, r * (hi - lo) / 64.0)
    radii = np.arange(r * lo, r * hi + step, step, dtype=np.float32)
    if len(radii) < 8:
        radii = np.linspace(r * lo, r * hi, 8, dtype=np.float32)
        step = float(radii[1] - radii[0])
    theta = np.linspace(0.0, 2.0 * math.pi, n_rays, endpoint=False, dtype=np.float32)
    cos_t, sin_t = np.cos(theta)[:, None], np.sin(theta)[:, None]
    map_x = (cx + radii[None, :] * cos_t).astype(np.float32)
    map_y = (cy + radii[None, :] * sin_t).astype(np.float32)
    prof = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # Smooth along each ray over about one pixel, then differentiate.
    k = max(0.6, 1.0 / step)
    prof = cv2.GaussianBlur(prof, (0, 0), sigmaX=k, sigmaY=0.01)
    deriv = np.gradient(prof, step, axis=1)
    valid_ray = (
        (map_x.min(axis=1) >= 0)
        & (map_x.max(axis=1) <= w - 1)
        & (map_y.min(axis=1) >= 0)
        & (map_y.max(axis=1) <= h - 1)
    )
    idx = np.argmin(deriv[:, 1:-1], axis=1) + 1
    rows = np.arange(n_rays)
    strength = -deriv[rows, idx]
    valid_ray &= strength > 0
    if valid_ray.sum() < n_rays * MIN_SUPPORT * 0.5:
        return None
    typical = float(np.median(strength[valid_ray]))
    if typical <= 0:
        return None
    good = valid_ray & (strength > 0.4 * typical)
    a, b, c = deriv[rows, idx - 1], deriv[rows, idx], deriv[rows, idx + 1]
    denom = a - 2 * b + c
    offset = np.where(np.abs(denom) > 1e-12, 0.5 * (a - c) / np.where(denom == 0, 1, denom), 0.0)
    edge_r = radii[idx] + np.clip(offset, -0.5, 0.5) * step
    px = cx + edge_r * cos_t[:, 0]
    py = cy + edge_r * sin_t[:, 0]
    keep = good.copy()
    fit = None
    for _ in range(3):
        if keep.sum() < 6:
            return None
        fit = _fit_circle(px[keep], py[keep])
        if fit is None:
            return None
        fx, fy, fr = fit
        resid = np.hypot(px - fx, py - fy) - fr
        mad = float(np.median(np.abs(resid[keep]))) * 1.4826
        keep = good & (np.abs(resid) <= max(3.0 * mad, 0.75, 0.01 * fr))
    fx, fy, fr = fit
    support = float(keep.sum()) / n_rays
    if support < MIN_SUPPORT or not (r * lo * 0.9 < fr < r * hi * 1.1):
        return None
    # Brightness step across the edge: inside minus outside, a few blur widths away.
    blur = _edge_sigma(deriv[keep], idx[keep], step)
    gap = round(max(3.0 * blur, 2.0) / step)
    inner = prof[keep, np.clip(idx[keep] - gap, 0, prof.shape[1] - 1)]
    outer = prof[keep, np.clip(idx[keep] + gap, 0, prof.shape[1] - 1)]
    contrast = float(np.median(inner - outer))
    if contrast <= 0.02:
        return None
    return Circle(cx=fx, cy=fy, r=fr, support=support, contrast=contrast, blur_px=blur)


def _edge_sigma(deriv: np.ndarray, idx: np.ndarray, step: float) -> float:
    """Spread of the edge from the inner half-width of the averaged gradient peak.

    Only the inner flank is used: just outside the cladding a dark epoxy ring
    ends in a rising edge that would widen the outer flank.
    """
    span = round(8.0 / step) + 2
    n = len(idx)
    cols = idx[:, None] + np.arange(-span, 1)[None, :]
    ok = cols >= 0
    vals = np.where(ok, deriv[np.arange(n)[:, None], np.clip(cols, 0, None)], np.nan)
    counts = ok.sum(axis=0)
    sums = -np.nansum(vals, axis=0)
    mean = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)  # inner flank, peak last
    peak = mean[-1]
    if not np.isfinite(peak) or peak <= 0:
        return 0.0
    half = peak / 2.0
    below = np.nonzero(mean[:-1] < half)[0]
    if len(below) == 0:
        return span * step / 1.1774
    j = below[-1]
    # Interpolate where the flank crosses half the peak.
    y0, y1 = mean[j], mean[j + 1]
    frac = (half - y0) / (y1 - y0) if y1 != y0 else 0.0
    hwhm = (len(mean) - 1 - (j + frac)) * step
    # The ray smoothing and the one-pixel sampling widen the peak a little.
    smoothing = max(0.6, 1.0 / step) * step
    sigma2 = (hwhm / 1.1774) ** 2 - smoothing**2 - 1.0 / 12.0
    return float(math.sqrt(max(sigma2, 0.0)))


def _fit_circle(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float] | None:
    """Algebraic (Kasa) circle fit, centred for numerical stability."""
    mx, my = float(x.mean()), float(y.mean())
    u, v = x - mx, y - my
    a = np.stack([u, v, np.ones_like(u)], axis=1)
    rhs = -(u * u + v * v)
    try:
        sol, *_ = np.linalg.lstsq(a, rhs, rcond=None)
    except np.linalg.LinAlgError:
        return None
    cu, cv = -sol[0] / 2.0, -sol[1] / 2.0
    r2 = cu * cu + cv * cv - sol[2]
    if not np.isfinite(r2) or r2 <= 0:
        return None
    return mx + float(cu), my + float(cv), float(math.sqrt(r2))


def _consistent(circles: list[Circle], known: bool) -> list[Circle]:
    """Keep the family of circles that share one cladding size.

    With an unknown scale, stray discs (a bright particle, a glint) must not be
    mistaken for claddings: the largest group of like-sized circles wins, ties
    going to the group with the stronger, more complete edges.
    """
    if len(circles) <= 1 or known:
        return circles
    strongest = max(c.contrast for c in circles)
    circles = [c for c in circles if c.contrast >= 0.45 * strongest and c.support >= 0.7]
    best: list[Circle] = []
    best_score = -1.0
    for c in circles:
        group = [o for o in circles if abs(o.r - c.r) <= 0.06 * c.r]
        score = sum(o.support * o.contrast * math.sqrt(o.r) for o in group)
        if score > best_score:
            best, best_score = group, score
    return best


def _fully_inside(c: Circle, w: int, h: int) -> bool:
    m = 0.5
    return (
        c.cx - c.r >= -m
        and c.cy - c.r >= -m
        and c.cx + c.r <= w - 1 + m
        and c.cy + c.r <= h - 1 + m
    )


def _rows(circles: list[Circle]) -> list[tuple[int, ...]]:
    """Group centres into rows (top first), each left to right."""
    if not circles:
        return []
    order = sorted(range(len(circles)), key=lambda i: circles[i].cy)
    r = float(np.median([c.r for c in circles]))
    rows: list[list[int]] = [[order[0]]]
    for i in order[1:]:
        row_y = np.mean([circles[j].cy for j in rows[-1]])
        if abs(circles[i].cy - row_y) > 1.5 * r:
            rows.append([i])
        else:
            rows[-1].append(i)
    return [tuple(sorted(row, key=lambda i: circles[i].cx)) for row in rows]
