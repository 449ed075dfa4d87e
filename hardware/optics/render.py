"""Render an end face as an inspection probe sees it, with its ground truth.

Bright-field reflection. The levels of each surface come from the View's
``Appearance`` (``looks.py``): the classic look has bright glass on a mid-grey
ceramic ferrule with a fine grain, MT plastic darker and grainy, a faint core
and a dark epoxy ring; other looks darken the fibre, show the core, widen the
adhesive ring, add a bore edge, or pass the frame through analog video. Dirt
darkens (or brightens) the surface by its contrast. Pixels may be non-square
(``View.pixel_aspect``). The optical image (everything but sensor noise) is
separated from ``expose`` so the simulated probe can render a scene once and
add fresh noise to every frame.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from hardware.optics import video
from hardware.optics.looks import CLASSIC, Appearance
from hardware.optics.scene import (
    Feature,
    FeatureTruth,
    FiberSpec,
    FiberTruth,
    RenderTruth,
    Scene,
    View,
    scratch_segments,
)
from hardware.optics.texture import value_noise

OUTSIDE = 0.05  # beyond the ferrule
GUIDE_HOLE = 0.04
GUIDE_PIN = 0.70
GUIDE_PIN_RIM = 0.25
CERAMIC = CLASSIC.ceramic
MT_PLASTIC = CLASSIC.plastic
EPOXY = CLASSIC.adhesive
CLADDING = CLASSIC.cladding
# Cores are faint in reflected light (index steps of a fraction of a per cent),
# unless the look says otherwise.
CORE_SM = 0.02  # added to the cladding level
CORE_MM = -0.018
CORE_VISIBLE = 0.035  # a core this far from the cladding level is a disc of its own
EPOXY_WIDTH_UM = {"ceramic": 1.5, "mt": 2.5}
SUPERSAMPLE = 4


@dataclass(frozen=True)
class RenderedFrame:
    image: np.ndarray  # uint8, H x W
    truth: RenderTruth


class PixelGrid:
    """Maps between pixel centres and ferrule micrometres for one view."""

    def __init__(self, view: View) -> None:
        self.view = view
        self.ux, self.uy = view.um_per_px_x, view.um_per_px_y  # pixel width, height in um
        self.square = self.ux == self.uy
        self.sx = -self.ux if view.flip_x else self.ux
        self.sy = self.uy
        self.cx_px = (view.width_px - 1) / 2.0
        self.cy_px = (view.height_px - 1) / 2.0
        self.x_um = view.center_um[0] + (np.arange(view.width_px) - self.cx_px) * self.sx
        self.y_um = view.center_um[1] + (np.arange(view.height_px) - self.cy_px) * self.sy

    def to_px(self, x_um: float, y_um: float) -> tuple[float, float]:
        return (
            (x_um - self.view.center_um[0]) / self.sx + self.cx_px,
            (y_um - self.view.center_um[1]) / self.sy + self.cy_px,
        )

    def points_to_px(self, pts_um: np.ndarray) -> np.ndarray:
        out = np.empty_like(pts_um, dtype=np.float64)
        out[:, 0] = (pts_um[:, 0] - self.view.center_um[0]) / self.sx + self.cx_px
        out[:, 1] = (pts_um[:, 1] - self.view.center_um[1]) / self.sy + self.cy_px
        return out

    def box(self, x_um: float, y_um: float, radius_um: float) -> tuple[slice, slice] | None:
        """Rows and columns of the pixels within ``radius_um`` of a point, or None."""
        px, py = self.to_px(x_um, y_um)
        rx, ry = radius_um / self.ux + 2, radius_um / self.uy + 2
        c0, c1 = max(0, math.floor(px - rx)), min(self.view.width_px, math.ceil(px + rx) + 1)
        r0, r1 = max(0, math.floor(py - ry)), min(self.view.height_px, math.ceil(py + ry) + 1)
        if c0 >= c1 or r0 >= r1:
            return None
        return slice(r0, r1), slice(c0, c1)


def render(scene: Scene, view: View, seed: int = 0) -> RenderedFrame:
    """One frame: optics, then sensor noise drawn from ``seed``."""
    optical = render_optical(scene, view)
    rng = np.random.default_rng(seed)
    return RenderedFrame(image=expose(optical, view, rng), truth=truth_for(scene, view))


def render_optical(scene: Scene, view: View) -> np.ndarray:
    """Float32 image in [0, 1] before sensor noise: surface, dirt, light, blur."""
    grid = PixelGrid(view)
    ap = view.appearance
    img = _ferrule(scene, grid, ap)
    for hx, hy in scene.guide_holes_um:
        r = scene.guide_hole_diameter_um / 2.0
        _disc(img, grid, (hx, hy), r, GUIDE_HOLE)
        if scene.pins:
            # A steel pin end-on: a polished bright face inside a dark chamfer.
            _disc(img, grid, (hx, hy), r * 0.92, GUIDE_PIN_RIM)
            _disc(img, grid, (hx, hy), r * 0.75, GUIDE_PIN)
    for fiber in scene.fibers:
        _fiber(img, grid, fiber, ap, scene.ferrule)
    for feature in scene.features:
        _feature(img, grid, feature)
    _illuminate(img, view)
    sigma_px = view.blur_um / grid.ux
    if sigma_px > 0.2:
        sigma_y = sigma_px if grid.square else view.blur_um / grid.uy
        cv2.GaussianBlur(
            img, (0, 0), sigma_px, dst=img, sigmaY=sigma_y, borderType=cv2.BORDER_REFLECT
        )
    if ap.is_video:
        img = video.fields(img, ap)
    return img


def adhesive_width_um(ap: Appearance, ferrule: str) -> float:
    if ap.adhesive_width_um is not None:
        return ap.adhesive_width_um
    return EPOXY_WIDTH_UM.get(ferrule, 2.0)


def core_contrast(ap: Appearance, core_diameter_um: float) -> float:
    """What the core adds to the cladding level in this look."""
    if ap.core_contrast is not None:
        return ap.core_contrast
    return CORE_SM if core_diameter_um < 20 else CORE_MM


def _fiber(
    img: np.ndarray, grid: PixelGrid, fiber: FiberSpec, ap: Appearance, ferrule: str
) -> None:
    """Bore edge, adhesive ring, cladding (with its bevel line and rim) and core, outside in."""
    c = fiber.center_um
    r_clad = fiber.cladding_diameter_um / 2.0
    r_bore = r_clad + adhesive_width_um(ap, ferrule)
    # A fibre need not sit in the middle of its bore: the adhesive ring is then wider
    # on one side, and the bore edge is a circle of its own.
    bore_c = (c[0] + ap.bore_offset_um, c[1])
    if ap.bore_edge_width_um > 0:
        _disc(img, grid, bore_c, r_bore + ap.bore_edge_width_um, ap.bore_edge)
    if r_bore > r_clad:
        _disc(img, grid, bore_c, r_bore, ap.adhesive)
    r_glass = r_clad
    for width, level in ((ap.bevel_width_um, ap.bevel), (ap.rim_width_um, ap.rim)):
        if width > 0:
            _disc(img, grid, c, r_glass, level)
            r_glass -= width
    _disc(img, grid, c, r_glass, ap.cladding)
    core = min(1.0, max(0.0, ap.cladding + core_contrast(ap, fiber.core_diameter_um)))
    _disc(img, grid, c, fiber.core_diameter_um / 2.0, core)


def expose(
    optical: np.ndarray,
    view: View,
    rng: np.random.Generator,
    noise_scale: np.ndarray | None = None,
) -> np.ndarray:
    """Sensor: gain, shot-like and read noise, 8-bit quantisation.

    ``noise_scale`` (from ``noise_scale_for``) may be passed in when many frames
    are exposed from one optical image, as the simulated probe does.
    """
    signal = optical if view.exposure == 1.0 else optical * np.float32(view.exposure)
    scale = noise_scale if noise_scale is not None else noise_scale_for(optical, view)
    ap = view.appearance
    if ap.line_jitter_px > 0:
        signal = video.line_jitter(signal, ap.line_jitter_px, rng)
    noise = _noise(signal.shape, rng)
    out = cv2.multiply(noise, scale)
    out = cv2.add(out, signal)
    if ap.video_noise > 0:
        out = cv2.add(out, video.composite_noise(signal.shape, ap.video_noise, rng))
    # Saturating, rounding conversion to 8 bits in one pass (clips below 0 and above 1).
    return cv2.multiply(out, 255.0, dtype=cv2.CV_8U)


def noise_scale_for(optical: np.ndarray, view: View) -> np.ndarray:
    """Read noise plus a signal-dependent (shot-like) part, as on a real sensor."""
    # In place on one array (the same operations in the same order as the formula
    # noise * (0.6 + 0.5 * sqrt(max(signal, 0))): five passes, no temporaries.
    out = optical * np.float32(view.exposure)
    np.maximum(out, 0, out=out)
    np.sqrt(out, out=out)
    out *= np.float32(0.5)
    out += np.float32(0.6)
    out *= np.float32(view.noise)
    return out


_BANK: dict[tuple[int, int], np.ndarray] = {}


def _noise(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Unit normal noise for one frame, cut at a random place from a larger bank.

    Drawing 1.2 million normals per frame costs more than the rest of a frame;
    a bank three frames high, entered at a random row and column, gives noise
    that differs from frame to frame at the cost of a copy.
    """
    h, w = shape
    bank = _BANK.get(shape)
    if bank is None:
        bank = np.random.default_rng(12345).standard_normal((3 * h, w + 64), dtype=np.float32)
        _BANK[shape] = bank
    r = int(rng.integers(0, 2 * h))
    c = int(rng.integers(0, 64))
    out = bank[r : r + h, c : c + w]
    if rng.random() < 0.5:
        out = out[::-1]
    return np.ascontiguousarray(out)


