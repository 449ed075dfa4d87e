"""Grading on views unlike the renderer's default: the failure classes of issue 10.

Each test makes its case from a rendered face with exact truth, changed the way
real frames differ: pixels that are not square, a fibre darker than its
ferrule, zone D running past the frame, a particle measured on the coarse copy,
a whole-ferrule overview.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from grading import grade
from grading.geometry import connector
from grading.image_io import normalise, to_gray
from grading.locate import locate, locate_overview
from hardware.optics.scene import Feature
from tests.grading.renders import SCALE, face

SM_PC = "iec-61300-3-35-ed2/sm-pc"
MM_PC = "iec-61300-3-35-ed2/mm-pc"


def squeezed(image: np.ndarray, pixel_aspect: float) -> np.ndarray:
    """The frame as a capture with pixels ``pixel_aspect`` times wider than tall sees it."""
    h, w = image.shape
    return cv2.resize(image, (round(w / pixel_aspect), h), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("pixel_aspect", [1.0667, 0.9])  # PAL 720x576, NTSC 720x480 captures
def test_non_square_pixels_are_measured_both_ways_and_sizes_stay_in_micrometres(pixel_aspect):
    frame = face("lc-upc", (Feature("particle", (30.0, -20.0), 4.0, -0.5, seed=3),), um_per_px=0.3)
    image = squeezed(frame.image, pixel_aspect)
    x_um = 0.3 * frame.image.shape[1] / image.shape[1]
    estimated = grade(image, "lc-upc", SM_PC)
    given = grade(image, "lc-upc", SM_PC, um_per_px=(x_um, 0.3))
    for r in (estimated, given):
        assert r.verdict == "pass", r.to_dict()
        assert abs(r.um_per_px / x_um - 1) < 0.02 and abs(r.um_per_px_y / 0.3 - 1) < 0.02
        (d,) = r.fibers[0].defects
        assert abs(d.size_um - 4.0) < 0.7
        # Positions are the frame's own pixels.
        truth = frame.truth.features[0].center_px
        want = (truth[0] * image.shape[1] / frame.image.shape[1], truth[1])
        assert math.dist(d.center_px, want) * x_um < 1.0
    assert estimated.to_dict()["um_per_px_y"] == pytest.approx(estimated.um_per_px_y, abs=1e-5)


def test_a_square_calibration_on_an_elliptical_cladding_says_why():
    image = squeezed(face("lc-upc", um_per_px=0.3).image, 1.0667)
    r = grade(image, "lc-upc", SM_PC, um_per_px=0.32)
    assert r.verdict == "error"
    assert "ellipse" in r.error and "pixel aspect" in r.error


def test_a_fibre_darker_than_its_ferrule_is_found_and_graded():
    # Zirconia under coaxial light: the frame's brightness the other way round.
    frame = face("lc-upc", (Feature("particle", (0.0, 40.0), 7.0, -0.5, seed=4),))
    dark = 255 - frame.image
    r = grade(dark, "lc-upc", SM_PC, um_per_px=SCALE)
    assert r.verdict == "fail"
    f = r.fibers[0]
    assert math.dist(f.center_px, frame.truth.fibers[0].center_px) * SCALE < 1.0
    assert abs(f.diameter_px * SCALE - 125.0) < 1.5
    assert any(d.zone == "B" and abs(d.size_um - 7.0) < 1.0 for d in f.defects)
    estimated = grade(dark, "lc-upc", SM_PC)
    assert abs(estimated.um_per_px / SCALE - 1) < 0.02


def test_a_patch_of_bare_ferrule_is_never_graded():
    # The view slid off the fibre: only ceramic, grain and a little dirt are in view.
    frame = face(
        "sc-upc",
        (Feature("particle", (400.0, 30.0), 12.0, -0.5, seed=5),),
        center_um=(420.0, 0.0),
    )
    for image in (frame.image, 255 - frame.image):
        for scale in (SCALE, None):
            r = grade(image, "sc-upc", SM_PC, um_per_px=scale)
            assert r.verdict == "error" and not r.fibers, r.to_dict()
            assert "no fibre found" in r.error


def test_zone_d_beyond_the_frame_is_graded_in_view_and_its_share_reported():
    feats = (Feature("particle", (-90.0, 20.0), 15.0, -0.5, seed=3),)
    r = grade(
        face("lc-upc", feats, center_um=(60.0, 0.0), um_per_px=0.25).image, "lc-upc", SM_PC, 0.25
    )
    f = r.fibers[0]
    assert r.verdict == "fail" and "zone D" in f.failures[0]
    assert f.coverage["A"] == f.coverage["B"] == f.coverage["C"] == 1.0
    assert 0.5 < f.coverage["D"] < 0.95
    assert r.to_dict()["fibers"][0]["coverage"]["D"] == pytest.approx(f.coverage["D"], abs=1e-3)
    # Less than half of zone D in view (a small sensor): not judged, and the operator is told
    # what to do.
    small = face("lc-upc", center_um=(30.0, 5.0), um_per_px=0.25, width_px=800, height_px=600)
    low = grade(small.image, "lc-upc", SM_PC, 0.25)
    assert low.verdict == "error" and "zone D (contact) is only" in low.error
    assert "centre the fibre" in low.error


def test_the_result_carries_the_zones_it_was_graded_with():
    r = grade(face("mpo12", fibre_index=5).image, "mpo12", "iec-61300-3-35-ed2/sm-apc", SCALE)
    assert [z.name for z in r.zones] == ["A", "B"]
    back = type(r).from_dict(r.to_dict())
    assert back.zones == r.zones and back.fibers[0].coverage == r.fibers[0].coverage


def test_a_large_particle_in_mm_zone_d_is_sized_at_full_resolution():
    # 22.4 um in multimode zone D, searched on a coarse copy, once measured 19.9 um
    # (under the 20 um limit): a false pass.
    feats = (Feature("particle", (85.0, 10.0), 22.4, -0.5, seed=11),)
    r = grade(face("lc-upc", feats, fiber="mm", um_per_px=0.45).image, "lc-upc", MM_PC, 0.45)
    (d,) = r.fibers[0].defects
    assert d.zone == "D" and abs(d.size_um - 22.4) < 0.7
    assert r.verdict == "pass"  # 20-30 um: at most 5 allowed
    small = (Feature("particle", (85.0, 10.0), 3.0, -0.5, seed=11),)
    s = grade(face("lc-upc", small, fiber="mm", um_per_px=0.45).image, "lc-upc", MM_PC, 0.45)
    assert abs(s.fibers[0].defects[0].size_um - 3.0) < 0.8


@pytest.mark.parametrize("conn", ["mpo12", "mpo24"])
def test_one_locator_finds_every_fibre_of_a_rendered_overview(conn):
    frame = face(conn, um_per_px=3.0, center_um=(0.0, 0.0), blur_um=1.5)
    expected = connector(conn).fiber_count
    found = locate_overview(frame.image, expected)
    assert found is not None
    truth = sorted(
        (f for f in frame.truth.fibers if f.fully_visible),
        key=lambda f: (f.center_px[1] > 480, f.center_px[0]),
    )
    for got, want in zip(found, truth, strict=True):
        assert math.dist((got.cx, got.cy), want.center_px) * 3.0 < 2.0
    # The dark guide holes are larger and stronger than the fibres; they never win.
    loc = locate(normalise(to_gray(frame.image)))
    assert loc.scale_source == "pitch" and abs(loc.um_per_px / 3.0 - 1) < 0.02


def _look_face(look: str, features=(), fiber="mm", conn="lc-upc", **view) -> object:
    from grading.geometry import connector as geometry_of
    from hardware.optics.render import render
    from hardware.optics.scene import View, scene_from_layout

    scene = scene_from_layout(geometry_of(conn), fiber, tuple(features), texture_seed=3)
    params = {"um_per_px": 0.4, "appearance": look}
    params.update(view)
    return render(scene, View(**params), seed=5)


@pytest.mark.parametrize("look", ["mm-core-bright", "mm-core-dark"])
@pytest.mark.parametrize("fiber", ["mm", "mm62"])
def test_a_visible_multimode_core_and_a_thick_adhesive_ring_are_not_defects(look, fiber):
    frame = _look_face(look, fiber=fiber)
    r = grade(frame.image, "lc-upc", MM_PC, um_per_px=0.4)
    assert r.verdict == "pass", r.to_dict()
    f = r.fibers[0]
    assert abs(f.diameter_px * 0.4 - 125.0) < 2.5  # the glass, not the adhesive's outer edge
    # And dirt on that core is still found.
    dirty = _look_face(look, (Feature("particle", (8.0, 4.0), 7.0, -0.5, seed=2),), fiber=fiber)
    d = grade(dirty.image, "lc-upc", MM_PC, um_per_px=0.4)
    assert d.verdict == "fail" and any(x.zone == "A" and x.size_um > 5 for x in d.fibers[0].defects)


def test_a_lit_single_mode_core_dot_is_the_core_and_a_particle_beside_it_is_dirt():
    clean = _look_face("sm-core-dot", fiber="sm", um_per_px=0.3)
    assert grade(clean.image, "lc-upc", SM_PC, um_per_px=0.3).verdict == "pass"
    dirty = _look_face(
        "sm-core-dot",
        (Feature("particle", (6.0, -3.0), 3.0, -0.5, seed=4),),
        fiber="sm",
        um_per_px=0.3,
    )
    r = grade(dirty.image, "lc-upc", SM_PC, um_per_px=0.3)
    assert r.verdict == "fail" and r.fibers[0].defects[0].zone == "A"


def test_400x_probe_scales_are_graded_and_coarser_than_the_measured_limit_refused():
    feats = (Feature("particle", (0.0, 40.0), 7.0, -0.5, seed=4),)
    for s in (0.55, 0.65):
        r = grade(
            _look_face("zirconia-dark", feats, fiber="sm", um_per_px=s).image, "lc-upc", SM_PC, s
        )
        assert r.verdict == "fail" and any(abs(d.size_um - 7.0) < 1.0 for d in r.fibers[0].defects)
    coarse = grade(
        _look_face("zirconia-dark", fiber="sm", um_per_px=0.85).image, "lc-upc", SM_PC, 0.85
    )
    assert coarse.verdict == "error" and "coarser than the 0.8 um/px" in coarse.error


def test_an_analog_capture_file_is_graded_from_its_padded_jpeg_with_the_scale_estimated(tmp_path):
    from hardware.optics.looks import VIDEO_FORMATS, look
    from hardware.optics.video import encode_frame

    w, h, aspect = VIDEO_FORMATS["pal"]
    frame = _look_face(
        "analog-video",
        (Feature("particle", (0.0, 40.0), 12.0, -0.5, seed=4),),
        um_per_px=0.4,
        width_px=w,
        height_px=h,
        pixel_aspect=aspect,
    )
    data, suffix = encode_frame(frame.image, look("analog-video"))
    path = tmp_path / f"scope{suffix}"
    path.write_bytes(data)
    assert len(data) % 32768 == 0 and data.rstrip(b"\0").endswith(b"\xff\xd9")  # padded
    r = grade(path, "lc-upc", MM_PC)
    assert r.verdict == "fail", r.to_dict()
    assert abs(r.um_per_px / 0.4 - 1) < 0.02 and abs(r.um_per_px_y / (0.4 / aspect) - 1) < 0.02
    (d,) = [x for x in r.fibers[0].defects if x.size_um > 5]
    assert d.zone == "B" and abs(d.size_um - 12.0) < 1.5


def test_an_adhesive_ring_off_centre_in_its_bore_is_not_a_defect():
    # The fibre sits 3 um off its bore's centre: the 9 um adhesive ring is 12 um wide on
    # one side and 6 on the other, and the bore edge is a circle of its own.
    from dataclasses import replace as replaced

    from hardware.optics.looks import look

    ap = replaced(look("mm-core-bright"), bore_offset_um=3.0)
    frame = _look_face(ap, fiber="mm", um_per_px=0.35)
    r = grade(frame.image, "lc-upc", MM_PC, um_per_px=0.35)
    assert r.verdict == "pass", r.to_dict()["fibers"][0]["failures"]


def test_a_scratch_across_a_lit_single_mode_core_leaves_the_core_glass():
    # The scratch darkens every small ring round the centre; the core is still the
    # most of its own disc, and nothing but the scratch is found there.
    from dataclasses import replace as replaced

    from hardware.optics.looks import look

    ap = replaced(look("sm-core-dot"), cladding=0.75, core_contrast=0.18, adhesive=0.64)
    cut = Feature("scratch", (0.4, -9.0), 1.6, -0.27, length_um=65.0, angle_deg=99.7, seed=1)
    view = dict(width_px=640, height_px=480, blur_um=0.385, noise=0.0146, center_um=(12.0, -29.4))
    frame = _look_face(ap, (cut,), fiber="sm", um_per_px=0.427, **view)
    r = grade(frame.image, "lc-apc", "iec-61300-3-35-ed2/sm-apc", um_per_px=0.427)
    found = r.fibers[0].defects
    assert [d.kind for d in found if d.zone == "A"] == ["scratch"], r.to_dict()
    assert abs(found[0].size_um - 1.6) < 0.5


def test_uneven_light_on_a_stretched_frame_is_light_not_dirt():
    # Normalising from the darkest pixels takes the black level away, so uneven light
    # changes a dark cladding by more, relatively, than the bright core next to it.
    from dataclasses import replace as replaced

    from hardware.optics.looks import look

    ap = replaced(look("mm-core-bright"), cladding=0.36, core_contrast=0.25, adhesive=0.21)
    frame = _look_face(
        ap,
        fiber="mm",
        conn="mpo12",
        um_per_px=0.584,
        width_px=800,
        height_px=600,
        center_um=(542.4, -107.2),
        light_gradient=0.236,
        light_angle_deg=54.0,
        vignetting=0.092,
    )
    r = grade(frame.image, "mpo12", MM_PC, um_per_px=0.584)
    assert r.verdict == "pass", [f.failures for f in r.fibers]


def test_crossing_scratches_are_each_measured_at_their_own_width():
    cuts = (
        Feature("scratch", (-4.0, 0.0), 2.1, -0.5, length_um=45.0, angle_deg=72.0, seed=1),
        Feature("scratch", (4.0, 4.0), 2.3, -0.5, length_um=40.0, angle_deg=114.0, seed=2),
    )
    frame = _look_face("mm-core-dark", cuts, fiber="mm", um_per_px=0.62, blur_um=0.76)
    r = grade(frame.image, "lc-upc", MM_PC, um_per_px=0.62)
    widths = sorted(d.size_um for d in r.fibers[0].defects if d.kind == "scratch")
    assert len(widths) == 2, r.to_dict()
    assert abs(widths[0] - 2.1) < 0.5 and abs(widths[1] - 2.3) < 0.5
    assert r.verdict == "pass"


def test_a_core_is_not_taken_for_the_cladding_when_the_cladding_nearly_fills_the_frame():
    # At 0.25 um/px on an NTSC capture a 62.5 um core is the clearest disc and the
    # cladding round it nearly fills the frame's height: the search for a cladding
    # round the core runs off the frame on most rays, but the cladding is there, whole.
    from hardware.optics.looks import VIDEO_FORMATS

    w, h, aspect = VIDEO_FORMATS["ntsc"]
    centre = connector("mpo12").fiber_positions_um[5]
    view = dict(width_px=w, height_px=h, pixel_aspect=aspect, center_um=centre)
    frame = _look_face("analog-video", fiber="mm62", conn="mpo12", um_per_px=0.252, **view)
    r = grade(frame.image, "mpo12", MM_PC)
    assert abs(r.um_per_px / 0.252 - 1) < 0.02, r.to_dict()
    assert abs(r.fibers[0].diameter_px * 0.252 - 125.0) < 2.5


def test_a_pit_on_a_lit_single_mode_core_at_a_400x_scale_is_found():
    # At 0.68 um/px the 9 um core is all edge: the model's doubt about where that edge
    # sits must be the core's own (it has its own fitted centre), not the cladding's.
    pit = Feature("pit", (-1.9, 3.5), 3.7, -0.41, seed=3)
    frame = _look_face("analog-video", (pit,), fiber="sm", um_per_px=0.68, blur_um=0.7, noise=0.017)
    r = grade(frame.image, "lc-upc", SM_PC, um_per_px=0.68)
    assert r.verdict == "fail"
    (d,) = r.fibers[0].defects
    assert d.zone == "A" and abs(d.size_um - 3.7) < 0.7
