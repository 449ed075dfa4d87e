"""The PDFs' pictures (``reports/overlay.py``, arrays drawn with OpenCV) against reference PNGs.

No Qt: the arrays are compared as they are (``tests/reference_arrays.py``);
``QA_UPDATE_REFERENCES=1`` writes new references in ``tests/reports/reference``.
The frames are synthetic, so the pictures are the same on every run.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from grading.results import Defect, EndFaceResult, FiberResult, ZoneShape
from reports import overlay
from tests.reference_arrays import assert_array_looks_like
from tests.reports.test_overlay import synthetic_overview

HERE = Path(__file__).parent / "reference"
S = 0.5
ZONES = (
    ZoneShape("A", "core", 0, 25),
    ZoneShape("B", "cladding", 25, 115),
    ZoneShape("C", "adhesive", 115, 135),
    ZoneShape("D", "contact", 135, 250, min_coverage=0.5),
)


def frame() -> np.ndarray:
    img = np.full((480, 640), 60, np.uint8)
    cv2.circle(img, (420, 240), 125, 185, -1)
    cv2.circle(img, (420, 240), 9, 230, -1)
    return img


def fibre(verdict: str, coverage_d: float = 1.0) -> FiberResult:
    return FiberResult(
        7,
        (420.0, 240.0),
        250.0,
        verdict,
        (
            Defect("defect", "B", 6.0, (470.0, 220.0)),
            Defect("scratch", "A", 2.0, (420.0, 240.0), 30.0, ((400.0, 225.0), (440.0, 255.0))),
        ),
        coverage={"A": 1.0, "B": 1.0, "C": 1.0, "D": coverage_d},
    )


def test_a_failing_fibre(tmp_path):
    rgb = overlay.fibre_overlay(frame(), fibre("fail"), S, ZONES, size=320)
    assert_array_looks_like(rgb, HERE, "fibre-fail", tmp_path)


def test_a_fibre_whose_zone_d_the_frame_cuts_off(tmp_path):
    rgb = overlay.fibre_overlay(frame(), fibre("error", 0.42), S, ZONES, size=320)
    assert_array_looks_like(rgb, HERE, "fibre-zone-d-cut-off", tmp_path)


def test_an_mt_fibre_draws_only_its_zones_a_and_b(tmp_path):
    rgb = overlay.fibre_overlay(frame(), fibre("pass"), S, ZONES[:2], size=200)
    assert_array_looks_like(rgb, HERE, "fibre-mt-pass", tmp_path)


def test_the_whole_ferrule(tmp_path):
    fibres = tuple(
        FiberResult(n, (0.0, 0.0), 0.0, "fail" if n in (2, 7) else "pass") for n in range(1, 13)
    )
    result = EndFaceResult("fail", None, "house", "mpo12", fibres)
    rgb, located = overlay.overview_overlay(synthetic_overview("mpo12"), result, "mpo12")
    assert located
    assert_array_looks_like(rgb, HERE, "overview-mpo12", tmp_path)


def test_the_fibre_map(tmp_path):
    verdicts = {1: "pass", 2: "fail", 3: "error", **{n: "pass" for n in range(4, 12)}}
    rgb = overlay.fibre_map("mpo12", verdicts, "male", width=900)
    assert_array_looks_like(rgb, HERE, "fibre-map-mpo12-male", tmp_path)
