"""What a clean fibre looks like round its centre: core, rings, adhesive, bore.

A fibre is not a flat disc. A multimode core (50 or 62.5 um) is often its own
disc, brighter or darker than the cladding, sometimes with an index ring
round it; a single-mode core can show as a bright 9 um dot; outside the glass
a ring of adhesive fills the ferrule bore, whose edge need not be concentric
with the fibre. None of these is dirt. They are found here as closed edges
round the fibre, so that the clean-face model expects them; anything that is
not a closed, concentric circle stays something to be judged.

A particle sitting on the core is the case to fear: every small ring round the
centre is covered by it, just as by a core. So an inner circle is structure
only when it is a clean circle all round and of a size a core or an index ring
has: a single-mode core only as a brighter dot of 6-12 um concentric with the
cladding to a micrometre, anything else only from 20 um across and within
2 um of the cladding's centre (the core-cladding concentricity of a real
multimode fibre).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from grading.locate import BORE_OFFSET, Circle
from grading.rays import (
    BRIGHTER_INSIDE,
    DARKER_INSIDE,
    EdgeFit,
    RayProfile,
    fit_crossing,
    fit_edge,
    sample_rays,
)
from grading.robust import mad

N_RAYS = 96
MAX_RINGS = 4
SM_CORE_UM = (6.0, 12.0)
MIN_RING_UM = 20.0
MAX_OFFSET_UM = 2.0
MIN_STEP = 0.05  # a ring's step, as a share of the glass level, that needs a plateau
CORE_CENTRE_UM = 0.3  # a faint single-mode core's fitted centre lies this close to the cladding's
TOLERANCE_UM = 0.5  # a closed edge's points lie this close to its circle
BORE_REACH = 1.3  # the bore edge lies within this many cladding radii


@dataclass(frozen=True)
class Ring:
    """A closed circle round (nearly) the cladding's centre, inside the glass."""

    cx: float
    cy: float
    r_px: float
    width_px: float  # how far either side of r_px the brightness changes (blur, grading)


@dataclass(frozen=True)
class Structure:
    rings: tuple[Ring, ...] = ()  # innermost first
    bore: tuple[float, float, float] | None = None  # (cx, cy, r) px: the adhesive's outer edge

    def knots(self, c: Circle) -> tuple[tuple[float, float, float], ...]:
        """(radius, cx, cy) of every closed edge, the cladding's included, innermost first:
        the centres a clean-face model draws its rings round."""
        out = [(q.r_px, q.cx, q.cy) for q in self.rings]
        out.append((c.r, c.cx, c.cy))
        if self.bore is not None and self.bore[2] > c.r:
            out.append((self.bore[2], self.bore[0], self.bore[1]))
        return tuple(out)


def find_structure(
    image: np.ndarray, c: Circle, um_per_px: float, fiber: str | None = None
) -> Structure:
    """The concentric structure of the fibre ``c`` (image pixels, square)."""
    return Structure(rings=_inner_rings(image, c, um_per_px, fiber), bore=_bore(image, c))


def _inner_rings(
    image: np.ndarray, c: Circle, um_per_px: float, fiber: str | None
) -> tuple[Ring, ...]:
    glass = c.r - 3.0 * c.blur_px - 2.0
    if glass < 12:
        return ()
    rays = sample_rays(
        image, c.cx, c.cy, 1.0, glass, N_RAYS, max_samples=max(16, int(glass)), smooth_px=1.0
    )
    if not rays.valid.all():
        return ()
    # A concentric circle is a step at one radius on every ray: the median over the
    # rays keeps it and drops dirt, which covers only some of them.
    profile = np.median(rays.deriv, axis=0)
    noise = mad(profile) + 1e-6
    strength = np.abs(profile)
    m = len(profile)
    peaks = [
        i
        for i in range(2, m - 2)
        if strength[i] >= strength[i - 1]
        and strength[i] > strength[i + 1]
        and strength[i] >= max(6.0 * noise, 0.002)
    ]
    peaks.sort(key=lambda i: -strength[i])
    # One edge is one group of peaks: a blurred edge spans several samples of nearly
    # equal strength, and the fit from one of them may hold where another's does not.
    apart = max(3, round((3.0 * c.blur_px + 2.0) / rays.step))
    groups: list[list[int]] = []
    for i in peaks:
        for grp in groups:
            if abs(i - grp[0]) <= apart:
                grp.append(i)
                break
        else:
            groups.append([i])
    rings: list[Ring] = []
    for grp in groups[:MAX_RINGS]:
        # The peak and the samples either side of it (a window that starts a sample
        # earlier or later can hold where the peak's own does not).
        near = {j for k in grp[:2] for j in range(k - 2, k + 3) if 2 <= j < m - 2}
        for i in sorted(near, key=lambda j: -strength[j])[:5]:
            polarity = BRIGHTER_INSIDE if profile[i] < 0 else DARKER_INSIDE
            ring = _ring_at(rays, i, polarity, c, um_per_px, fiber)
            if ring is not None:
                if all(abs(ring.r_px - o.r_px) > 2.0 for o in rings):
                    rings.append(ring)
                break
    return tuple(sorted(rings, key=lambda q: q.r_px))


