"""Scale calibration from reference images rendered at known scales."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from grading.geometry import UnknownConnectorError, connector
from hardware.optics.render import render
from hardware.optics.scene import View, scene_from_layout
from qa_station.calibration import CalibrationError, calibrate_from_image


def end_face(name: str, view: View, fiber: str = "sm", pins: bool = False) -> np.ndarray:
    return render(scene_from_layout(connector(name), fiber, pins=pins), view, seed=3).image


@pytest.mark.parametrize("um_per_px", [0.2, 0.3, 0.3125, 0.45])
def test_a_single_fibre_is_calibrated_from_its_cladding(um_per_px, tmp_path):
    path = tmp_path / "lc.png"
    assert cv2.imwrite(str(path), end_face("lc-upc", View(um_per_px=um_per_px)))
    cal = calibrate_from_image(path, "lc-upc")
    assert cal.um_per_px == pytest.approx(um_per_px, rel=0.01)
    assert (cal.source, cal.fibres, cal.pitch_px, cal.tip) == ("cladding", 1, None, "lc")
    assert cal.cladding_median_px == pytest.approx(125 / um_per_px, rel=0.01)
    assert cal.image_size_px == (1280, 960) and cal.focus_score > 0


def test_an_sc_ferrule_and_an_array_give_the_same_answer():
    image = end_face("sc-apc", View(um_per_px=0.35, width_px=800, height_px=600))
    cal = calibrate_from_image(image, "sc-apc")
    assert cal.tip == "sc" and cal.um_per_px == pytest.approx(0.35, rel=0.01)


@pytest.mark.parametrize(
    "name,um_per_px,fibres",
    [("mpo12", 1.0, 4), ("mpo12", 3.0, 12), ("mpo24", 2.5, 24), ("mpo16", 3.5, 16)],
)
def test_an_mt_overview_is_calibrated_from_the_250_um_pitch(name, um_per_px, fibres):
    cal = calibrate_from_image(end_face(name, View(um_per_px=um_per_px), "mm"), name)
    assert (cal.source, cal.fibres, cal.tip) == ("pitch", fibres, "mpo")
    assert cal.um_per_px == pytest.approx(um_per_px, rel=0.01)
    assert cal.pitch_px == pytest.approx(250 / um_per_px, rel=0.01)
    assert cal.cladding_um_per_px == pytest.approx(um_per_px, rel=0.03)
    assert len(cal.cladding_px) == fibres


def test_two_mt_fibres_at_inspection_magnification_use_the_pitch():
    # Centred between fibres 6 and 7 of an MPO-12 at 0.3 um/px: both whole in view.
    cal = calibrate_from_image(end_face("mpo12", View(um_per_px=0.3)), "mpo12")
    assert (cal.source, cal.fibres) == ("pitch", 2)
    assert cal.um_per_px == pytest.approx(0.3, rel=0.01)


def test_one_mt_fibre_in_view_falls_back_to_the_cladding():
    view = View(center_um=(125.0, 0.0), um_per_px=0.3)  # fibre 7 alone
    cal = calibrate_from_image(end_face("mpo12", view), "mpo12")
    assert (cal.source, cal.fibres, cal.pitch_px) == ("cladding", 1, None)
    assert cal.um_per_px == pytest.approx(0.3, rel=0.01)


def test_several_fibres_for_a_single_fibre_connector_are_refused():
    image = end_face("mpo12", View(um_per_px=1.0))
    with pytest.raises(CalibrationError, match="shows 4 fibres but a lc-upc ferrule holds one"):
        calibrate_from_image(image, "lc-upc")


def test_a_blank_image_is_refused_plainly(tmp_path):
    path = tmp_path / "blank.png"
    cv2.imwrite(str(path), np.full((480, 640), 128, np.uint8))
    with pytest.raises(CalibrationError, match=r"blank\.png: blank image \(all uniform\)"):
        calibrate_from_image(path, "lc-upc")


def test_an_image_without_a_fibre_is_refused():
    # Grain makes small round blobs that locate may offer; none is a cladding edge.
    rng = np.random.default_rng(1)
    noise = (rng.random((480, 640)) * 255).astype(np.uint8)
    with pytest.raises(CalibrationError, match="no fibre found in the image"):
        calibrate_from_image(noise, "lc-upc")


def test_a_fibre_cut_by_the_border_is_refused():
    view = View(center_um=(80.0, 0.0), um_per_px=0.2, width_px=640, height_px=480)
    with pytest.raises(CalibrationError, match=r"no fibre found.*at least one whole fibre in view"):
        calibrate_from_image(end_face("lc-upc", view), "lc-upc")


def test_guide_pins_of_a_male_overview_are_not_taken_for_fibres():
    # At the bench's whole-ferrule view the claddings are tiny and the two steel pins are
    # round, bright and about four pitches apart: their spacing must not become a scale.
    # (The locator takes the fibre array for the fibres, not the pins, and refuses claddings
    # too small to measure to 1 %; before, it took the pins and the pitch check refused.)
    image = end_face("mpo12", View(um_per_px=5.75), pins=True)
    with pytest.raises(CalibrationError, match="the probe's inspection magnification"):
        calibrate_from_image(image, "mpo12")


def test_corrupt_and_missing_files_are_refused(tmp_path):
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), end_face("lc-upc", View(um_per_px=0.3)))
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(CalibrationError, match=r"cut\.png: truncated PNG file"):
        calibrate_from_image(cut, "lc-upc")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not an image at all")
    with pytest.raises(CalibrationError, match="not a readable image"):
        calibrate_from_image(junk, "lc-upc")
    with pytest.raises(CalibrationError, match="file not found"):
        calibrate_from_image(tmp_path / "nowhere.png", "lc-upc")


def test_an_unknown_connector_is_a_usage_error():
    with pytest.raises(UnknownConnectorError, match="known types"):
        calibrate_from_image(np.zeros((64, 64), np.uint8), "fc-pc")
