"""The PDF documents from plain models alone (no store, no application): what they print."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from collections import Counter

import cv2
import numpy as np
import pytest

from grading.results import Defect, EndFaceResult, FiberResult, ZoneShape
from reports.certificate import render_certificate
from reports.lot import cause_of, render_lot, summarise
from reports.model import (
    AssemblyReport,
    Certificate,
    CleaningInfo,
    DeviationInfo,
    EndSection,
    FibreFailure,
    InspectionInfo,
    LotAssembly,
    LotReport,
    RulesInfo,
)

T0 = 1_800_000_000_000_000
pdftotext_missing = pytest.mark.skipif(not shutil.which("pdftotext"), reason="no pdftotext")


def text_of(pdf: bytes, tmp_path) -> str:
    p = tmp_path / "doc.pdf"
    p.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(p), "-"], capture_output=True, text=True
    ).stdout


def frame() -> np.ndarray:
    img = np.full((960, 1280), 70, np.uint8)
    cv2.circle(img, (640, 480), 200, 200, -1)
    return img


def lc_end(label: str, verdict: str = "pass", deviation: bool = False) -> EndSection:
    defects = (Defect("defect", "B", 7.5, (700.0, 470.0)),) if verdict == "fail" else ()
    failures = ("zone B (cladding): 1 defect > 5 um (7.5 um), none allowed",) if defects else ()
    f = FiberResult(1, (640.0, 480.0), 400.0, verdict, defects, failures)
    zones = (
        ZoneShape("A", "core", 0, 25),
        ZoneShape("B", "cladding", 25, 115),
        ZoneShape("C", "adhesive", 115, 135),
        ZoneShape("D", "contact", 135, 250),
    )
    result = EndFaceResult(
        verdict,
        0.3125,
        "iec-61300-3-35-ed2/sm-pc",
        "lc-upc",
        (f,),
        scale_source="given",
        zones=zones,
    )
    return EndSection(
        label=label,
        connector="lc-upc",
        fiber="sm",
        gender=None,
        rules=RulesInfo("iec-61300-3-35-ed2/sm-pc", "1c" * 32, "IEC 61300-3-35 ed.2", "ed2-2015"),
        result=result,
        inspection_id=7,
        inspected_at_us=T0,
        inspected_by="olga",
        um_per_px=0.3125,
        probe_id="sim-400x",
        calibration="0.3125 µm/px, probe sim-400x",
        fibre_images={1: frame()},
        inspections=(InspectionInfo(7, T0, label, verdict, "olga", "bench-1"),),
        cleanings=(
            CleaningInfo(
                T0 - 10_000_000, label, "dry-one-click", "ONECLICK-7", True, "olga", "bench-1"
            ),
        ),
        connection="connected",
        connected_at_us=T0 + 5_000_000,
        connected_by="sam" if deviation else "olga",
        deviation=deviation,
    )


def assembly(ends, deviations=()) -> AssemblyReport:
    return AssemblyReport(
        serial="LCD-<&>-0001",  # markup characters print as themselves
        product_id="jumper-lc-duplex-sm-upc",
        product_name="LC duplex jumper",
        part_number=None,
        station="bench-1",
        status="accepted",
        registered_us=T0 - 60_000_000,
        ends=tuple(ends),
        record_hash="ab" * 32,
        last_event_id=42,
        operators=("olga", "sam"),
        closed_us=T0 + 6_000_000,
        deviations=tuple(deviations),
    )


@pdftotext_missing
def test_a_certificate_from_a_model_prints_its_facts(tmp_path):
    cert = Certificate(
        "QAC-AAAA-BBBB-CCCC-DDDD",
        T0 + 7_000_000,
        "bench-1",
        assembly([lc_end("A1"), lc_end("A2")]),
        local_tz=dt.timezone(dt.timedelta(hours=1), "CET"),
    )
    pdf = render_certificate(cert)
    assert pdf.startswith(b"%PDF-")
    text = text_of(pdf, tmp_path)
    assert "LCD-<&>-0001" in text and "QAC-AAAA-BBBB-CCCC-DDDD" in text and "ACCEPTED" in text
    assert "2027-01-15 08:00:07 UTC / local 09:00:07 (CET, UTC+01:00)" in text
    assert "ONECLICK-7" in text  # the cleaning history
    assert "ab" * 32 in text  # the record hash
    assert "No deviations" in text


@pdftotext_missing
def test_deviations_are_printed_plainly(tmp_path):
    dev = DeviationInfo(
        T0 + 4_000_000, "A2", "connect", "customer accepts (ticket 9)", "sam", "end A2 failed"
    )
    cert = Certificate(
        "QAC-AAAA-BBBB-CCCC-DDDD",
        T0 + 7_000_000,
        "bench-1",
        assembly([lc_end("A1"), lc_end("A2", "fail", deviation=True)], [dev]),
    )
    text = " ".join(text_of(render_certificate(cert), tmp_path).split())
    assert (
        "DEVIATION: end A2: connected by supervisor override: customer accepts (ticket 9)" in text
    )
    assert "The rules would have refused: end A2 failed" in text
    assert "connected (OVERRIDE)" in text  # the ends table marks the end too


def test_causes_are_read_from_the_failure_words():
    assert cause_of(
        "zone B (cladding): 6 defects of 2-5 um (largest 3.4 um), at most 5 allowed"
    ) == ("zone B (cladding): defects")
    assert (
        cause_of("zone A (core): 1 scratch > 3 um wide (4.3 um), none allowed")
        == "zone A (core): scratches"
    )
    assert (
        cause_of("zone D (contact): 1 defect >= 10 um (25.4 um), none allowed")
        == "zone D (contact): defects"
    )
    assert cause_of("out of focus") == "other"


def lot() -> LotReport:
    a = [
        LotAssembly("S1", "p", "accepted", T0, T0 + 1, 2, 0, True),
        LotAssembly("S2", "p", "accepted", T0, T0 + 1, 4, 2, False),
        LotAssembly(
            "S3", "p", "rejected", T0, T0 + 1, 5, 3, False, ("damage",), 0, "end A: damage"
        ),
        LotAssembly("S4", "p", "open", T0, None, 1, 0, False),
    ]
    f = [
        FibreFailure(
            "S2",
            "A",
            "mpo12",
            3,
            "fail",
            ("zone B (cladding): 2 defects > 5 um (6.1 um), none allowed",),
        ),
        FibreFailure(
            "S3", "A", "mpo12", 3, "fail", ("zone A (core): 1 scratch (4.0 um), none allowed",)
        ),
        FibreFailure(
            "S3", "A", "mpo12", 3, "fail", ("zone A (core): 1 scratch (4.1 um), none allowed",)
        ),
        FibreFailure("S3", "B", "mpo12", 9, "error", ("out of focus",)),
        FibreFailure(
            "S2",
            "LC1",
            "lc-upc",
            1,
            "fail",
            ("zone B (cladding): 1 defect > 5 um (5.5 um), none allowed",),
        ),
    ]
    return LotReport(
        T0,
        "bench-1",
        T0 - 1,
        T0 + 10,
        None,
        tuple(a),
        tuple(f),
        {"dry-one-click": 5},
        {"mpo12": 9, "lc-upc": 2},
    )


def test_the_lot_summary_counts():
    s = summarise(lot())
    assert (s.assemblies, s.accepted, s.rejected, s.open) == (4, 2, 1, 1)
    assert s.yield_pct == pytest.approx(200 / 3) and s.first_pass_pct == 25.0
    assert s.by_cause[0] == ("zone A (core): scratches", 2, 1)
    assert ("zone B (cladding): defects", 2, 1) in s.by_cause
    assert ("not judged (image could not be graded)", 1, 1) in s.by_cause
    assert s.by_position["mpo12"] == Counter({3: 3, 9: 1})
    assert s.by_end[("lc-upc", "LC1")] == 1
    assert s.cleaning_cycles == Counter({0: 2, 2: 1, 3: 1})
    assert s.escalations == Counter({"damage": 1})


@pdftotext_missing
def test_the_lot_report_renders(tmp_path):
    text = text_of(render_lot(lot()), tmp_path)
    assert "YIELD 66.7 %" in text and "4 assemblies: 2 accepted, 1 rejected, 1 still open" in text
    assert "MPO12 ends: failed inspections per fibre" in text
    assert "zone A (core): scratches" in text
    for s in ("S1", "S2", "S3", "S4"):
        assert s in text
