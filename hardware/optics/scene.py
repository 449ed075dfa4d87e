"""What a rendered end face contains, in micrometres on the ferrule.

Coordinates follow the connector geometry: origin at the ferrule centre, x to
the right, y down, key up. The renderer turns a ``Scene`` seen through a
``View`` into pixels plus the ground truth of every feature.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from hardware.optics.looks import CLASSIC, Appearance, look

FEATURE_KINDS = ("particle", "pit", "chip", "residue", "scratch")
# How the standard counts each physical feature.
STANDARD_KIND = {
    "particle": "defect",
    "pit": "defect",
    "chip": "defect",
    "residue": "defect",
    "scratch": "scratch",
}
CORE_DIAMETER_UM = {"sm": 9.2, "mm": 50.0, "mm62": 62.5}


class FerruleLayout(Protocol):
    """The shape of a connector the renderer needs; grading's geometry satisfies it
    (read only: the geometry is a frozen dataclass)."""

    @property
    def ferrule(self) -> str: ...
    @property
    def ferrule_size_um(self) -> tuple[float, float]: ...
    @property
    def fiber_positions_um(self) -> tuple[tuple[float, float], ...]: ...
    @property
    def guide_hole_positions_um(self) -> tuple[tuple[float, float], ...]: ...
    @property
    def guide_hole_diameter_um(self) -> float: ...
    @property
    def cladding_diameter_um(self) -> float: ...


class ZoneLike(Protocol):
    """A zone of a rule set as far as coverage goes; grading's ``Zone`` satisfies it."""

    name: str

    @property
    def inner_radius_um(self) -> float: ...

    @property
    def outer_radius_um(self) -> float: ...


@dataclass(frozen=True)
class FiberSpec:
    center_um: tuple[float, float]
    cladding_diameter_um: float = 125.0
    core_diameter_um: float = 9.2


@dataclass(frozen=True)
class Feature:
    """A particle, pit, chip, residue smear or scratch on the end face.

    ``size_um`` is what the standard measures: the smallest enclosing circle of
    a blob, the width of a scratch. ``contrast`` is the fractional change of
    brightness it causes (negative: darker).
    """

    kind: str
    center_um: tuple[float, float]
    size_um: float
    contrast: float = -0.45
    length_um: float = 0.0  # scratches
    angle_deg: float = 0.0  # scratches
    gaps: int = 0  # scratches: how many breaks along the line
    seed: int = 0  # shape of blobs, places of scratch breaks
    loose: bool = True  # loose dirt (cleanable) versus fixed to the glass
    oily: bool = False  # smears under dry cleaning, leaves with wet-to-dry

    def __post_init__(self) -> None:
        if self.kind not in FEATURE_KINDS:
            raise ValueError(f"unknown feature kind {self.kind!r}; known: {FEATURE_KINDS}")
        if not (self.size_um > 0 and math.isfinite(self.size_um)):
            raise ValueError(f"feature size must be a positive number of um, got {self.size_um}")

    @property
    def standard_kind(self) -> str:
        return STANDARD_KIND[self.kind]

    def outline_um(self) -> np.ndarray:
        """Boundary points in ferrule micrometres (N x 2)."""
        if self.kind == "scratch":
            return _scratch_outline(self)
        return _blob_outline(self)


@dataclass(frozen=True)
class Scene:
    ferrule: str  # "ceramic" or "mt"
    ferrule_size_um: tuple[float, float]
    fibers: tuple[FiberSpec, ...]
    guide_holes_um: tuple[tuple[float, float], ...] = ()
    guide_hole_diameter_um: float = 0.0
    features: tuple[Feature, ...] = ()
    texture_seed: int = 0
    pins: bool = False  # a male MT connector: guide pins stand in the holes

    def with_features(self, features: tuple[Feature, ...]) -> Scene:
        return replace(self, features=tuple(features))


