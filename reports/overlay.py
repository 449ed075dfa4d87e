"""Grading overlays and the per-fibre pass/fail map, drawn with OpenCV as RGB images.

- ``fibre_overlay``: one fibre's frame, cropped around the fibre, with the
  circles of the zones that apply (for MT ferrules only A and B), every defect
  circle and scratch line coloured by the fibre's verdict, and its number.
- ``overview_overlay``: the whole MT ferrule, each fibre ringed in its
  verdict's colour and numbered. The fibres are located in the overview
  itself (``grading.locate``); when they cannot all be found the overview is
  shown plain and the caller says so.
- ``fibre_map``: the ferrule layout from ``grading.geometry`` (key up, as the
  end face is viewed), fibres green / red / grey with their numbers.

Pictures go into PDFs as downscaled JPEG bytes (``jpeg``): reportlab passes
JPEG through untouched, while it re-encodes PNG slowly. The lossless frames
stay in the station's image store. Drawing works on the downscaled crop, so
the cost does not grow with the camera's resolution.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from grading.geometry import CLADDING_DIAMETER_UM, MT_PITCH_UM, connector
from grading.locate import locate_overview
from grading.results import EndFaceResult, FiberResult
from reports import palette
from reports.model import ZoneInfo
from reports.palette import rgb

RGB = tuple[int, int, int]
VERDICT_RGB: dict[str, RGB] = {k: rgb(v) for k, v in palette.VERDICT.items()}
UNKNOWN_RGB: RGB = rgb(palette.UNKNOWN)
ZONE_RGB: RGB = rgb(palette.ZONE)
FONT = cv2.FONT_HERSHEY_SIMPLEX
AA = cv2.LINE_AA


def verdict_rgb(verdict: str | None) -> RGB:
    return VERDICT_RGB.get(verdict or "", UNKNOWN_RGB)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """An 8-bit RGB copy of a grey, BGR or BGRA frame (16-bit frames are scaled down)."""
    img = image
    if img.dtype != np.uint8:
        top = float(img.max()) if img.size else 1.0
        img = np.clip(img.astype(np.float32) * (255.0 / max(top, 1.0)), 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def jpeg(rgb: np.ndarray, quality: int = 82) -> bytes:
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise ValueError("could not encode an image as JPEG")
    return buf.tobytes()


def png(rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("could not encode an image as PNG")
    return buf.tobytes()


def _scale_um_per_px(fibre: FiberResult, um_per_px: float | None) -> float:
    if um_per_px:
        return float(um_per_px)
    if fibre.diameter_px > 0:
        return CLADDING_DIAMETER_UM / fibre.diameter_px
    return 0.5


def _crop(image: np.ndarray, cx: float, cy: float, half: float) -> np.ndarray:
    """A square of side 2*half around (cx, cy); what lies outside the frame is black."""
    h, w = image.shape[:2]
    x0, y0 = round(cx - half), round(cy - half)
    side = max(2, round(2 * half))
    out = np.zeros((side, side, *image.shape[2:]), image.dtype)
    sx0, sy0 = max(0, x0), max(0, y0)
    sx1, sy1 = min(w, x0 + side), min(h, y0 + side)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return out


def _label(img: np.ndarray, text: str, org: tuple[int, int], colour: RGB, scale: float) -> None:
    """White text on a box of ``colour``, top-left corner at ``org``."""
    thick = max(1, round(scale * 2))
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thick)
    x, y = org
    pad = max(2, round(3 * scale))
    cv2.rectangle(img, (x, y), (x + tw + 2 * pad, y + th + base + pad), colour, -1)
    cv2.putText(
        img, text, (x + pad, y + th + pad // 2 + 1), FONT, scale, (255, 255, 255), thick, AA
    )


def shrink_for(
    fibre: FiberResult, um_per_px: float | None, zones: Sequence[ZoneInfo], size: int
) -> int:
    """How much a frame may be shrunk while decoding and still give a sharp ``size`` picture."""
    s = _scale_um_per_px(fibre, um_per_px)
    outer_um = max((z.outer_diameter_um for z in zones), default=CLADDING_DIAMETER_UM) / 2.0
    side = 2 * outer_um * 1.18 / s
    return 2 if side >= 2.4 * size else 1


def fibre_overlay(
    image: np.ndarray,
    fibre: FiberResult,
    um_per_px: float | None,
    zones: Sequence[ZoneInfo],
    size: int = 180,
    number: bool = True,
    shrunk: int = 1,
) -> np.ndarray:
    """The fibre's frame cropped to its graded zones, with the grading drawn on it (RGB).

    ``shrunk``: the frame was decoded at 1/shrunk of its size (the result's pixel
    coordinates are those of the full frame).
    """
    s = _scale_um_per_px(fibre, um_per_px)
    outer_um = max((z.outer_diameter_um for z in zones), default=CLADDING_DIAMETER_UM) / 2.0
    half = outer_um * 1.18 / s
    cx, cy = fibre.center_px
    crop = _crop(image, cx / shrunk, cy / shrunk, half / shrunk)
    k = size / (crop.shape[0] * shrunk)
    small = cv2.resize(
        crop, (size, size), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR
    )
    rgb = to_rgb(small)
    c = (size / 2.0, size / 2.0)

    def pt(p: tuple[float, float]) -> tuple[int, int]:
        return (round((p[0] - cx) * k + c[0]), round((p[1] - cy) * k + c[1]))

    line = max(1, round(size / 220))
    for z in zones:
        for d in (z.inner_diameter_um, z.outer_diameter_um):
            if d > 0:
                cv2.circle(rgb, pt((cx, cy)), round(d / 2.0 / s * k), ZONE_RGB, line, AA)
    colour = verdict_rgb(fibre.verdict)
    for d in fibre.defects:
        if d.kind == "scratch" and d.ends_px is not None:
            cv2.line(rgb, pt(d.ends_px[0]), pt(d.ends_px[1]), colour, max(2, line + 1), AA)
        else:
            r = max(4, round(d.size_um / 2.0 / s * k) + 3)
            cv2.circle(rgb, pt(d.center_px), r, colour, max(2, line + 1), AA)
    if number:
        _label(rgb, str(fibre.index), (3, 3), colour, max(0.4, size / 360))
    return rgb


def overview_overlay(
    image: np.ndarray,
    result: EndFaceResult | None,
    connector_name: str,
    width: int = 760,
    fibres: Sequence[tuple[float, float, float]] | None = None,
) -> tuple[np.ndarray, bool]:
    """The MT ferrule with each fibre ringed in its verdict's colour (RGB), and whether the
    fibres could be found in the picture (else it is the plain overview). ``fibres``: where
    they were found when the picture was recorded, (x, y, r) in its pixels, in fibre order
    (a stored band of the overview holds too little of the ferrule to find them again)."""
    geometry = connector(connector_name)
    found = list(fibres) if fibres else None
    if found is None and geometry.is_multi_fiber:
        circles = locate_overview(image, geometry.fiber_count)
        found = [(c.cx, c.cy, c.r) for c in circles] if circles else None
    verdicts = {f.index: f.verdict for f in result.fibers} if result else {}
    h, w = image.shape[:2]
    x0, y0, x1, y1 = 0, 0, w, h
    if found:
        # Crop to the ferrule: its size in um, the scale from the fibre pitch.
        xs, ys = [f[0] for f in found], [f[1] for f in found]
        pitches = [
            math.hypot(found[i + 1][0] - found[i][0], found[i + 1][1] - found[i][1])
            for i in range(len(found) - 1)
            if abs(found[i + 1][1] - found[i][1]) < 0.5 * abs(found[i + 1][0] - found[i][0]) + 1
        ]
        slot_gap = [
            abs(geometry.fiber_positions_um[i + 1][0] - geometry.fiber_positions_um[i][0])
            / MT_PITCH_UM
            for i in range(len(found) - 1)
            if geometry.fiber_positions_um[i + 1][1] == geometry.fiber_positions_um[i][1]
        ]
        per_pitch = [p / g for p, g in zip(pitches, slot_gap, strict=False) if g > 0]
        px_per_um = float(np.median(per_pitch)) / MT_PITCH_UM if per_pitch else None
        if px_per_um:
            fx, fy = geometry.ferrule_size_um
            mx = (sum(xs) / len(xs)) - np.mean(
                [p[0] for p in geometry.fiber_positions_um]
            ) * px_per_um
            my = (sum(ys) / len(ys)) - np.mean(
                [p[1] for p in geometry.fiber_positions_um]
            ) * px_per_um
            half_w, half_h = (fx / 2 + 250) * px_per_um, (fy / 2 + 250) * px_per_um
            x0, x1 = max(0, int(mx - half_w)), min(w, int(mx + half_w))
            y0, y1 = max(0, int(my - half_h)), min(h, int(my + half_h))
    crop = image[y0:y1, x0:x1]
    k = width / crop.shape[1]
    height = max(2, round(crop.shape[0] * k))
    rgb = to_rgb(cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA))
    if found:
        rows_y = sorted({round(f[1]) for f in found})
        top = min(rows_y)
        for n, (fx_, fy_, r) in enumerate(found, start=1):
            p = (round((fx_ - x0) * k), round((fy_ - y0) * k))
            rr = max(5, round(r * k * 1.7))
            colour = verdict_rgb(verdicts.get(n))
            cv2.circle(rgb, p, rr, colour, 2, AA)
            text = str(n)
            (tw, th), _ = cv2.getTextSize(text, FONT, 0.42, 1)
            above = abs(fy_ - top) < r  # top row: numbers above, bottom row: below
            ty = p[1] - rr - 4 if above else p[1] + rr + th + 4
            cv2.putText(rgb, text, (p[0] - tw // 2, ty), FONT, 0.42, (255, 255, 255), 1, AA)
    cv2.putText(rgb, "key up", (8, 20), FONT, 0.5, (255, 255, 255), 1, AA)
    return rgb, bool(found)


def fibre_map(
    connector_name: str,
    verdicts: Mapping[int, str],
    gender: str | None = None,
    width: int = 1000,
) -> np.ndarray:
    """The ferrule as seen end-on with the key up, fibres coloured by verdict and numbered (RGB).

    Drawn as a schematic, not to scale: positions, rows, guide holes (or pins) and the key
    are where ``grading.geometry`` puts them, but the fibres are enlarged so that their
    numbers can be read on paper.
    """
    g = connector(connector_name)
    widest = max(abs(x) for x, _ in g.fiber_positions_um)
    per_row = (16 if widest > 1.5 * 1250.0 / 1.25 else 12) if g.is_multi_fiber else 1
    rows = max(1, g.rows)
    row_gap = 1.7
    half_fibres = (per_row - 1) / 2.0
    hole_r = 0.95 if g.is_multi_fiber else 0.0
    hole_x = half_fibres + 1.15 + hole_r
    body_w = 2 * (hole_x + hole_r + 0.7)
    body_h = (rows - 1) * row_gap + 2.6
    legend_h = 1.3
    key_h = 0.7
    total_w = body_w + 1.0
    u = width / total_w
    height = round((key_h + body_h + legend_h + 0.9) * u)
    img = np.full((height, width, 3), 255, np.uint8)
    ox, oy = width / 2.0, (0.45 + key_h + body_h / 2.0) * u

    def pt(x: float, y: float) -> tuple[int, int]:
        return (round(ox + x * u), round(oy + y * u))

    ink = (55, 55, 55)
    thick = max(2, round(u / 22))
    # the key, a tab on top of the ferrule body
    k0, k1 = pt(-2.2, -body_h / 2 - key_h), pt(2.2, -body_h / 2)
    cv2.rectangle(img, k0, k1, (205, 205, 205), -1)
    cv2.rectangle(img, k0, k1, ink, thick, AA)
    ks = u / 60
    (tw, th), _ = cv2.getTextSize("KEY", FONT, ks, thick)
    cv2.putText(
        img, "KEY", ((k0[0] + k1[0] - tw) // 2, (k0[1] + k1[1] + th) // 2), FONT, ks, ink, thick, AA
    )
    cv2.rectangle(
        img, pt(-body_w / 2, -body_h / 2), pt(body_w / 2, body_h / 2), (238, 238, 238), -1
    )
    cv2.rectangle(img, pt(-body_w / 2, -body_h / 2), pt(body_w / 2, body_h / 2), ink, thick, AA)
    if g.is_multi_fiber:
        for side in (-1, 1):
            c = pt(side * hole_x, 0.0)
            r = round(hole_r * u)
            if gender == "male":
                cv2.circle(img, c, r, (175, 175, 175), -1, AA)
                cv2.circle(img, c, r, ink, thick, AA)
                label = "pin"
            else:
                cv2.circle(img, c, r, (95, 95, 95), -1, AA)
                label = "hole"
            (tw, th), _ = cv2.getTextSize(label, FONT, u / 75, 1)
            colour = ink if gender == "male" else (255, 255, 255)
            cv2.putText(img, label, (c[0] - tw // 2, c[1] + th // 2), FONT, u / 75, colour, 1, AA)
    r_fib = round(0.43 * u)
    used = set(g.slot_numbers)

    def slot_xy(slot: int) -> tuple[float, float]:
        row, col = divmod(slot - 1, per_row)
        y = (row - (rows - 1) / 2.0) * row_gap
        return (col - half_fibres, y)

    for slot in range(1, per_row * rows + 1):
        if g.is_multi_fiber and slot not in used:
            cv2.circle(img, pt(*slot_xy(slot)), r_fib // 2, (185, 185, 185), thick // 2 or 1, AA)
    fs = u / 62 if per_row <= 12 else u / 70
    for n, slot in enumerate(g.slot_numbers, start=1):
        c = pt(*slot_xy(slot))
        cv2.circle(img, c, r_fib, verdict_rgb(verdicts.get(n)), -1, AA)
        text = str(n)
        (tw, th), _ = cv2.getTextSize(text, FONT, fs, thick)
        cv2.putText(
            img, text, (c[0] - tw // 2, c[1] + th // 2), FONT, fs, (255, 255, 255), thick, AA
        )
    # legend
    ls = u / 70
    lx, ly = round(0.5 * u), height - round(0.45 * u)
    for name, colour in (
        ("pass", VERDICT_RGB["pass"]),
        ("fail", VERDICT_RGB["fail"]),
        ("not judged", VERDICT_RGB["error"]),
        ("not inspected", UNKNOWN_RGB),
    ):
        rr = round(0.22 * u)
        cv2.circle(img, (lx + rr, ly - rr // 2), rr, colour, -1, AA)
        cv2.putText(img, name, (lx + 2 * rr + 8, ly), FONT, ls, ink, max(1, thick // 2), AA)
        (tw, _), _ = cv2.getTextSize(name, FONT, ls, max(1, thick // 2))
        lx += tw + 2 * rr + round(0.9 * u)
    return img
