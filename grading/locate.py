"""Find every fibre in the image, check that each really is one, and the image's scale.

One locator for every view: a single fibre at 400x, an MT fibre with its
neighbours at the edges, a whole MT ferrule. Three steps, each with a bounded
cost whatever the image holds:

1. Candidates: discs brighter *or darker* than their surroundings, found by a
   scale-normalised Laplacian of Gaussian over a pyramid (one scale when the
   scale is known, a range otherwise). A fibre can be either: bright glass on
   grey ceramic, or a dark disc on light zirconia under coaxial light.
2. Refinement: the strongest edge on rays from each candidate centre, fitted
   with a robust circle. Where the edge found is the outer side of the dark
   adhesive ring, the glass edge just inside it is taken instead; where the
   circle found is a core, the cladding round it is looked for outwards.
3. Verification: a cladding is a closed edge all round (most rays agree to a
   pixel), with a real step in brightness. A patch of ferrule, a glint or grain
   is none of these and is dropped: "no fibre found" is an answer, a graded
   patch of ferrule is not.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from grading.geometry import CLADDING_DIAMETER_UM, MT_PITCH_UM, MT_ROW_SPACING_UM
from grading.projection import projected
from grading.rays import (
    BRIGHTER_INSIDE,
    DARKER_INSIDE,
    EdgeFit,
    dominant_polarity,
    fit_edge,
    sample_rays,
)
from grading.robust import medians
from grading.symmetry import circle_centres

N_RAYS = 128
COARSE_RAYS = 32
MIN_SUPPORT = 0.8  # share of the rays in view on which the cladding edge lies on the circle
PAIRED_SUPPORT = 0.7  # the same for a glass edge inside the adhesive ring's outer edge
MIN_CONTRAST = 0.04  # brightness step at the cladding edge (full scale = 1)
MIN_RADIUS_PX = 8.0  # smaller claddings cannot be measured
WORK_RADIUS_PX = 4.0  # candidates are searched with the disc about this size
MAX_CANDIDATES = 40
PER_SCALE = 6  # strongest discs kept at each scale while the cladding size is unknown
CORE_HINTS_UM = (9.2, 50.0, 62.5)  # core diameters whose disc marks a fibre's centre
EDGE_CANDIDATES = 6  # centres voted for by circular edges, per size, when no disc is found
ALL_AT_ONE_SCALE = 150  # discs kept at the one known size: every fibre of any MT ferrule
SCALE_STEP = 1.3
ADHESIVE_RATIO = 0.78  # a glass edge this far inside a darker ring's outer edge at most
BORE_OFFSET = 0.08  # a fibre sits up to about 5 um off its bore's centre (in cladding radii)
EDGE_LINE = 0.05  # a dark ring thinner than this share of the radius is part of the edge
# Cores seen as discs: 125 um over a 9.2, 50, 62.5 um core, and unusual large cores.
CORE_RATIOS = ((1.3, 3.0), (11.0, 16.0))
ASPECT_LIMIT = 0.15  # pixels at most this far from square (analog video is about 7 %)


@dataclass(frozen=True)
class Circle:
    """A located cladding, in image pixels."""

    cx: float
    cy: float
    r: float
    support: float  # share of rays in view with the edge on the fitted circle
    contrast: float  # brightness step at the edge, as a fraction of full scale
    blur_px: float  # sigma of the edge's spread (sharpness)
    polarity: int = BRIGHTER_INSIDE  # glass brighter (1) or darker (-1) than outside it
    aspect: float = 1.0  # vertical over horizontal radius, when measured

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
    aspect: float = 1.0  # pixel shape measured from the claddings: vertical / horizontal


def locate(
    image: np.ndarray,
    um_per_px: float | None = None,
    measure_aspect: bool = False,
    multi_fiber: bool = True,
) -> Location:
    """Locate claddings in a float32 image in [0, 1] (square pixels unless ``measure_aspect``).

    ``multi_fiber``: the view may hold several fibres (an MT ferrule); a single-fibre
    ferrule holds one, and the second look for more of its size is skipped.
    """
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
    if um_per_px is not None:
        circles = _claddings(image, disc_candidates(image, radii, ALL_AT_ONE_SCALE), [], radii[0])
        if not circles:
            # A core shows where the cladding's centre is, when the cladding barely shows.
            cores = [
                (x, y, radii[0])
                for x, y, _r in disc_candidates(
                    image, [d / 2.0 / um_per_px for d in CORE_HINTS_UM], PER_SCALE
                )
            ]
            circles = _claddings(image, cores + _edge_candidates(image, radii), [], radii[0])
    else:
        circles = _consistent(
            _claddings(image, disc_candidates(image, radii), [], None, measure_aspect)
        )
        if not circles:
            found = _claddings(image, _edge_candidates(image, radii), [], None, measure_aspect)
            circles = _consistent(found)
        circles = _round_cores(image, circles, measure_aspect)
        if circles and multi_fiber:
            # Now that the cladding's size is known, every fibre of that size is looked for
            # (an MT ferrule holds up to 72; the first look kept a few discs per size).
            size = float(np.median([c.r for c in circles]))
            more = disc_candidates(image, [size], ALL_AT_ONE_SCALE)
            circles = _claddings(image, more, circles, size, measure_aspect)
    if circles and multi_fiber:
        # Neighbours on the 250 um pitch that the disc look missed (a fibre close to the
        # frame's edge answers it weakly on the coarse copy it is searched on).
        size = float(np.median([c.r for c in circles]))
        circles = _claddings(image, _pitch_neighbours(circles, size, w, h), circles, size)
    inside = [c for c in circles if _fully_inside(c, w, h)]
    partial = len(circles) - len(inside)
    aspect = float(np.median([c.aspect for c in inside])) if inside else 1.0
    rows = _rows(inside)
    ordered = [inside[i] for row in rows for i in row]
    renumbered, k = [], 0
    for row in rows:
        renumbered.append(tuple(range(k, k + len(row))))
        k += len(row)
    scale: float | None
    source: str | None
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
        aspect=aspect,
    )


def _claddings(
    image: np.ndarray,
    candidates: list[tuple[float, float, float]],
    found: list[Circle],
    size_px: float | None,
    ellipse: bool = False,
) -> list[Circle]:
    """``found`` plus the claddings round ``candidates`` (of about ``size_px`` when given)."""
    circles = list(found)
    for cx, cy, r in candidates:
        # Nothing inside a cladding already found can be another one (but a larger disc
        # round a small circle found first, a particle on a core, may be its fibre).
        if any(math.hypot(cx - o.cx, cy - o.cy) < o.r * 1.05 and r < 1.4 * o.r for o in circles):
            continue
        c = find_cladding(image, cx, cy, r, ellipse=ellipse)
        if c is None:
            continue
        if size_px is not None and not 0.75 < c.r / size_px < 1.33:
            continue
        # Overlapping circles are one thing: the larger (a particle on a fibre is no fibre).
        overlapping = [o for o in circles if math.hypot(c.cx - o.cx, c.cy - o.cy) < max(c.r, o.r)]
        if any(o.r >= c.r * 0.94 for o in overlapping):
            continue
        circles = [o for o in circles if o not in overlapping]
        circles.append(c)
    return circles


def locate_overview(image: np.ndarray, expected: int) -> tuple[Circle, ...] | None:
    """Every fibre of a whole-ferrule view (any dtype, grey or colour), in reading order;
    None unless exactly ``expected`` are found (the caller then shows the plain picture
    instead of guessing which fibre is which)."""
    from grading.image_io import ImageError, normalise, to_gray

    try:
        gray = normalise(to_gray(image))
    except ImageError:
        return None
    found = locate(gray).fibers
    return found if len(found) == expected else None


def find_cladding(
    image: np.ndarray,
    cx: float,
    cy: float,
    r: float,
    ellipse: bool = False,
) -> Circle | None:
    """The verified cladding round a candidate disc centre, or None.

    ``ellipse``: the pixels' shape is unknown, so the cladding is fitted as an
    axis-aligned ellipse (its aspect is the pixels' aspect). A core seen as a
    disc of its own is verified here like a cladding; ``_round_cores`` then
    tells which it is.
    """
    coarse = _edge(image, cx, cy, r, (0.6, 1.45), COARSE_RAYS, ellipse=ellipse, measure=False)
    if coarse is None or coarse.support < 0.4:
        return None
    # The fibre's boundary: its strongest closed edge, either polarity.
    boundary = _around(image, coarse, (0.85, 1.15), ellipse=ellipse)
    if boundary is None:
        return None
    # Narrow, but wide enough to see the levels either side of a blurred edge.
    m = max(0.05, (4.0 + 3.0 * boundary.blur_px) / boundary.r)
    window = (1.0 - m, 1.0 + m)
    boundary = _around(image, boundary, window, polarity=boundary.polarity, ellipse=ellipse)
    if boundary is None or boundary.support < 0.6 or abs(boundary.aspect - 1.0) > ASPECT_LIMIT:
        return None
    inner = _inner_edge(image, boundary, ellipse)
    # Either the ring's outer edge is a clean closed circle, or the glass edge inside
    # it is one, concentric with it (a chipped bevel can spoil the outer edge): two
    # concentric closed edges are evidence enough at a lower share of rays.
    if not (verified(boundary) or (inner and verified(inner, MIN_CONTRAST / 2, PAIRED_SUPPORT))):
        return None
    # Adhesive: the glass ends inside it. A thin dark line at the edge (the glass's
    # chamfer, after its bright rim) is the edge itself: the fibre ends where the
    # ferrule begins.
    glass = inner if inner is not None and _adhesive_ring(image, inner, boundary) else boundary
    # The edge's evidence (support, contrast, blur, polarity) is the boundary's fit.
    return projected(Circle, boundary, cx=glass.cx, cy=glass.cy, r=glass.r, aspect=glass.aspect)


def _around(
    image: np.ndarray, fit: EdgeFit, window: tuple[float, float], **kw: object
) -> EdgeFit | None:
    """``_edge`` on the rings of an edge already fitted (its centre, size and shape)."""
    return _edge(image, fit.cx, fit.cy, fit.r, window, aspect=fit.aspect, **kw)  # type: ignore[arg-type]


def verified(
    fit: EdgeFit, min_contrast: float = MIN_CONTRAST, min_support: float = MIN_SUPPORT
) -> bool:
    """A cladding edge: closed all round, on one circle to a pixel, with a real step."""
    return (
        fit.usable >= 0.5
        and fit.support >= min_support
        and fit.scatter_px <= max(1.0, 0.02 * fit.r)
        and fit.contrast >= min_contrast
        and fit.r >= MIN_RADIUS_PX * 0.9
    )


def refine(
    image: np.ndarray,
    cx: float,
    cy: float,
    r: float,
    window: tuple[float, float],
    n_rays: int = N_RAYS,
) -> Circle | None:
    """Fit the strongest circular edge (either polarity) near a guessed circle."""
    fit = _edge(image, cx, cy, r, window, n_rays)
    if fit is None or fit.support < 0.5:
        return None
    return Circle(fit.cx, fit.cy, fit.r, fit.support, fit.contrast, fit.blur_px, fit.polarity)


def _edge(
    image: np.ndarray,
    cx: float,
    cy: float,
    r: float,
    window: tuple[float, float],
    n_rays: int | None = None,
    polarity: int | None = None,
    ellipse: bool = False,
    aspect: float = 1.0,
    measure: bool = True,
) -> EdgeFit | None:
    """The strongest closed edge between ``window`` times ``r`` from (cx, cy).

    ``aspect``: the rings searched are ellipses of this shape (vertical over
    horizontal radius), ``r`` their horizontal radius. ``n_rays``: by default a
    ray every two pixels of the circle, from 32 to 128. ``measure``: False skips
    the edge's blur and contrast (a first look needs only where it is).
    """
    lo, hi = window
    if n_rays is None:
        n_rays = int(min(N_RAYS, max(COARSE_RAYS, math.pi * r)))
    rays = sample_rays(image, cx, cy, r * lo, r * hi, n_rays, max_samples=64, aspect=aspect)

    def fitted(p: int) -> EdgeFit | None:
        fit = fit_edge(rays, p, ellipse=ellipse, measure=measure)
        return fit if fit is not None and r * lo * 0.9 < fit.r < r * hi * 1.1 else None

    if polarity is not None:
        return fitted(polarity)
    # The stronger polarity first; the other only when it gives no closed edge.
    first = dominant_polarity(rays)
    fit = fitted(first)
    if fit is not None and fit.support >= MIN_SUPPORT:
        return fit
    other = fitted(-first)
    fits = [f for f in (fit, other) if f is not None]
    return max(fits, key=lambda f: f.support * f.contrast) if fits else None


def _inner_edge(image: np.ndarray, boundary: EdgeFit, ellipse: bool = False) -> EdgeFit | None:
    """A closed falling edge concentric with, and just inside, a rising boundary.

    Glass, then a ring darker than both, then ferrule: the glass edge falls, the
    ring's outer edge rises. When the rise is the stronger (a dark fibre on light
    zirconia, or ferrule brighter than glass), it is what the boundary fit
    found; this is the edge inside it, or None.
    """
    if boundary.polarity != DARKER_INSIDE:
        return None
    window = (ADHESIVE_RATIO, 0.995)
    inner = _around(image, boundary, window, polarity=BRIGHTER_INSIDE, ellipse=ellipse)
    if inner is None or inner.r >= boundary.r - max(1.0, 2.0 * boundary.blur_px):
        return None
    # Refit it alone, in a window that stops short of the ring's outer edge.
    gap = (boundary.r - inner.r) / inner.r
    window = (1.0 - gap / 2.0, 1.0 + gap / 2.0)
    inner = _around(image, inner, window, polarity=BRIGHTER_INSIDE, ellipse=ellipse)
    if (
        inner is not None
        and inner.support >= 0.6
        and inner.scatter_px <= max(1.0, 0.02 * inner.r)
        and inner.contrast >= MIN_CONTRAST / 2
        and math.hypot(inner.cx - boundary.cx, inner.cy - boundary.cy)
        <= max(1.5, BORE_OFFSET * inner.r)
    ):
        return inner
    return None


def _adhesive_ring(image: np.ndarray, inner: EdgeFit, outer: EdgeFit) -> bool:
    """Whether the ring between the glass edge and the boundary is adhesive, so that the
    fibre ends at the inner edge: a ring wider than a line, darker than the glass.

    A line under about 3 um (5 % of the radius) is the edge itself: real frames
    show a thin dark line (the bore gap), often after a bright rim, before the
    ferrule, and the fibre is taken to end where the ferrule begins.
    """
    if outer.r - inner.r <= EDGE_LINE * outer.r:
        return False
    return _dark_band(image, inner, outer)


def _dark_band(image: np.ndarray, inner: EdgeFit, outer: EdgeFit) -> bool:
    """Whether the ring between two edges is adhesive: darker than the glass inside it.

    A fibre edge can also show a thin dark diffraction line and a brighter bevel
    before the ferrule; that ring is brighter than the glass and belongs to the
    fibre's edge, which is then the outer one.
    """
    rays = sample_rays(
        image, inner.cx, inner.cy, inner.r - 8.0, outer.r, 64, max_samples=96, aspect=inner.aspect
    )
    level = medians(rays.values, axis=0)
    glass = float(np.median(level[(rays.radii >= inner.r - 6.0) & (rays.radii <= inner.r - 2.0)]))
    band = (rays.radii >= inner.r + 1.5) & (rays.radii <= outer.r - 1.5)
    if not band.any():
        band = (rays.radii > inner.r) & (rays.radii < outer.r)
    if not band.any():
        return False
    ferrule_step = abs(float(level[-1]) - glass)
    return float(np.median(level[band])) < glass - 0.25 * ferrule_step


def _round_cores(image: np.ndarray, circles: list[Circle], ellipse: bool) -> list[Circle]:
    """The claddings, when the circles found are cores seen as discs of their own.

    All the circles of a group share one size, so one (the clearest) tells: when
    a closed edge at a cladding-to-core ratio surrounds it, the cladding round
    each is looked for.
    """
    if not circles:
        return circles
    best = max(circles, key=lambda c: c.support * c.contrast)
    as_fit = EdgeFit(
        best.cx,
        best.cy,
        best.r,
        best.polarity,
        best.support,
        1.0,
        best.contrast,
        best.blur_px,
        0.0,
        best.aspect,
    )
    outer = _cladding_round_core(image, as_fit, ellipse)
    if outer is None:
        return circles
    out = []
    for c in circles:
        found = find_cladding(image, c.cx, c.cy, outer.r, ellipse=ellipse)
        # The edge found round the core may be the adhesive ring's outer one; the glass
        # inside it is the cladding.
        if found is not None and ADHESIVE_RATIO * 0.95 < found.r / outer.r < 1.1:
            out.append(found)
    return out


def _cladding_round_core(image: np.ndarray, fit: EdgeFit, ellipse: bool = False) -> EdgeFit | None:
    """The cladding when ``fit`` is a core seen as a disc of its own, else None.

    A multimode core (50 or 62.5 um), an unusual large core, or a single-mode
    core lit brightly is a closed circle too, and often the most visible one.
    A closed edge concentric with it at a cladding-to-core ratio says which it is.
    """
    h, w = image.shape
    reach = math.hypot(max(fit.cx, w - fit.cx), max(fit.cy, h - fit.cy))
    for lo, hi in CORE_RATIOS:
        if fit.r * lo * 1.2 > reach:
            break
        outer = _around(image, fit, (lo, hi), n_rays=64)
        # A wide window runs off the frame on many rays where the cladding itself does
        # not, and its fit is rough there: the refit in a narrow window round the edge
        # found is what must hold (``verified``).
        if outer is None or outer.support < MIN_SUPPORT * 0.75:
            continue
        if math.hypot(outer.cx - fit.cx, outer.cy - fit.cy) > max(2.0, 0.03 * outer.r):
            continue
        refined = _around(image, outer, (0.9, 1.1), ellipse=ellipse)
        if refined is None or not verified(refined):
            continue
        return refined
    return None


def estimate_scale(
    fibers: list[Circle], rows: tuple[tuple[int, ...], ...]
) -> tuple[float | None, str | None]:
    """um/px (horizontal) from the 250 um pitch where a row shows it, else from the cladding."""
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


def disc_candidates(
    image: np.ndarray, radii: list[float], per_scale: int = PER_SCALE
) -> list[tuple[float, float, float]]:
    """Centres of discs brighter or darker than their surroundings, strongest first.

    At each scale, at most ``per_scale`` discs whose response is at least a third
    of the strongest at that scale (grain makes many weak ones).
    """
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
        # A disc of contrast C gives about 0.74 |C| at its centre, either sign.
        log = np.abs(cv2.Laplacian(blurred, cv2.CV_32F, ksize=1) * np.float32(sigma**2))
        peaks = (log >= cv2.dilate(log, np.ones((3, 3), np.uint8))) & (log > 0.03)
        ys, xs = np.nonzero(peaks)
        if len(ys):
            strong = log[ys, xs] >= 0.3 * float(log[ys, xs].max())
            ys, xs = ys[strong], xs[strong]
        if len(ys) > per_scale:
            keep = np.argpartition(-log[ys, xs], per_scale)[:per_scale]
            ys, xs = ys[keep], xs[keep]
        for y, x in zip(ys, xs, strict=True):
            cx, cy = float((x + 0.5) * f - 0.5), float((y + 0.5) * f - 0.5)
            found.append((float(log[y, x]), cx, cy, r))
    found.sort(reverse=True)
    kept: list[tuple[float, float, float]] = []
    for _resp, cx, cy, r in found:
        if len(kept) >= max(MAX_CANDIDATES, per_scale):
            break
        # The same disc seen at a neighbouring scale; a disc seen at a scale far off
        # (the strongest response is not always at the disc's own size) is kept.
        if any(
            math.hypot(kx - cx, ky - cy) < 0.5 * min(kr, r) and max(kr, r) < 1.35 * min(kr, r)
            for kx, ky, kr in kept
        ):
            continue
        kept.append((cx, cy, r))
    return kept


def _pitch_neighbours(
    circles: list[Circle], size_px: float, w: int, h: int
) -> list[tuple[float, float, float]]:
    """Where the neighbours of the fibres found would sit on an MT ferrule's pitch."""
    pitch = 2.0 * size_px * MT_PITCH_UM / CLADDING_DIAMETER_UM
    row = 2.0 * size_px * MT_ROW_SPACING_UM / CLADDING_DIAMETER_UM
    out = []
    for c in circles:
        for dx, dy in ((-pitch, 0.0), (pitch, 0.0), (0.0, -row), (0.0, row)):
            x, y = c.cx + dx, c.cy + dy
            if -size_px < x < w + size_px and -size_px < y < h + size_px:
                out.append((x, y, size_px))
    return out


