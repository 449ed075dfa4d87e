"""What a clean end face would look like around one fibre, and how noisy it is.

An end face is built of rings (core, cladding, epoxy, ferrule), each with its
own brightness, under light that is rarely even. A single global threshold
fails on that; instead the clean face is modelled as a radial profile about
the fitted fibre centre times a smooth illumination field. The profile is the
median of each one-pixel ring (dirt is a minority of a ring), taken in polar
coordinates where a ring is a row. The noise is measured per ring too, because
ceramic grain and camera shot noise differ from ring to ring.

Inside the cladding the profile is held within a few per cent of the glass
level: a profile free to follow anything would swallow a particle sitting
exactly on the core (every small ring there is covered by it), the worst false
pass there is. The fibre's own concentric structure (``grading.structure``: a
visible core, index rings) splits the glass into plateaus, each held to its own
level, and the profile follows freely across each of those closed edges only.
Outside the glass, radii are measured from a centre that moves from the
fibre's to the bore's, so that an adhesive ring off-centre in its bore is a
ring of the model too, not an arc of dirt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from grading.robust import median

N_ANGLES = 160
GLASS_TOLERANCE = 0.08  # a clean core departs from the glass level by less than this
GLASS_NOISE_RATIO = 1.5
LIGHT_ROUNDS = 1  # profile and light estimated in turn, this many times
N_TERMS = 5  # smooth terms of each light field (see _terms)
INNER_REGISTRATION_PX = 0.3  # how far a ring inside the glass may sit from its model


@dataclass(frozen=True)
class Background:
    radius_px: np.ndarray  # distance of each pixel from the fibre centre
    model: np.ndarray  # expected clean brightness
    sigma: np.ndarray  # expected departure (one sigma) of a clean pixel: noise and model
    residual: np.ndarray  # image minus model
    noise_profile: np.ndarray  # per ring: the camera-and-surface noise part of sigma
    model_profile: np.ndarray  # per ring: the model's own uncertainty at sharp edges

    def split_sigma(self) -> tuple[np.ndarray, np.ndarray]:
        """Per pixel: (noise sigma, model sigma); only some looks need them apart."""
        ring = np.minimum((self.radius_px + 0.5).astype(np.int32), len(self.noise_profile) - 1)
        return self.noise_profile[ring], self.model_profile[ring]


@dataclass(frozen=True)
class Rings:
    """The clean structure round the fibre, in the ROI's pixels."""

    edges: tuple[tuple[float, float], ...] = ()  # (radius, half-width) of inner closed edges
    # (radius, cx, cy): the centre of the model's rings at that radius, when the fibre's
    # closed edges (a core, the bore) are not all round one centre; between two knots
    # the centre moves linearly, beyond the last it stays.
    knots: tuple[tuple[float, float, float], ...] = ()