def truth_for(scene: Scene, view: View) -> RenderTruth:
    grid = PixelGrid(view)
    ap = view.appearance
    fibers = []
    for i, fiber in enumerate(scene.fibers, start=1):
        cx, cy = grid.to_px(*fiber.center_um)
        rx = fiber.cladding_diameter_um / 2.0 / grid.ux
        ry = fiber.cladding_diameter_um / 2.0 / grid.uy
        inside = (
            cx - rx >= -0.5
            and cy - ry >= -0.5
            and cx + rx <= view.width_px - 0.5
            and cy + ry <= view.height_px - 0.5
        )
        fibers.append(
            FiberTruth(
                number=i,
                center_um=tuple(fiber.center_um),
                center_px=(cx, cy),
                diameter_px=2 * rx,
                fully_visible=inside,
                diameter_px_y=2 * ry,
                core_diameter_um=fiber.core_diameter_um,
                core_visible=abs(core_contrast(ap, fiber.core_diameter_um)) >= CORE_VISIBLE,
            )
        )
    features = []
    for f in scene.features:
        outline = f.outline_um()
        center = grid.to_px(*f.center_um)
        features.append(
            FeatureTruth(
                kind=f.standard_kind,
                physical=f.kind,
                size_um=f.size_um,
                center_um=tuple(f.center_um),
                center_px=center,
                outline_um=outline,
                length_um=f.length_um,
            )
        )
    return RenderTruth(
        um_per_px=grid.ux,
        fibers=tuple(fibers),
        features=tuple(features),
        um_per_px_y=grid.uy,
        width_px=view.width_px,
        height_px=view.height_px,
        look=ap.name,
    )