@dataclass(frozen=True)
class View:
    """Where the probe looks and how it sees.

    ``um_per_px`` is the horizontal scale. ``pixel_aspect`` is a pixel's width
    over its height (1.0 square; 16/15 PAL and 10/11 NTSC analog capture), so
    the vertical scale is ``um_per_px / pixel_aspect`` and a cladding is an
    ellipse in pixels. ``appearance`` is an ``Appearance`` or a look's name.
    """

    center_um: tuple[float, float] = (0.0, 0.0)
    um_per_px: float = 0.3125
    width_px: int = 1280
    height_px: int = 960
    blur_um: float = 0.35  # optical point spread (sigma); defocus adds to it
    noise: float = 0.010  # sensor noise sigma, as a fraction of full scale
    light_gradient: float = 0.0  # fractional brightness change across the field
    light_angle_deg: float = 0.0
    vignetting: float = 0.0  # fractional fall-off at the corners
    exposure: float = 1.0
    flip_x: bool = False  # probe optics that mirror the image
    appearance: Appearance = CLASSIC
    pixel_aspect: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.appearance, str):
            object.__setattr__(self, "appearance", look(self.appearance))
        if not (math.isfinite(self.pixel_aspect) and 0.5 <= self.pixel_aspect <= 2.0):
            raise ValueError(f"pixel_aspect must be within 0.5-2, got {self.pixel_aspect}")
        if not (math.isfinite(self.um_per_px) and self.um_per_px > 0):
            raise ValueError(f"um_per_px must be a positive number, got {self.um_per_px}")

    @property
    def look(self) -> str:
        return self.appearance.name

    @property
    def um_per_px_x(self) -> float:
        return self.um_per_px

    @property
    def um_per_px_y(self) -> float:
        return self.um_per_px / self.pixel_aspect

    @property
    def field_um(self) -> tuple[float, float]:
        return self.width_px * self.um_per_px_x, self.height_px * self.um_per_px_y

    def coverage(
        self, center_um: tuple[float, float], zones: Iterable[ZoneLike]
    ) -> dict[str, float]:
        """The share of each zone's annulus around ``center_um`` that this view sees."""
        fw, fh = self.field_um
        dx, dy = self.center_um[0] - center_um[0], self.center_um[1] - center_um[1]
        return zone_shares(dx - fw / 2, dx + fw / 2, dy - fh / 2, dy + fh / 2, zones)


@dataclass(frozen=True)
class FeatureTruth:
    kind: str  # the standard's kind: "defect" or "scratch"
    physical: str  # particle, pit, chip, residue, scratch
    size_um: float
    center_um: tuple[float, float]
    center_px: tuple[float, float]
    outline_um: np.ndarray = field(repr=False)
    length_um: float = 0.0


@dataclass(frozen=True)
class FiberTruth:
    number: int  # 1-based, in the layout's numbering
    center_um: tuple[float, float]
    center_px: tuple[float, float]
    diameter_px: float  # the cladding across, in pixels along x
    fully_visible: bool  # the whole cladding is inside the frame
    diameter_px_y: float = 0.0  # the cladding across, in pixels along y
    core_diameter_um: float = 0.0
    core_visible: bool = False  # the look draws the core as a disc of its own

    @property
    def is_ellipse(self) -> bool:
        return abs(self.diameter_px_y - self.diameter_px) > 1e-9


@dataclass(frozen=True)
class RenderTruth:
    um_per_px: float  # horizontal scale
    fibers: tuple[FiberTruth, ...]
    features: tuple[FeatureTruth, ...]
    um_per_px_y: float = 0.0  # vertical scale (equal to um_per_px for square pixels)
    width_px: int = 0
    height_px: int = 0
    look: str = "classic"

    @property
    def pixel_aspect(self) -> float:
        return self.um_per_px / self.um_per_px_y

    def coverage(self, fiber: FiberTruth, zones: Iterable[ZoneLike]) -> dict[str, float]:
        """The share of each zone's annulus (around ``fiber``) that lies inside the frame."""
        cx, cy = fiber.center_px
        sx, sy = self.um_per_px, self.um_per_px_y
        # The frame's pixel edges, in micrometres from the fibre centre.
        x0, x1 = (-0.5 - cx) * sx, (self.width_px - 0.5 - cx) * sx
        y0, y1 = (-0.5 - cy) * sy, (self.height_px - 0.5 - cy) * sy
        return zone_shares(x0, x1, y0, y1, zones)


def zone_shares(
    x0: float, x1: float, y0: float, y1: float, zones: Iterable[ZoneLike]
) -> dict[str, float]:
    """Share of each zone's annulus (centred at the origin) inside the box, in um."""
    out = {}
    for z in zones:
        r0, r1 = z.inner_radius_um, z.outer_radius_um
        whole = math.pi * (r1 * r1 - r0 * r0)
        seen = _disc_area_in_box(r1, x0, x1, y0, y1) - _disc_area_in_box(r0, x0, x1, y0, y1)
        share = min(1.0, max(0.0, seen / whole)) if whole > 0 else 1.0
        out[z.name] = round(share, 6)  # a zone wholly in view is exactly 1
    return out


def _disc_area_in_box(r: float, x0: float, x1: float, y0: float, y1: float) -> float:
    """Area of the disc of radius ``r`` at the origin inside the box [x0, x1] x [y0, y1]."""
    lo, hi = max(-r, x0), min(r, x1)
    if r <= 0 or hi <= lo or y1 <= -r or y0 >= r:
        return 0.0
    if x0 <= -r and x1 >= r and y0 <= -r and y1 >= r:
        return math.pi * r * r
    n = 4096
    # Midpoint rule over x in the angle t (x = r sin t): smooth at the disc's sides.
    t = np.linspace(math.asin(lo / r), math.asin(hi / r), n + 1)
    tm = (t[:-1] + t[1:]) / 2.0
    half = r * np.cos(tm)
    chord = np.clip(np.minimum(half, y1) - np.maximum(-half, y0), 0.0, None)
    return float(np.sum(chord * r * np.cos(tm)) * (t[1] - t[0]))


