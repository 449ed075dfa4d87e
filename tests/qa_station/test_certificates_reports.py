"""Rejection and lot reports, and the CSV/JSON export for an MES."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from reports.export import EVENT_COLUMNS, INSPECTION_COLUMNS
from tests.qa_station.cert_kit import make_world, needs_poppler, pdftotext, qa
from tests.qa_station.gate_kit import JUMPER, TRUNK, dirty, make_kit, scan


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = make_world(tmp_path_factory.mktemp("report-world"), accepted=1, damaged=2)
    assert w.rejected, "no damaged demo assembly was rejected"
    return w


@pytest.fixture
def home(world, monkeypatch):
    monkeypatch.setenv("QA_STATION_HOME", str(world.home))
    return world.home


@needs_poppler
def test_the_rejection_report_says_why_with_pictures(capsys, home, world, tmp_path):
    serial = world.rejected[0]
    code, out, err = qa(capsys, "report", "rejection", serial, "-o", str(tmp_path))
    assert code == 0, err
    path = out.strip()
    assert path == str(tmp_path / f"{serial}-rejection.pdf")
    text = pdftotext(path)
    assert "REJECTED" in text and serial in text
    assert "Why it was rejected" in text and "damage" in text
    assert "demo-supervisor" in text
    assert "FAIL" in text and "zone " in text  # the limit each failing fibre broke
    assert "across the inspections" in text  # the failing fibre, inspection after inspection
    assert re.search(r"page 1 of \d+", text)
    data = Path(path).read_bytes()
    assert data.count(b"/Subtype /Image") >= 2  # pictures, not only words


def test_only_rejected_assemblies_get_a_rejection_report(capsys, home, world, tmp_path):
    code, out, err = qa(capsys, "report", "rejection", world.accepted[0], "-o", str(tmp_path))
    assert (code, out) == (1, "")
    assert "not rejected" in err and "qa-station certificate" in err
    code, _, err = qa(capsys, "report", "rejection", "LCD-1234567", "-o", str(tmp_path))
    assert code == 2 and "no assembly" in err


@needs_poppler
def test_the_lot_report_counts_yield_causes_and_positions(capsys, home, world, tmp_path):
    out_file = tmp_path / "lot.pdf"
    code, out, err = qa(capsys, "report", "lot", "--since", "2020-01-01", "-o", str(out_file))
    assert code == 0, err
    assert out.strip() == str(out_file)
    text = pdftotext(out_file)
    n = len(world.accepted) + len(world.rejected)
    assert f"{n} assemblies: {len(world.accepted)} accepted, {len(world.rejected)} rejected" in text
    pct = 100.0 * len(world.accepted) / n
    assert f"YIELD {pct:.1f} %" in text
    for heading in (
        "Failures by cause",
        "Failures by fibre position",
        "Cleaning cycles per assembly",
        "Escalations",
    ):
        assert heading in text
    assert re.search(r"zone [A-D] \(\w+\): (defects|scratches)", text)
    assert "damage" in text
    for serial in world.accepted + world.rejected:
        assert serial in text
    # a product filter that matches nothing, and a period before anything happened
    code, _, err = qa(
        capsys, "report", "lot", "--until", "2001-01-01", "-o", str(tmp_path / "empty.pdf")
    )
    assert code == 0, err
    assert "0 assemblies" in pdftotext(tmp_path / "empty.pdf")
    code, _, err = qa(capsys, "report", "lot", "--product", "no-such", "-o", str(tmp_path))
    assert code == 2 and "unknown product" in err


@pytest.mark.parametrize(
    "args",
    [
        ("report", "lot", "--since", "yesterday"),
        ("report", "lot", "--until", "2026-02-30"),
        ("report", "lot", "--since", "2026-05-02", "--until", "2026-05-01"),
        ("export", "--since", "20261301", "--format", "csv"),
        ("export", "--since", "2026-01-01", "--until", "not-a-date", "--format", "json"),
        ("export", "--since", "2026-01-01", "--format", "csv", "--records", "all"),
    ],
)
def test_bad_dates_and_choices_exit_2(capsys, args):
    code, out, err = qa(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith(f"qa-station {args[0]}")


# -- export: a kit store whose clock we move ------------------------------------------------

DAY = 86_400.0


@pytest.fixture
def timeline(tmp_path):
    """The trunk inspected (failed, cleaned, passed) on 2027-01-15; the jumper on 2027-01-17."""
    kit = make_kit(tmp_path)  # clock starts 2027-01-15 08:00 UTC
    kit.gate.register(TRUNK, kit.operator)
    kit.gate.record_inspection(TRUNK, "A", scan(TRUNK, "A", dirty(3)), kit.operator, "sim-400x")
    kit.gate.record_cleaning(TRUNK, "A", "dry-one-click", "ONECLICK-7", True, kit.operator)
    kit.gate.record_inspection(TRUNK, "A", scan(TRUNK, "A"), kit.operator, "sim-400x")
    kit.clock.advance(2 * DAY)
    kit.gate.register(JUMPER, kit.operator)
    kit.gate.record_inspection(JUMPER, "A1", scan(JUMPER, "A1"), kit.operator, "sim-400x")
    return kit, f"sqlite:///{tmp_path}/gate.db"


def test_export_csv_has_one_row_per_fibre_and_the_documented_columns(capsys, timeline):
    _kit, url = timeline
    code, out, err = qa(capsys, "export", "--since", "2027-01-15", "--format", "csv", "--db", url)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0].keys()) == [c for c, _ in INSPECTION_COLUMNS]
    assert len(rows) == 12 + 12 + 1  # two 12-fibre inspections of the trunk, one LC fibre
    failed = [r for r in rows if r["fibre_verdict"] == "fail"]
    assert [(r["serial"], r["end"], r["fibre"], r["end_verdict"]) for r in failed] == [
        (TRUNK, "A", "3", "fail")
    ]
    assert failed[0]["defects"] == "1" and failed[0]["largest_defect_um"] == "4.0"
    assert "zone A" in failed[0]["failures"]
    assert all(re.fullmatch(r"[0-9a-f]{64}", r["image_sha256"]) for r in rows)
    assert all(r["inspected_at"].startswith("2027-01-1") for r in rows)


def test_export_filters_by_date(capsys, timeline):
    _kit, url = timeline

    def serials(*args):
        code, out, err = qa(capsys, "export", "--format", "csv", "--db", url, *args)
        assert code == 0, err
        return {r["serial"] for r in csv.DictReader(io.StringIO(out))}

    assert serials("--since", "2027-01-15") == {TRUNK, JUMPER}
    assert serials("--since", "2027-01-16") == {JUMPER}
    assert serials("--since", "2027-01-15", "--until", "2027-01-15") == {TRUNK}  # the whole day
    assert serials("--since", "2027-01-15T09:00") == {JUMPER}
    assert serials("--since", "2027-01-15T08:30+01:00", "--until", "2027-01-16") == {TRUNK}
    assert serials("--since", "2027-01-18") == set()


def test_export_json_has_inspections_with_fibres_and_events(capsys, timeline, tmp_path):
    _kit, url = timeline
    target = tmp_path / "mes.json"
    code, out, err = qa(
        capsys,
        "export",
        "--since",
        "2027-01-16",
        "--format",
        "json",
        "--db",
        url,
        "-o",
        str(target),
    )
    assert (code, out) == (0, ""), err
    doc = json.loads(target.read_text())
    assert doc["format"] == "qa-station export" and doc["version"] == 1
    assert doc["since"].startswith("2027-01-16T00:00:00")
    (insp,) = doc["inspections"]
    assert insp["serial"] == JUMPER and insp["end"] == "A1" and insp["verdict"] == "pass"
    assert [f["fibre"] for f in insp["fibres"]] == [1]
    kinds = [e["kind"] for e in doc["events"]]
    assert kinds == ["login", "assembly.registered", "end.inspected"]  # olga signed in that day
    assert [e["serial"] for e in doc["events"]] == [None, JUMPER, JUMPER]


def test_export_events_as_csv(capsys, timeline):
    _kit, url = timeline
    code, out, err = qa(
        capsys,
        "export",
        "--since",
        "2027-01-15",
        "--format",
        "csv",
        "--records",
        "events",
        "--db",
        url,
    )
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0].keys()) == [c for c, _ in EVENT_COLUMNS]
    cleaned = [r for r in rows if r["kind"] == "end.cleaned"]
    assert len(cleaned) == 1 and json.loads(cleaned[0]["payload"])["tool"] == "ONECLICK-7"
    assert [int(r["event_id"]) for r in rows] == sorted(int(r["event_id"]) for r in rows)