def _ferrule(scene: Scene, grid: PixelGrid, ap: Appearance) -> np.ndarray:
    x, y = grid.x_um, grid.y_um
    tex = _texture(scene, x, y)
    if ap.grain != 1.0:
        tex *= np.float32(ap.grain)
    base = ap.plastic if scene.ferrule == "mt" else ap.ceramic
    img = tex + np.float32(base)
    w, h = scene.ferrule_size_um
    s = max(grid.ux, grid.uy)
    # Only a view that reaches the ferrule's edge needs the edge drawn.
    if scene.ferrule == "mt":
        inside = (
            max(abs(x[0]), abs(x[-1])) < w / 2.0 - s and max(abs(y[0]), abs(y[-1])) < h / 2.0 - s
        )
    else:
        corner = max(np.hypot(xx, yy) for xx in (x[0], x[-1]) for yy in (y[0], y[-1]))
        inside = corner < w / 2.0 - s
    if inside:
        return img
    if scene.ferrule == "mt":
        outside_um = np.maximum(np.abs(x)[None, :] - w / 2.0, np.abs(y)[:, None] - h / 2.0)
    else:
        outside_um = np.hypot(x[None, :], y[:, None]) - w / 2.0
    cover = np.clip(0.5 - outside_um / s, 0.0, 1.0).astype(np.float32)
    return img * cover + np.float32(OUTSIDE) * (1.0 - cover)


