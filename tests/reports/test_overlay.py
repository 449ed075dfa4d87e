"""Overlays and the fibre map, on synthetic frames whose answer is known."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from grading.geometry import connector
from grading.locate import locate_overview
from grading.results import Defect, FiberResult, ZoneShape
from reports import overlay
from reports.model import load_image

ZONES_MT = (ZoneShape("A", "core", 0, 25), ZoneShape("B", "cladding", 25, 115))
S = 0.3125  # um per pixel


def fibre_frame() -> np.ndarray:
    img = np.full((960, 1280), 70, np.uint8)
    cv2.circle(img, (640, 480), 200, 200, -1)  # a 125 um cladding at 0.3125 um/px
    return img


def fibre(verdict: str, defects=()) -> FiberResult:
    return FiberResult(1, (640.0, 480.0), 400.0, verdict, tuple(defects))


def near(rgb: np.ndarray, colour, at, radius=3) -> bool:
    x, y = at
    patch = rgb[y - radius : y + radius + 1, x - radius : x + radius + 1].reshape(-1, 3).astype(int)
    return bool((np.abs(patch - np.array(colour)).sum(axis=1) < 60).any())


@pytest.mark.parametrize("verdict", ["pass", "fail"])
def test_defects_are_drawn_in_the_fibre_verdict_colour(verdict):
    d = Defect("defect", "B", 8.0, (640.0 + 40 / S, 480.0))  # 40 um right of the centre
    rgb = overlay.fibre_overlay(fibre_frame(), fibre(verdict, [d]), S, ZONES_MT, size=200)
    assert rgb.shape == (200, 200, 3) and rgb.dtype == np.uint8
    k = 200 / (2 * 57.5 * 1.18 / S)
    cx = round(100 + 40 / S * k)
    r = round(4.0 / S * k) + 3
    assert near(rgb, overlay.VERDICT_RGB[verdict], (cx + r, 100))
    # zone B's outer circle, in the zone colour
    assert near(rgb, overlay.ZONE_RGB, (round(100 + 57.5 / S * k), 100))


def test_a_frame_decoded_at_half_size_gives_the_same_picture():
    frame = fibre_frame()
    f = fibre("pass")
    _ok, png = cv2.imencode(".png", frame)
    half, shrunk = load_image(lambda: png.tobytes(), 2)
    assert shrunk == 2 and half.shape == (480, 640)
    a = overlay.fibre_overlay(frame, f, S, ZONES_MT, size=150).astype(int)
    b = overlay.fibre_overlay(half, f, S, ZONES_MT, size=150, shrunk=2).astype(int)
    assert np.abs(a - b).mean() < 6


def test_scratches_are_lines():
    d = Defect("scratch", "A", 3.0, (640.0, 480.0), 30.0, ((600.0, 450.0), (680.0, 510.0)))
    rgb = overlay.fibre_overlay(fibre_frame(), fibre("fail", [d]), S, ZONES_MT, size=300)
    k = 300 / (2 * 57.5 * 1.18 / S)
    mid = (round(150 + 0 * k), round(150 + 0 * k))
    assert near(rgb, overlay.VERDICT_RGB["fail"], mid)


def synthetic_overview(conn: str) -> np.ndarray:
    """A ferrule at 5.75 um/px: grey body, black guide holes, bright fibres where the
    geometry puts them."""
    g = connector(conn)
    k = 1 / 5.75
    img = np.full((960, 1280), 12, np.uint8)
    cx, cy = 640, 480
    w, h = g.ferrule_size_um
    cv2.rectangle(
        img,
        (round(cx - w / 2 * k), round(cy - h / 2 * k)),
        (round(cx + w / 2 * k), round(cy + h / 2 * k)),
        100,
        -1,
    )
    for x, y in g.guide_hole_positions_um:
        cv2.circle(
            img,
            (round(cx + x * k), round(cy + y * k)),
            round(g.guide_hole_diameter_um / 2 * k),
            10,
            -1,
        )
    for x, y in g.fiber_positions_um:
        cv2.circle(img, (round(cx + x * k), round(cy + y * k)), round(62.5 * k), 230, -1)
    return img


@pytest.mark.parametrize("conn", ["mpo8", "mpo12", "mpo16", "mpo24", "mpo32"])
def test_the_overview_finds_every_fibre_in_fixture_order(conn):
    g = connector(conn)
    circles = locate_overview(synthetic_overview(conn), g.fiber_count)
    found = [(c.cx, c.cy, c.r) for c in circles] if circles else None
    assert found is not None and len(found) == g.fiber_count
    k = 1 / 5.75
    for (x, y, _r), (ux, uy) in zip(found, g.fiber_positions_um, strict=True):
        assert abs(x - (640 + ux * k)) < 1.5 and abs(y - (480 + uy * k)) < 1.5


def test_an_overview_with_a_fibre_missing_is_not_guessed():
    img = synthetic_overview("mpo12")
    cv2.circle(img, (401, 480), 14, 100, -1)  # paint over fibre 1
    assert locate_overview(img, 12) is None
    rgb, located = overlay.overview_overlay(img, None, "mpo12")
    assert not located and rgb.ndim == 3


def test_the_fibre_map_colours_each_fibre():
    verdicts = {1: "pass", 2: "fail", 3: "error"}
    rgb = overlay.fibre_map("mpo12", verdicts, "female", width=1000)
    assert rgb.shape[1] == 1000 and rgb.shape[0] < 1000
    for colour in (
        overlay.VERDICT_RGB["pass"],
        overlay.VERDICT_RGB["fail"],
        overlay.VERDICT_RGB["error"],
        overlay.UNKNOWN_RGB,
    ):
        assert (np.abs(rgb.astype(int) - np.array(colour)).sum(axis=2) < 10).sum() > 200
    # fibre 1 is the leftmost: its colour is left of fibre 2's
    green = np.argwhere(
        np.abs(rgb.astype(int) - np.array(overlay.VERDICT_RGB["pass"])).sum(axis=2) < 10
    )
    red = np.argwhere(
        np.abs(rgb.astype(int) - np.array(overlay.VERDICT_RGB["fail"])).sum(axis=2) < 10
    )
    assert np.median(green[:, 1]) < np.median(red[:, 1])


def test_jpeg_bytes_are_jpeg():
    data = overlay.jpeg(np.zeros((10, 10, 3), np.uint8))
    assert data[:3] == b"\xff\xd8\xff"


def test_a_zone_the_frame_holds_too_little_of_is_drawn_in_the_not_judged_colour():
    from reports.drawing import SHORT, ZONE, fibre_drawing

    zones = (
        *ZONES_MT,
        ZoneShape("C", "adhesive", 115, 135),
        ZoneShape("D", "contact", 135, 250, min_coverage=0.5),
    )
    cut = FiberResult(
        1, (640.0, 480.0), 400.0, "error", coverage={"A": 1, "B": 1, "C": 1, "D": 0.3}
    )
    rings = fibre_drawing(cut, zones, S).rings
    assert [(round(r.rx_px * S, 1), r.role) for r in rings] == [
        (12.5, ZONE),
        (57.5, ZONE),
        (67.5, SHORT),
        (125.0, SHORT),
    ]
    whole = fibre_drawing(replace(cut, coverage={"D": 0.6}), zones, S).rings
    assert {r.role for r in whole} == {ZONE}
    rgb = overlay.fibre_overlay(fibre_frame(), cut, S, zones, size=300)
    k = 300 / (2 * 125 * 1.18 / S)
    assert near(rgb, overlay.VERDICT_RGB["error"], (round(150 + 125 / S * k), 150))
    assert near(rgb, overlay.ZONE_RGB, (round(150 + 57.5 / S * k), 150))