def fit_background(
    roi: np.ndarray,
    cx: float,
    cy: float,
    r_max_px: float,
    glass_radius_px: float,
    registration_px: float = 0.6,
    rings: Rings | None = None,
    hold_radius_px: float | None = None,
) -> Background:
    """Model the clean face in ``roi`` around the fibre centre (cx, cy) in roi pixels.

    ``glass_radius_px``: where the glass ends, less the blur of its edge.
    ``hold_radius_px``: within it the profile is held near the glass level (all
    of the glass when not given), see ``_glass_profile``. ``registration_px``: how
    far the true rings may sit from the modelled ones (centre error, a slightly
    elliptical APC cladding); at a sharp edge that uncertainty, times the
    edge's slope, is added to the noise so that edges are not taken for dirt.
    """
    h, w = roi.shape
    rings = rings or Rings()
    n_r = int(np.ceil(r_max_px)) + 2
    radii = np.arange(n_r, dtype=np.float32)
    theta = np.linspace(0.0, 2.0 * np.pi, N_ANGLES, endpoint=False, dtype=np.float32)
    ox, oy = _centres(radii, cx, cy, rings.knots)
    px = ox[None, :] + radii[None, :] * np.cos(theta)[:, None]
    py = oy[None, :] + radii[None, :] * np.sin(theta)[:, None]
    polar = cv2.remap(
        roi,
        px.astype(np.float32),
        py.astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    # Samples that fall outside the ROI (a fibre near the image border) are unknown.
    inside = (px >= 0) & (px <= w - 1) & (py >= 0) & (py <= h - 1)
    if not inside.all():
        polar = np.where(inside, polar, np.nan).astype(np.float32)
    norm = max(r_max_px, 1.0)
    pu = (px - cx) / norm
    pv = (py - cy) / norm
    # Profile under even light, the light that profile implies, the profile again.
    profile = _glass_profile(polar, glass_radius_px, rings.edges, hold_radius_px)
    held = 0
    if hold_radius_px is not None and hold_radius_px < glass_radius_px:
        held = int(np.ceil(hold_radius_px))
    for _ in range(LIGHT_ROUNDS):
        coef = _fit_light(polar, profile, pu, pv, held)
        light, offset = _light(coef, pu, pv), _offset(coef, pu, pv)
        even = (polar - offset) / light
        profile = _glass_profile(even, glass_radius_px, rings.edges, hold_radius_px)
    with np.errstate(all="ignore"):
        resid_polar = polar - (profile[None, :] * light + offset)
    spread = 1.4826 * column_median(np.abs(resid_polar))
    noise = _hold_glass_noise(_smooth_spread(_fill(spread)), glass_radius_px)
    slope = np.abs(np.gradient(profile))
    slope = np.max(np.stack([np.roll(slope, k) for k in (-1, 0, 1)]), axis=0)
    # Inside the glass the only edges are the fibre's own rings, each drawn round its
    # own fitted centre: they sit where the model puts them to a fraction of a pixel.
    # (On a coarse frame a single-mode core is all edge: the cladding's uncertainty
    # there would hide a pit on it.)
    reg = np.where(radii < glass_radius_px - 3.0, INNER_REGISTRATION_PX, registration_px)
    model_err = (np.minimum(reg, registration_px) * slope).astype(np.float32)
    radius = _radius_map(h, w, cx, cy, rings.knots)
    total = np.hypot(noise, model_err).astype(np.float32)
    # Profiles read at every pixel's radius: one remap each, linear for the model
    # and nearest ring for the noise.
    rows = np.zeros_like(radius)
    model = cv2.remap(
        profile.astype(np.float32)[None, :],
        radius,
        rows,
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    light_px, offset_px = _light_field(coef, h, w, cx, cy, norm)
    model = model * light_px + offset_px
    sigma = cv2.remap(
        total[None, :], radius, rows, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE
    )
    return Background(
        radius_px=radius,
        model=model,
        sigma=sigma,
        residual=cv2.subtract(roi, model, dtype=cv2.CV_32F),
        noise_profile=noise.astype(np.float32),
        model_profile=model_err,
    )


def _centres(
    radii: np.ndarray, cx: float, cy: float, knots: tuple[tuple[float, float, float], ...]
) -> tuple[np.ndarray, np.ndarray]:
    """The centre each ring of the model is drawn round (see ``Rings.knots``)."""
    if not knots:
        ones = np.ones_like(radii, dtype=np.float32)
        return ones * np.float32(cx), ones * np.float32(cy)
    r = [k[0] for k in knots]
    ox = np.interp(radii, r, [k[1] for k in knots]).astype(np.float32)
    oy = np.interp(radii, r, [k[2] for k in knots]).astype(np.float32)
    return ox, oy


def _radius_map(
    h: int, w: int, cx: float, cy: float, knots: tuple[tuple[float, float, float], ...]
) -> np.ndarray:
    """Each pixel's radius in the model's rings: the radius whose ring passes through it."""
    ys = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    radius = np.sqrt((xs - np.float32(cx)) ** 2 + (ys - np.float32(cy)) ** 2)
    if not knots or max(math.hypot(k[1] - cx, k[2] - cy) for k in knots) < 0.3:
        return radius
    # The centre moves with the radius (across an adhesive ring off the bore's centre,
    # by up to half the ring's width per pixel): fixed-point steps settle it.
    for _ in range(5):
        ox, oy = _centres(radius.ravel(), cx, cy, knots)
        radius = np.sqrt((xs - ox.reshape(h, w)) ** 2 + (ys - oy.reshape(h, w)) ** 2)
    return radius


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


def _glass_profile(
    polar: np.ndarray,
    glass_radius_px: float,
    edges: tuple[tuple[float, float], ...] = (),
    hold_radius_px: float | None = None,
) -> np.ndarray:
    """Ring medians, with the rings round the centre taken from glass-like samples only.

    Within ``hold_radius_px`` of the centre a particle sitting on the core covers
    every ring, so those rings cannot tell dirt from glass by their medians:
    they are held near the level of the glass just outside, split into plateaus
    by the fibre's own closed edges (a core), within each of which a clean face
    departs by a faint feature at most. A ring wholly covered by dirt takes its
    plateau's level. Further out, dirt covers only part of any ring and the
    median of each ring is the clean face, whatever rings of index or adhesive
    the fibre has.
    """
    profile = _ring_median(polar)
    g = min(int(glass_radius_px), polar.shape[1])
    hold = g if hold_radius_px is None else min(g, int(np.ceil(hold_radius_px)))
    if hold < 4:
        return profile
    out = profile.copy()
    inner = [(r, hw) for r, hw in edges if 2.0 < r < hold - 2.0]
    bounds = [0.0, *(r for r, _ in inner), float(hold)]
    halves = [0.0, *(hw for _, hw in inner), 0.0]
    for k in range(len(bounds) - 1):
        a = int(np.ceil(bounds[k] + halves[k]))
        b = int(np.floor(bounds[k + 1] - halves[k + 1]))
        if b - a < 2:
            continue  # a plateau narrower than its edges: left free
        if k == len(bounds) - 2 and hold < g:
            # The level of the glass just outside the held rings, where no particle
            # on the centre reaches all round.
            level = median(profile[hold : min(g, hold + max(4, hold // 2))])
        else:
            level = _plateau_level(polar[:, a:b], a)
        seg = polar[:, a:b]
        glassy = np.abs(seg - level) <= GLASS_TOLERANCE * abs(level)
        counts = glassy.sum(axis=0)
        held = column_median(np.where(glassy, seg, np.nan))
        enough = counts >= 0.3 * np.isfinite(seg).sum(axis=0).clip(min=1)
        out[a:b] = np.where(enough & np.isfinite(held), held, level)
    return out


def _plateau_level(seg: np.ndarray, first_ring: int) -> float:
    """The level most of a plateau's area shows (a core inside its own edge).

    A scratch across a core dot darkens every small ring round the centre, so the
    rings' medians are dirt; the glass is still most of the disc's area. Samples
    are weighted by their ring's radius (each ring has as many samples as any
    other) and the fullest bin of a coarse histogram is the glass.
    """
    radii = first_ring + 0.5 + np.arange(seg.shape[1], dtype=np.float32)
    weights = np.broadcast_to(radii[None, :], seg.shape)
    ok = np.isfinite(seg)
    values, weights = seg[ok], weights[ok]
    if values.size == 0:
        return 0.0
    centre = median(values)
    width = max(1e-3, 0.5 * GLASS_TOLERANCE * abs(centre))
    lo, hi = float(values.min()), float(values.max())
    bins = max(1, min(64, int(np.ceil((hi - lo) / width))))
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi + 1e-6), weights=weights)
    k = int(np.argmax(counts))
    near = np.abs(values - 0.5 * (edges[k] + edges[k + 1])) <= width
    return median(values[near]) if near.any() else centre


def _hold_glass_noise(spread: np.ndarray, glass_radius_px: float) -> np.ndarray:
    """Noise on glass is the same all over it; a ring covered by dirt must not say otherwise."""
    g = int(glass_radius_px)
    if g < 4:
        return spread
    level = median(spread[g // 2 : g])
    out = spread.copy()
    out[:g] = np.minimum(out[:g], GLASS_NOISE_RATIO * level)
    return out


def _light_field(
    coef: np.ndarray, h: int, w: int, cx: float, cy: float, norm: float
) -> tuple[np.ndarray, np.ndarray]:
    """(light, offset) over the ROI: smooth, so computed on a coarse grid and enlarged."""
    if not np.any(coef):
        return np.ones((h, w), np.float32), np.zeros((h, w), np.float32)
    step = 8
    gy = (np.arange(0, h + step, step, dtype=np.float32) - cy) / norm
    gx = (np.arange(0, w + step, step, dtype=np.float32) - cx) / norm
    u, v = gx[None, :], gy[:, None]
    coarse = np.dstack([_light(coef, u, v), _offset(coef, u, v)])
    # Map coarse node k to pixel k * step exactly (INTER_LINEAR on a scaled grid).
    m = np.array([[1.0 / step, 0.0, 0.0], [0.0, 1.0 / step, 0.0]])
    both = cv2.warpAffine(
        coarse,
        m,
        (w, h),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return both[:, :, 0], both[:, :, 1]


def _terms(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, ...]:
    """A tilt and a bowl over the region (vignetting round the frame's centre)."""
    return (u, v, u * u, v * v, u * v)


def _light(coef: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Multiplicative illumination (kept physical)."""
    field = 1.0 + sum(k * t for k, t in zip(coef[:N_TERMS], _terms(u, v), strict=True))
    return np.clip(field, 0.2, 5.0).astype(np.float32)


def _offset(coef: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Additive light: flare, and the black level a contrast stretch moved.

    A frame stretched from its darkest pixels (``image_io.normalise``) is no
    longer proportional to the light: uneven light then changes a dark cladding
    by more, relatively, than a bright core. The same smooth terms added, not
    multiplied, take that up.
    """
    return sum(k * t for k, t in zip(coef[N_TERMS:], _terms(u, v), strict=True)).astype(np.float32)


def _fit_light(
    polar: np.ndarray, profile: np.ndarray, pu: np.ndarray, pv: np.ndarray, skip_rings: int = 0
) -> np.ndarray:
    """Least-squares field: polar ~ profile * (1 + terms) + terms', ignoring outliers.

    The rings round the centre where the profile is held (``skip_rings``) are left
    out: a faint smear covering the core is the one thing a bowl of light centred
    on the fibre could take in, and light is smooth enough to be read round it.
    """
    step = 3
    p = polar[::step, ::step]
    e = np.broadcast_to(profile[None, :], polar.shape)[::step, ::step]
    u, v = pu[::step, ::step], pv[::step, ::step]
    ok = np.isfinite(p) & np.isfinite(e)
    if skip_rings > 0:
        ok &= (np.arange(0, polar.shape[1], step) >= skip_rings)[None, :]
    n = 2 * N_TERMS + 1
    if ok.sum() < 4 * n:
        return np.zeros(2 * N_TERMS)
    diff = p[ok] - e[ok]
    eo = e[ok]
    terms = _terms(u[ok], v[ok])
    design = np.stack([*(eo * t for t in terms), *terms, np.ones_like(eo)], axis=1)
    # Polar samples crowd the centre (every ring has as many as the outermost);
    # weight each by its radius, the area it stands for, or a smear on the core
    # would pass for a dip in the light.
    weight = np.hypot(u[ok], v[ok])
    # Outliers (dirt) are judged against the field, not against the mean: strong
    # vignetting puts the edges of the region far from the mean, and dropping them
    # would leave the field wrong exactly there.
    keep = np.ones(len(diff), bool)
    coef = np.zeros(n)
    for _ in range(3):
        if keep.sum() < 4 * n:
            return np.zeros(2 * N_TERMS)
        d, wt = design[keep], weight[keep]
        # Normal equations: far cheaper than an SVD of thousands of rows. Where the
        # profile is flat the two fields are one; a touch of ridge picks either.
        a = (d * wt[:, None]).T @ d
        b = (d * wt[:, None]).T @ diff[keep]
        ridge = 1e-6 * float(np.trace(a)) / n + 1e-12
        try:
            coef = np.linalg.solve(a + np.eye(n) * ridge, b)
        except np.linalg.LinAlgError:
            return np.zeros(2 * N_TERMS)
        if not np.all(np.isfinite(coef)):
            return np.zeros(2 * N_TERMS)
        resid = diff - design @ coef
        keep = np.abs(resid) < 4.0 * (median(np.abs(resid[keep])) * 1.4826 + 1e-4)
    # The constant term belongs to the profile, which is re-estimated next.
    return coef[: 2 * N_TERMS]


def _smooth_spread(spread: np.ndarray) -> np.ndarray:
    """Rings a few pixels wide are noisy estimates; take the local maximum over +-2 rings."""
    n = len(spread)
    padded = np.pad(spread, 2, mode="edge")
    out = np.max(np.stack([padded[i : i + n] for i in range(5)]), axis=0)
    floor = 0.5 * median(spread)
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