def _texture(scene: Scene, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The ferrule's grain. Fine views compute it at half size and enlarge it once:
    the finest grain still spans several pixels, at a quarter of the cost."""
    s = abs(float(x[1] - x[0])) if len(x) > 1 else 1.0
    if len(y) > 1:
        s = max(s, abs(float(y[1] - y[0])))
    finest = 1.5 if scene.ferrule == "mt" else 1.2
    if finest / s >= 4.0 and len(x) >= 64 and len(y) >= 64:
        half = _texture(scene, x[::2], y[::2])
        # Full pixel j lies exactly on half-size sample j / 2 (resize would shift it).
        m = np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]])
        return cv2.warpAffine(
            half,
            m,
            (len(x), len(y)),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
    seed = scene.texture_seed
    if scene.ferrule == "mt":
        tex = 0.055 * value_noise(x, y, 4.0, seed) + 0.03 * value_noise(x, y, 1.5, seed + 1)
        fleck = value_noise(x, y, 2.5, seed + 2)
        tex += np.clip(fleck - 0.55, 0.0, None) * 0.35  # glass filler glints
        return tex.astype(np.float32)
    tex = 0.03 * value_noise(x, y, 1.2, seed) + 0.015 * value_noise(x, y, 5.0, seed + 1)
    return tex.astype(np.float32)


def _disc(
    img: np.ndarray, grid: PixelGrid, center_um: tuple[float, float], radius_um: float, level: float
) -> None:
    box = grid.box(center_um[0], center_um[1], radius_um)
    if box is None:
        return
    rows, cols = box
    dx = grid.x_um[cols] - center_um[0]
    dy = grid.y_um[rows] - center_um[1]
    r = np.sqrt(dx[None, :] ** 2 + dy[:, None] ** 2)
    if grid.square:
        step = grid.ux
    else:
        # The pixel's extent along the radius: the edge ramp spans one pixel there.
        step = np.hypot(dx[None, :] * grid.ux, dy[:, None] * grid.uy) / np.maximum(r, 1e-9)
    cover = np.clip((radius_um - r) / step + 0.5, 0.0, 1.0).astype(np.float32)
    patch = img[rows, cols]
    patch += (np.float32(level) - patch) * cover


def feature_layer(view: View, feature: Feature) -> np.ndarray:
    """The brightness factor one feature puts on a frame of ``view`` (1.0 where it is not):
    for things that are not on the end face, like a smudge on the probe's lens."""
    layer = np.ones((view.height_px, view.width_px), np.float32)
    _feature(layer, PixelGrid(view), feature)
    return layer


def _feature(img: np.ndarray, grid: PixelGrid, f: Feature) -> None:
    cover, box = (_scratch_cover if f.kind == "scratch" else _blob_cover)(grid, f)
    if cover is None:
        return
    rows, cols = box
    patch = img[rows, cols]
    patch *= 1.0 + np.float32(f.contrast) * cover


def _blob_cover(grid: PixelGrid, f: Feature):
    outline = f.outline_um()
    radius = float(np.max(np.hypot(*(outline - np.asarray(f.center_um)).T)))
    soft_um = 0.5 + 0.03 * f.size_um if f.kind == "residue" else 0.0
    box = grid.box(f.center_um[0], f.center_um[1], radius + 3 * soft_um + 1.0)
    if box is None:
        return None, None
    rows, cols = box
    h, w = rows.stop - rows.start, cols.stop - cols.start
    pts = grid.points_to_px(outline) - [cols.start, rows.start]
    k = SUPERSAMPLE
    # Pixel centre i covers [i - 0.5, i + 0.5]: shift half a pixel into the supersampled grid.
    poly = np.round((pts + 0.5) * k * 16).astype(np.int32)
    fine = np.zeros((h * k, w * k), np.uint8)
    cv2.fillPoly(fine, [poly], 255, lineType=cv2.LINE_8, shift=4)
    cover = cv2.resize(fine, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    if soft_um > 0:
        cv2.GaussianBlur(cover, (0, 0), soft_um / grid.ux, dst=cover, sigmaY=soft_um / grid.uy)
    return cover, box


def _scratch_cover(grid: PixelGrid, f: Feature):
    if grid.square:
        s = grid.ux
    else:  # the pixel's extent across the line
        a = math.radians(f.angle_deg)
        s = math.hypot(math.sin(a) * grid.ux, math.cos(a) * grid.uy)
    box = grid.box(f.center_um[0], f.center_um[1], f.length_um / 2.0 + f.size_um + 1.0)
    if box is None:
        return None, None
    rows, cols = box
    x = grid.x_um[cols][None, :]
    y = grid.y_um[rows][:, None]
    dist = np.full((rows.stop - rows.start, cols.stop - cols.start), np.inf, np.float32)
    for a, b in scratch_segments(f):
        ab = b - a
        length2 = float(ab @ ab) or 1e-12
        t = np.clip(((x - a[0]) * ab[0] + (y - a[1]) * ab[1]) / length2, 0.0, 1.0)
        d = np.hypot(x - (a[0] + t * ab[0]), y - (a[1] + t * ab[1]))
        np.minimum(dist, d, out=dist)
    # Area coverage across the line (a pixel-wide linear ramp at each edge).
    cover = np.clip((f.size_um / 2.0 - dist) / s + 0.5, 0.0, 1.0)
    return cover.astype(np.float32), box


def _illuminate(img: np.ndarray, view: View) -> None:
    vignetting = view.vignetting + view.appearance.vignetting
    if view.light_gradient == 0 and vignetting == 0:
        return
    img *= _light_field(
        view.width_px, view.height_px, view.light_gradient, view.light_angle_deg, vignetting
    )


@functools.lru_cache(maxsize=8)
def _light_field(
    width_px: int, height_px: int, gradient: float, angle_deg: float, vignetting: float
) -> np.ndarray:
    """The illumination over the frame: the same for every frame of one probe, so it is
    made once (a few fields at most: one per probe and lighting in a process)."""
    u = np.linspace(-1.0, 1.0, width_px, dtype=np.float32)[None, :]
    v = np.linspace(-1.0, 1.0, height_px, dtype=np.float32)[:, None]
    a = math.radians(angle_deg)
    f = 1.0 + (gradient / 2.0) * (u * math.cos(a) + v * math.sin(a))
    if vignetting:
        f = f * (1.0 - vignetting * (u * u + v * v) / 2.0)
    field = f.astype(np.float32)
    field.setflags(write=False)  # shared by every frame
    return field