def _edge_candidates(image: np.ndarray, radii: list[float]) -> list[tuple[float, float, float]]:
    """Centres voted for by circular edges: a second look when no disc stands out (glass
    nearly the ferrule's grey, outlined by a thin line, on grainy plastic)."""
    out: list[tuple[float, float, float, float]] = []
    for r in radii:
        out += [(score, x, y, r) for score, x, y in circle_centres(image, r, EDGE_CANDIDATES)]
    out.sort(reverse=True)
    return [(x, y, r) for _score, x, y, r in out[:MAX_CANDIDATES]]


def _consistent(circles: list[Circle]) -> list[Circle]:
    """Keep the family of circles that share one cladding size.

    With an unknown scale, other round things (a round particle or pit, the
    guide holes of an MT ferrule, darker and stronger than its fibres) must not
    be taken for claddings. Fibres of an MT ferrule sit on the 250 um pitch, two
    cladding diameters: a group of like-sized circles with two or more such
    neighbours is an array of fibres and wins; otherwise the group whose edges
    are the most complete and strongest wins.
    """
    if len(circles) <= 1:
        return circles
    # A round particle on a fibre lies inside a larger closed circle: it is not a fibre.
    circles = [
        c
        for c in circles
        if not any(o.r > 1.5 * c.r and math.hypot(c.cx - o.cx, c.cy - o.cy) < o.r for o in circles)
    ]
    best: list[Circle] = []
    best_rank = (-1, -1.0)
    for c in circles:
        group = [o for o in circles if abs(o.r - c.r) <= 0.06 * c.r]
        pairs = _pitch_pairs(group)
        rank = (
            pairs if pairs >= 2 else 0,
            sum(o.support * math.sqrt(o.contrast * o.r) for o in group),
        )
        if rank > best_rank:
            best, best_rank = group, rank
    return best


def _pitch_pairs(group: list[Circle]) -> int:
    """Neighbours on one straight row spaced a whole number of MT pitches apart (up to five)."""
    if len(group) < 2:
        return 0
    d = float(np.median([c.diameter for c in group]))
    pitch = d * MT_PITCH_UM / CLADDING_DIAMETER_UM
    count = 0
    for row in _rows(group):
        ordered = sorted((group[i] for i in row), key=lambda c: c.cx)
        for a, b in itertools.pairwise(ordered):
            steps = (b.cx - a.cx) / pitch
            level = abs(b.cy - a.cy) <= 0.1 * d
            if level and 0.9 <= steps <= 5.1 and abs(steps - round(steps)) <= 0.07 * round(steps):
                count += 1
    return count


def _fully_inside(c: Circle, w: int, h: int) -> bool:
    m = 0.5
    ry = c.r * c.aspect
    return (
        c.cx - c.r >= -m and c.cy - ry >= -m and c.cx + c.r <= w - 1 + m and c.cy + ry <= h - 1 + m
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