def _ring_at(
    rays: RayProfile,
    i: int,
    polarity: int,
    c: Circle,
    um_per_px: float,
    fiber: str | None,
) -> Ring | None:
    r = float(rays.radii[i])
    half = max(3, round(max(3.0, 0.08 * r) / rays.step))
    lo, hi = max(1, i - half), min(len(rays.radii) - 1, i + half + 1)
    tolerance = max(1.0, TOLERANCE_UM / um_per_px)

    def circular(f: EdgeFit | None, least: float = 0.8) -> bool:
        return f is not None and f.support >= least and f.scatter_px <= max(tolerance, 0.012 * f.r)

    fit = fit_edge(rays, polarity, lo=lo, hi=hi)
    # A core or index ring 20 um and more across, its steepest points on one circle
    # on most rays, is structure even where uneven light or grain spoils a third of
    # them (its centre, from every ray, is what the model needs).
    big = fit is not None and 2.0 * fit.r * um_per_px >= MIN_RING_UM and circular(fit, 0.6)
    fits = [fit]
    if not (circular(fit) or big):
        # A soft edge (a lit single-mode core): where each ray crosses half-way. On
        # grainy glass either reading may be the one that holds; the crossing first.
        soft = fit_crossing(
            rays,
            polarity,
            max(1, i // 3),
            min(len(rays.radii), 2 * i + 2),
            tolerance_px=max(1.0, TOLERANCE_UM / um_per_px),
        )
        fits = [soft, fit]
    for f in fits:
        if f is not None:
            ring = _accepted(rays, f, i + half, polarity, c, um_per_px, fiber, circular(f), big)
            if ring is not None:
                return ring
    return None


def _accepted(
    rays: RayProfile,
    fit: EdgeFit,
    outside: int,
    polarity: int,
    c: Circle,
    um_per_px: float,
    fiber: str | None,
    circular: bool,
    big: bool,
) -> Ring | None:
    """The fitted edge as a ring of the clean face, or None when dirt could look so."""
    d_um = 2.0 * fit.r * um_per_px
    off_um = math.hypot(fit.cx - c.cx, fit.cy - c.cy) * um_per_px
    sm_size = (
        SM_CORE_UM[0] <= d_um <= SM_CORE_UM[1]
        and polarity == BRIGHTER_INSIDE
        and fiber in (None, "sm")
    )
    # A faint core on grainy glass is a noisy circle ray by ray, but its centre,
    # fitted over every ray, lies on the cladding's to a fraction of a micrometre:
    # a particle landing there, round, brighter than glass and core-sized, is the
    # one thing it could be mistaken for.
    faint_core = sm_size and fit.support >= 0.5 and off_um <= max(CORE_CENTRE_UM, 0.5 * um_per_px)
    if not (circular or faint_core or (big and d_um >= MIN_RING_UM)):
        return None  # not a clean circle all round
    level = float(np.median(rays.values[:, min(len(rays.radii) - 1, outside)]))
    if abs(fit.contrast) < MIN_STEP * abs(level):
        return None  # faint enough for the held glass level to take in: no plateau of its own
    sm_core = sm_size and off_um <= max(0.8, um_per_px)
    if not (sm_core or (d_um >= MIN_RING_UM and off_um <= MAX_OFFSET_UM)):
        return None
    return Ring(cx=fit.cx, cy=fit.cy, r_px=fit.r, width_px=3.0 * max(fit.blur_px, 0.5) + 2.0)


def _bore(image: np.ndarray, c: Circle) -> tuple[float, float, float] | None:
    """The adhesive ring's outer edge, when it shows as a closed circle of its own."""
    start = c.r + 3.0 * c.blur_px + 2.0
    stop = c.r * BORE_REACH
    if stop - start < 4:
        return None
    rays = sample_rays(image, c.cx, c.cy, start, stop, N_RAYS, max_samples=64)
    if rays.valid.mean() < 0.5:
        return None
    fits = [fit_edge(rays, p) for p in (BRIGHTER_INSIDE, DARKER_INSIDE)]
    fits = [
        f
        for f in fits
        if f is not None
        and f.support >= 0.7
        and f.scatter_px <= max(1.0, 0.01 * f.r)
        and math.hypot(f.cx - c.cx, f.cy - c.cy) <= BORE_OFFSET * c.r
    ]
    if not fits:
        return None
    best = max(fits, key=lambda f: f.support * f.contrast)
    return best.cx, best.cy, best.r