def scene_from_layout(
    layout: FerruleLayout,
    fiber: str = "sm",
    features: tuple[Feature, ...] = (),
    texture_seed: int = 0,
    pins: bool = False,
) -> Scene:
    """A clean end face of the given connector layout (features optional).

    ``fiber``: "sm" (9.2 um core), "mm" (50 um core) or "mm62" (62.5 um core).
    """
    if fiber in CORE_DIAMETER_UM:
        core = CORE_DIAMETER_UM[fiber]
    else:
        core = CORE_DIAMETER_UM["mm" if fiber.startswith("mm") else "sm"]
    return Scene(
        ferrule=layout.ferrule,
        ferrule_size_um=tuple(layout.ferrule_size_um),
        fibers=tuple(
            FiberSpec(
                center_um=tuple(p),
                cladding_diameter_um=layout.cladding_diameter_um,
                core_diameter_um=core,
            )
            for p in layout.fiber_positions_um
        ),
        guide_holes_um=tuple(tuple(p) for p in layout.guide_hole_positions_um),
        guide_hole_diameter_um=layout.guide_hole_diameter_um,
        features=tuple(features),
        texture_seed=texture_seed,
        pins=pins,
    )


def _blob_outline(f: Feature) -> np.ndarray:
    """A star-shaped irregular blob scaled so its enclosing circle is ``size_um``."""
    rng = np.random.default_rng(f.seed)
    theta = np.linspace(0.0, 2 * math.pi, 96, endpoint=False)
    if f.kind == "pit":
        amp = (0.04, 0.03, 0.0)
    elif f.kind == "residue":
        amp = (0.22, 0.15, 0.10)
    else:
        amp = (0.14, 0.10, 0.06)
    r = np.ones_like(theta)
    for k, a in zip((2, 3, 5), amp, strict=True):
        r += a * rng.uniform(0.3, 1.0) * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
    aspect = 1.0 if f.kind == "pit" else rng.uniform(0.7, 1.0)
    x = r * np.cos(theta)
    y = r * np.sin(theta) * aspect
    rot = rng.uniform(0, math.pi)
    xr = x * math.cos(rot) - y * math.sin(rot)
    yr = x * math.sin(rot) + y * math.cos(rot)
    pts = np.stack([xr, yr], axis=1)
    (cx, cy), radius = _min_enclosing_circle(pts)
    scale = (f.size_um / 2.0) / radius
    pts = (pts - [cx, cy]) * scale
    return pts + np.asarray(f.center_um, dtype=float)


def _scratch_outline(f: Feature) -> np.ndarray:
    a = math.radians(f.angle_deg)
    d = np.array([math.cos(a), math.sin(a)])
    n = np.array([-d[1], d[0]])
    c = np.asarray(f.center_um, dtype=float)
    half_l, half_w = f.length_um / 2.0, f.size_um / 2.0
    corners = [c - d * half_l - n * half_w, c + d * half_l - n * half_w]
    corners += [c + d * half_l + n * half_w, c - d * half_l + n * half_w]
    return np.array(corners)


def _min_enclosing_circle(pts: np.ndarray) -> tuple[tuple[float, float], float]:
    import cv2

    (cx, cy), r = cv2.minEnclosingCircle(pts.astype(np.float32))
    return (float(cx), float(cy)), float(r)


def scratch_segments(f: Feature) -> list[tuple[np.ndarray, np.ndarray]]:
    """The drawn pieces of a scratch: the full line minus ``gaps`` breaks."""
    a = math.radians(f.angle_deg)
    d = np.array([math.cos(a), math.sin(a)])
    c = np.asarray(f.center_um, dtype=float)
    start, end = c - d * f.length_um / 2.0, c + d * f.length_um / 2.0
    if f.gaps <= 0:
        return [(start, end)]
    rng = np.random.default_rng(f.seed)
    # Breaks of 1.5-4 um at random places, never at the very ends.
    cuts = np.sort(rng.uniform(0.15, 0.85, size=f.gaps)) * f.length_um
    pieces, t0 = [], 0.0
    for cut in cuts:
        gap = rng.uniform(1.5, 4.0)
        t1 = max(t0, cut - gap / 2.0)
        if t1 > t0:
            pieces.append((start + d * t0, start + d * t1))
        t0 = cut + gap / 2.0
    pieces.append((start + d * t0, end))
    return pieces
