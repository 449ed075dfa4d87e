"""Appearance families of the renderer: each looks as its family should, and its truth
still matches its pixels (non-square pixels, zones running off the frame, padded JPEG)."""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np
import pytest

from grading.geometry import connector
from grading.rules import load_rules
from hardware.optics.looks import CLASSIC, LOOKS, VIDEO_FORMATS, look
from hardware.optics.render import render, render_optical
from hardware.optics.scene import Feature, View, scene_from_layout
from hardware.optics.video import encode_frame, pad_after_end

S = 0.3125


def _levels(look_name: str, fiber: str = "mm", **view) -> dict[str, float]:
    """Median levels of core, cladding, ferrule, and the extremes of the rings, sharp."""
    params = dict(appearance=look_name, um_per_px=S, blur_um=0.0)
    params.update(view)
    v = View(**params)
    img = render_optical(scene_from_layout(connector("lc-upc"), fiber), v)
    h, w = img.shape
    y, x = np.mgrid[0:h, 0:w]
    r_um = np.hypot((x - (w - 1) / 2) * v.um_per_px_x, (y - (h - 1) / 2) * v.um_per_px_y)
    core_r = 25.0 if fiber == "mm" else 4.6
    ap = v.appearance
    adhesive = 1.5 if ap.adhesive_width_um is None else ap.adhesive_width_um
    # The dark ring at the fibre's edge: the adhesive outside the glass, or the glass's
    # own chamfer line inside it when the fibre fills its bore.
    if adhesive > 0:
        ring = (r_um > 62.5 + 0.2) & (r_um < 62.5 + adhesive - 0.2)
    else:
        ring = (r_um > 62.5 - ap.bevel_width_um + 0.2) & (r_um < 62.5 - 0.2)
    bore = (r_um > 62.5 + adhesive + 0.2) & (r_um < 62.5 + adhesive + ap.bore_edge_width_um - 0.2)
    return {
        "core": float(np.median(img[r_um < core_r - 1.5])),
        "cladding": float(np.median(img[(r_um > core_r + 4) & (r_um < 55)])),
        "ferrule": float(np.median(img[(r_um > 90) & (r_um < 120)])),
        "ring_min": float(img[ring].min()) if ring.any() else math.nan,
        "bore_mean": float(img[bore].mean()) if bore.any() else math.nan,
    }


def test_the_default_view_keeps_the_classic_look():
    assert View().appearance is CLASSIC
    scene = scene_from_layout(connector("lc-upc"), features=(Feature("particle", (9, 9), 3.0),))
    a = render(scene, View(), seed=2).image
    b = render(scene, View(appearance="classic"), seed=2).image
    assert np.array_equal(a, b)


def test_a_look_is_chosen_by_name_and_an_unknown_name_is_refused():
    assert View(appearance="zirconia-dark").look == "zirconia-dark"
    assert View(appearance=look("mm-core-dark")).appearance.core_contrast < 0
    with pytest.raises(ValueError, match="unknown look 'sepia'"):
        View(appearance="sepia")
    with pytest.raises(ValueError, match="pixel_aspect"):
        View(pixel_aspect=0.0)
    assert {
        "zirconia-dark",
        "mm-core-bright",
        "mm-core-dark",
        "sm-core-dot",
        "analog-video",
    } <= set(LOOKS)


def test_classic_glass_is_brighter_than_the_ferrule_and_its_core_is_faint():
    lv = _levels("classic", "mm")
    assert lv["cladding"] > lv["ferrule"] + 0.2
    assert abs(lv["core"] - lv["cladding"]) < 0.03


def test_zirconia_dark_fibre_is_darker_than_the_ferrule_with_a_darker_line_at_its_edge():
    lv = _levels("zirconia-dark", "sm")
    assert lv["cladding"] < lv["ferrule"] - 0.3
    assert lv["ring_min"] < lv["cladding"] - 0.05
    assert lv["bore_mean"] > lv["ferrule"]


