"""Grading rendered end faces against their ground truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from grading import EndFaceResult, GradingUsageError, grade
from hardware.optics.scene import Feature
from tests.grading.renders import SCALE, face, ring

SM_PC = "iec-61300-3-35-ed2/sm-pc"
SM_APC = "iec-61300-3-35-ed2/sm-apc"
MM_PC = "iec-61300-3-35-ed2/mm-pc"


def g(frame, conn="lc-upc", rules=SM_PC, um_per_px=SCALE) -> EndFaceResult:
    return grade(frame.image, connector=conn, rules=rules, um_per_px=um_per_px)


def only_fibre(result: EndFaceResult):
    assert len(result.fibers) == 1, result
    return result.fibers[0]


def test_a_clean_face_passes_and_the_fibre_sits_on_its_truth():
    frame = face("lc-upc", light_gradient=0.3, vignetting=0.2)
    r = g(frame)
    assert r.verdict == "pass", r.to_dict()
    f = only_fibre(r)
    truth = frame.truth.fibers[0]
    assert math.dist(f.center_px, truth.center_px) * SCALE < 2.0
    assert abs(f.diameter_px * SCALE - 125.0) < 1.5
    assert f.defects == ()


def test_the_scale_is_estimated_from_the_cladding_when_not_given():
    frame = face("lc-upc", um_per_px=0.35)
    r = g(frame, um_per_px=None)
    assert r.scale_source == "cladding"
    assert abs(r.um_per_px / 0.35 - 1) < 0.02
    assert r.verdict == "pass"


def test_five_mid_size_defects_in_sm_zone_b_pass_and_six_fail():
    five = g(face("lc-upc", ring(5, 40.0, 3.5)))
    six = g(face("lc-upc", ring(6, 40.0, 3.5)))
    assert five.verdict == "pass", five.to_dict()
    assert six.verdict == "fail"
    sizes = [d.size_um for d in only_fibre(six).defects]
    assert len(sizes) == 6 and all(abs(s - 3.5) < 0.7 for s in sizes)
    assert only_fibre(six).failures == (
        f"zone B (cladding): 6 defects of 2-5 um (largest {max(sizes):.1f} um), at most 5 allowed",
    )


def test_a_narrow_scratch_in_sm_zone_b_passes_and_a_wide_one_fails():
    def scratch(width):
        return (Feature("scratch", (0.0, 35.0), width, -0.3, length_um=40, angle_deg=10, seed=3),)

    narrow = g(face("lc-upc", scratch(2.2)))
    wide = g(face("lc-upc", scratch(4.5)))
    assert narrow.verdict == "pass", narrow.to_dict()
    (s,) = only_fibre(narrow).defects
    assert s.kind == "scratch" and s.zone == "B" and abs(s.size_um - 2.2) < 0.6
    assert wide.verdict == "fail"
    assert "zone B (cladding): 1 scratch > 3 um wide" in only_fibre(wide).failures[0]


def test_a_faint_broken_scratch_through_the_core_fails_sm():
    feats = (
        Feature("scratch", (0.0, 0.0), 1.5, -0.12, length_um=60, angle_deg=70, gaps=2, seed=8),
    )
    r = g(face("lc-upc", feats, noise=0.015))
    f = only_fibre(r)
    assert r.verdict == "fail"
    scratches = [d for d in f.defects if d.kind == "scratch"]
    assert len(scratches) == 1 and scratches[0].zone == "A"
    assert scratches[0].length_um > 40


def test_a_particle_sitting_exactly_on_the_core_is_found():
    # Every small ring around the centre is covered by it: the background model
    # must not take it for a dark core.
    for size in (2.0, 6.0):
        r = g(face("lc-upc", (Feature("particle", (0.0, 0.0), size, -0.5, seed=2),)))
        (d,) = only_fibre(r).defects
        assert d.zone == "A" and abs(d.size_um - size) < 0.8, (size, d)


def test_a_particle_touching_a_scratch_is_not_hidden_by_it():
    feats = (
        Feature("scratch", (0.0, 35.0), 1.8, -0.25, length_um=60, angle_deg=0, seed=1),
        Feature("particle", (10.0, 39.5), 7.0, -0.5, seed=2),
    )
    r = g(face("lc-upc", feats))
    kinds = sorted(d.kind for d in only_fibre(r).defects)
    assert kinds == ["defect", "scratch"]
    assert r.verdict == "fail"  # a > 5 um defect in zone B


def test_mpo_zones_c_and_d_are_not_graded():
    # Big debris on the MT plastic: visible, to be cleaned, but not part of the verdict.
    feats = (Feature("particle", (-375.0 + 95.0, 0.0), 15.0, -0.5, seed=5),)
    r = g(face("mpo12", feats, fibre_index=4), conn="mpo12", rules=SM_APC)
    assert r.verdict == "pass"
    # The same particle on a single-fibre ferrule's contact zone fails.
    lc = g(
        face("lc-apc", (Feature("particle", (95.0, 0.0), 15.0, -0.5, seed=5),)),
        conn="lc-apc",
        rules=SM_APC,
    )
    assert lc.verdict == "fail"
    assert "zone D" in only_fibre(lc).failures[0]


def test_mm_zone_a_allows_four_small_defects():
    four = g(face("lc-upc", ring(4, 18.0, 3.5), fiber="mm"), rules=MM_PC)
    five = g(face("lc-upc", ring(5, 18.0, 3.5), fiber="mm"), rules=MM_PC)
    assert four.verdict == "pass", four.to_dict()
    assert five.verdict == "fail"


def test_mt_neighbours_at_the_image_edge_are_not_graded():
    frame = face("mpo12", fibre_index=5)
    partial = [
        f for f in frame.truth.fibers if not f.fully_visible and -500 < f.center_px[0] < 1800
    ]
    assert partial, "neighbours should be partly in view"
    r = g(frame, conn="mpo12", rules=SM_APC)
    assert r.verdict == "pass"
    assert len(r.fibers) == 1


def test_an_overview_locates_every_fibre_but_refuses_to_grade_it():
    frame = face("mpo12", um_per_px=2.5, fibre_index=0, center_um=(0.0, 0.0), blur_um=1.5)
    r = g(frame, conn="mpo12", rules=MM_PC, um_per_px=None)
    assert r.verdict == "error"
    assert "coarser than the 0.7 um/px" in r.error  # mm-pc's measured limit
    assert [f.index for f in r.fibers] == list(range(1, 13))
    assert all(f.verdict == "error" and "coarser" in f.error for f in r.fibers)
    truth = sorted((f for f in frame.truth.fibers if f.fully_visible), key=lambda f: f.center_px[0])
    for got, want in zip(r.fibers, truth, strict=True):
        assert math.dist(got.center_px, want.center_px) * 2.5 < 2.0
    assert r.scale_source == "pitch"
    assert abs(r.um_per_px / 2.5 - 1) < 0.02


def test_mpo24_overview_numbers_the_top_row_first_and_mpo8_has_eight():
    frame = face("mpo24", um_per_px=2.6, center_um=(0.0, 0.0), blur_um=1.5)
    r = g(frame, conn="mpo24", rules=MM_PC, um_per_px=2.6)
    ys = [f.center_px[1] for f in r.fibers]
    xs = [f.center_px[0] for f in r.fibers]
    assert len(r.fibers) == 24
    assert max(ys[:12]) < min(ys[12:])
    assert xs[:12] == sorted(xs[:12]) and xs[12:] == sorted(xs[12:])
    eight = g(
        face("mpo8", um_per_px=2.6, center_um=(0.0, 0.0)), conn="mpo8", rules=MM_PC, um_per_px=None
    )
    assert len(eight.fibers) == 8
    assert eight.scale_source == "pitch" and abs(eight.um_per_px / 2.6 - 1) < 0.02


def test_a_blurred_frame_is_refused_never_passed():
    r = g(face("lc-upc", blur_um=2.5))
    assert r.verdict == "error"
    assert "out of focus" in r.error


def test_a_wrong_calibration_is_caught():
    r = g(face("lc-upc"), um_per_px=SCALE * 1.2)
    assert r.verdict == "error"
    assert "check the probe's scale calibration" in r.error


def test_a_fibre_cut_by_the_border_is_not_graded():
    r = g(face("lc-upc", center_um=(150.0, 0.0)))
    assert r.verdict == "error"
    assert "centre the fibre" in r.error


def test_uneven_light_noise_and_mild_defocus_do_not_make_defects():
    frame = face(
        "sc-apc", light_gradient=0.5, vignetting=0.3, noise=0.02, blur_um=0.8, exposure=0.8
    )
    r = g(frame, conn="sc-apc", rules=SM_APC)
    assert r.verdict == "pass", r.to_dict()


def test_a_bright_clipped_particle_is_sized_at_its_edge():
    frame = face("lc-upc", (Feature("particle", (0.0, 35.0), 4.0, 0.6, seed=9),))
    assert (frame.image == 255).sum() > 10
    (d,) = only_fibre(g(frame)).defects
    assert abs(d.size_um - 4.0) < 0.8


def test_polish_mismatch_and_unknown_connector_are_usage_errors():
    img = np.zeros((64, 64), np.uint8)
    with pytest.raises(GradingUsageError, match="APC-polished"):
        grade(img, connector="lc-apc", rules=SM_PC)
    with pytest.raises(GradingUsageError, match="unknown connector type 'lc-pc'"):
        grade(img, connector="lc-pc", rules=SM_PC)
    with pytest.raises(GradingUsageError, match="positive"):
        grade(img, connector="lc-upc", rules=SM_PC, um_per_px=-1.0)


def test_json_round_trip_keeps_the_contract():
    r = g(face("lc-upc", ring(3, 40.0, 6.0)))
    d = r.to_dict()
    assert {"image", "verdict", "um_per_px", "rules", "fibers"} <= set(d)
    fib = d["fibers"][0]
    assert {"index", "center_px", "verdict", "defects"} <= set(fib)
    assert {"kind", "zone", "size_um", "center_px"} <= set(fib["defects"][0])
    assert EndFaceResult.from_dict(d).to_dict() == d