@pytest.mark.parametrize("fiber", ["mm", "mm62"])
def test_mm_core_bright_shows_a_brighter_core_disc_a_thick_ring_and_a_bore_edge(fiber):
    lv = _levels("mm-core-bright", "mm")
    assert lv["core"] > lv["cladding"] + 0.1
    assert lv["ring_min"] < lv["cladding"] - 0.1  # a dark adhesive ring 9 um wide
    assert lv["bore_mean"] > lv["ferrule"] + 0.1
    frame = render(scene_from_layout(connector("lc-upc"), fiber), View(appearance="mm-core-bright"))
    f = frame.truth.fibers[0]
    assert f.core_visible and f.core_diameter_um == (50.0 if fiber == "mm" else 62.5)


def test_mm_core_dark_shows_a_darker_core_in_bright_glass():
    lv = _levels("mm-core-dark", "mm")
    assert lv["core"] < lv["cladding"] - 0.1
    assert lv["cladding"] > lv["ferrule"] + 0.2
    assert lv["bore_mean"] < lv["ferrule"] - 0.2


def test_sm_core_dot_is_a_bright_dot_of_the_core_diameter():
    v = View(appearance="sm-core-dot", um_per_px=S, blur_um=0.0)
    img = render_optical(scene_from_layout(connector("lc-upc"), "sm"), v)
    lv = _levels("sm-core-dot", "sm")
    assert lv["cladding"] < lv["ferrule"]
    dot = img > (lv["cladding"] + lv["core"]) / 2
    _, labels = cv2.connectedComponents(dot.astype(np.uint8))
    h, w = img.shape
    centre = labels == labels[h // 2, w // 2]
    areas = [int(centre.sum())]
    assert areas[-1] == pytest.approx(math.pi * (4.6 / S) ** 2, rel=0.05)
    assert render(scene_from_layout(connector("lc-upc")), v).truth.fibers[0].core_visible


@pytest.mark.parametrize("standard", sorted(VIDEO_FORMATS))
def test_analog_video_cladding_is_the_ellipse_the_truth_gives(standard):
    w, h, aspect = VIDEO_FORMATS[standard]
    # Without the rings, the dark disc is the cladding alone.
    ap = replace(
        look("analog-video"),
        adhesive_width_um=0.0,
        bore_edge_width_um=0.0,
        rim_width_um=0,
        bevel_width_um=0,
    )
    v = View(appearance=ap, um_per_px=0.45, width_px=w, height_px=h, pixel_aspect=aspect)
    frame = render(scene_from_layout(connector("lc-upc"), "mm"), v, seed=3)
    t = frame.truth
    f = t.fibers[0]
    assert (t.width_px, t.height_px) == (w, h)
    assert t.um_per_px == 0.45 and t.um_per_px_y == pytest.approx(0.45 / aspect)
    assert t.pixel_aspect == pytest.approx(aspect)
    assert f.diameter_px == pytest.approx(125 / 0.45) and f.is_ellipse
    assert f.diameter_px_y == pytest.approx(125 * aspect / 0.45)
    # Where the dark glass meets the light ferrule along rays: an ellipse fit.
    img = cv2.GaussianBlur(frame.image, (0, 0), 1.0).astype(np.float32)
    points = []
    for a in np.linspace(0, 2 * math.pi, 180, endpoint=False):
        t = np.arange(0.0, 90.0, 0.25)  # um along the ray
        xs = f.center_px[0] + t * math.cos(a) / 0.45
        ys = f.center_px[1] + t * math.sin(a) / (0.45 / aspect)
        prof = cv2.remap(img, xs[None].astype(np.float32), ys[None].astype(np.float32), 1)[0]
        mid = (np.median(prof[(t > 32) & (t < 55)]) + np.median(prof[t > 75])) / 2
        i = int(np.argmax((prof[:-1] < mid) & (prof[1:] >= mid) & (t[:-1] > 55)))
        k = i + (mid - prof[i]) / (prof[i + 1] - prof[i])
        points.append((np.interp(k, np.arange(len(xs)), xs), np.interp(k, np.arange(len(ys)), ys)))
    (cx, cy), (a, b), angle = cv2.fitEllipse(np.array(points, np.float32))
    axes = (a, b) if abs(math.sin(math.radians(angle))) < 0.5 else (b, a)  # (x, y)
    assert (cx, cy) == pytest.approx(f.center_px, abs=0.6)
    assert axes[0] == pytest.approx(f.diameter_px, abs=1.0)
    assert axes[1] == pytest.approx(f.diameter_px_y, abs=1.0)
    assert (axes[1] / axes[0] > 1) == (aspect > 1)


def test_analog_video_fields_are_offset_and_the_file_is_padded_jpeg():
    ap = look("analog-video")
    w, h, aspect = VIDEO_FORMATS["pal"]
    v = View(appearance=ap, um_per_px=0.45, width_px=w, height_px=h, pixel_aspect=aspect)
    # A plain edge (no rings, no bandwidth limit) shows the field offset alone.
    bare = replace(
        ap, video_bandwidth_px=0, field_softness_px=0, adhesive_width_um=0, bore_edge_width_um=0
    )
    img = render_optical(
        scene_from_layout(connector("lc-upc"), "mm"), replace(v, appearance=bare, blur_um=1.0)
    )
    # Left edge of the dark glass along the middle lines: even and odd fields disagree.
    rows = img[h // 2 - 20 : h // 2 + 20, : w // 2]
    crossing = np.array([_crossing(r) for r in rows])
    even, odd = crossing[0::2], crossing[1::2]
    assert np.median(odd) - np.median(even) == pytest.approx(ap.interlace_px, abs=0.1)
    frame = render(scene_from_layout(connector("lc-upc"), "mm"), v, seed=1)
    data, suffix = encode_frame(frame.image, v.appearance)
    assert suffix == ".jpg" and data[:2] == b"\xff\xd8"
    assert len(data) % ap.jpeg_pad_bytes == 0
    end = data.rindex(b"\xff\xd9") + 2
    assert end < len(data) and data[end:] == bytes(len(data) - end)  # padded after the marker
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert decoded.shape == (h, w)
    assert np.abs(decoded.astype(int) - frame.image).mean() < 4


def _crossing(row: np.ndarray) -> float:
    """Sub-pixel position where a row first falls through the middle of its range."""
    mid = (float(row[:20].mean()) + float(row.min())) / 2
    i = int(np.argmax(row < mid))
    return i - 1 + (row[i - 1] - mid) / (row[i - 1] - row[i])


def test_padding_always_adds_bytes_up_to_a_whole_block():
    assert len(pad_after_end(b"x" * 10, 32)) == 32
    assert len(pad_after_end(b"x" * 32, 32)) == 64
    assert pad_after_end(b"abc", 0) == b"abc"
    assert encode_frame(np.zeros((8, 8), np.uint8), CLASSIC)[1] == ".png"


@pytest.mark.parametrize("name", sorted(LOOKS))
@pytest.mark.parametrize("aspect", [1.0, 16 / 15])
def test_defects_keep_exact_truth_in_every_look(name, aspect):
    """A particle covers the pixels its outline says; a scratch is as wide as its size."""
    blob = Feature("particle", (30.0, -20.0), 6.0, contrast=-0.5, seed=4)
    scratch = Feature("scratch", (-25.0, 15.0), 3.0, contrast=-0.5, length_um=30.0, angle_deg=0)
    scene = scene_from_layout(connector("lc-upc"), "sm", (blob, scratch))
    v = View(appearance=name, um_per_px=0.4, pixel_aspect=aspect, blur_um=0.0, vignetting=0.0)
    v = replace(v, appearance=replace(v.appearance, vignetting=0.0))
    clean = render_optical(scene_from_layout(connector("lc-upc"), "sm"), v)
    dirty = render_optical(scene, v)
    changed = np.abs(dirty - clean) > 1e-4
    truth = render(scene, v).truth
    assert [t.size_um for t in truth.features] == [6.0, 3.0]
    # The particle's changed area matches its outline's area in um, through both scales.
    outline = blob.outline_um().astype(np.float32)
    area_um2 = cv2.contourArea(outline)
    cx, cy = truth.features[0].center_px
    box = changed[int(cy) - 20 : int(cy) + 21, int(cx) - 20 : int(cx) + 21]
    weight = np.abs(dirty - clean)[int(cy) - 20 : int(cy) + 21, int(cx) - 20 : int(cx) + 21]
    level = np.max(weight)
    area_px = float(weight.sum() / level)
    assert box.any()
    assert area_px * truth.um_per_px * truth.um_per_px_y == pytest.approx(area_um2, rel=0.04)
    # The horizontal scratch: its darkening summed down a column is its width.
    sx, sy = truth.features[1].center_px
    col = (np.abs(dirty - clean) / np.maximum(clean, 1e-6))[int(sy) - 15 : int(sy) + 16, int(sx)]
    assert col.sum() / 0.5 * truth.um_per_px_y == pytest.approx(3.0, rel=0.03)


@pytest.mark.parametrize("s", [0.25, 0.5, 0.8])
def test_scales_from_a_quarter_to_0_8_um_per_px(s):
    frame = render(
        scene_from_layout(connector("lc-upc")), View(appearance="zirconia-dark", um_per_px=s)
    )
    assert frame.truth.fibers[0].diameter_px == pytest.approx(125.0 / s)
    assert frame.truth.fibers[0].fully_visible


def test_zone_coverage_says_how_much_of_each_zone_is_in_the_frame():
    zones = load_rules("iec-61300-3-35-ed2/sm-pc").zones
    scene = scene_from_layout(connector("lc-upc"))
    centred = render(scene, View(um_per_px=0.25)).truth
    cov = centred.coverage(centred.fibers[0], zones)
    assert cov["A"] == cov["B"] == cov["C"] == 1.0
    assert cov["D"] == pytest.approx(_monte_carlo(centred, 135, 250), abs=0.003)
    assert 0.95 < cov["D"] < 0.99  # 250 um of zone D do not fit in a frame 240 um high
    # The fibre centre on the frame's left edge (pixel -0.5): half of every zone.
    edge = render(scene, View(center_um=(220 * 0.3, 0.0), um_per_px=0.3, width_px=440)).truth
    fibre = edge.fibers[0]
    assert fibre.center_px[0] == pytest.approx(-0.5)
    assert not fibre.fully_visible
    assert all(v == pytest.approx(0.5, abs=1e-4) for v in edge.coverage(fibre, zones).values())
    # Non-square pixels: the frame is measured in both scales.
    v = View(um_per_px=0.5, pixel_aspect=16 / 15, width_px=720, height_px=576, center_um=(40, 30))
    t = render(scene, v).truth
    assert t.coverage(t.fibers[0], zones)["D"] == pytest.approx(
        _monte_carlo(t, 135, 250), abs=0.003
    )


def _monte_carlo(truth, inner_d: float, outer_d: float) -> float:
    rng = np.random.default_rng(0)
    n = 400_000
    r = np.sqrt(rng.uniform((inner_d / 2) ** 2, (outer_d / 2) ** 2, n))
    a = rng.uniform(0, 2 * math.pi, n)
    cx, cy = truth.fibers[0].center_px
    px = cx + r * np.cos(a) / truth.um_per_px
    py = cy + r * np.sin(a) / truth.um_per_px_y
    inside = (
        (px >= -0.5) & (px <= truth.width_px - 0.5) & (py >= -0.5) & (py <= truth.height_px - 0.5)
    )
    return float(inside.mean())
