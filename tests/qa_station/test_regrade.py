"""Re-grading the archive: what would change under another table, on every core, with progress
and cancel; the record never changes; bad tables refused in one line."""

from __future__ import annotations

import csv
import io
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qa_station.accounts import Accounts
from qa_station.catalog import load_catalog
from qa_station.cli import main
from qa_station.config import load_config
from qa_station.demo import run_demo
from qa_station.regrade import (
    RegradeCancelled,
    RegradeError,
    record_regrade,
    regrade,
    select_ends,
)
from qa_station.store.models import Event, Inspection
from qa_station.store.store import open_store
from qa_station.store.verify import verify
from reports.regrade import CSV_COLUMNS

pytestmark = pytest.mark.slow  # a file of tens of seconds: a parallel run starts it first

JUMPER = "jumper-lc-duplex-sm-upc"
TIGHT = """schema = 1
name = "customer-x/tight-pc"
max_um_per_px = 0.8
min_feature_um = 1.0
polish = "pc"
fiber = "sm"
[[zones]]
name = "A"
label = "core"
inner_diameter_um = 0
outer_diameter_um = 25
scratches = [{ max_count = 0 }]
defects = [{ max_count = 0 }]
[[zones]]
name = "B"
label = "cladding"
inner_diameter_um = 25
outer_diameter_um = 115
scratches = [{ above_um = 2, max_count = 0 }]
defects = [{ from_um = 1.2, max_count = 0 }]
"""


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """A station home with a few demo jumpers through the gate (real frames in the store)."""
    home = tmp_path_factory.mktemp("archive")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QA_STATION_HOME", str(home))
        config = load_config()
        store = open_store(config)
        try:
            run_demo(store, load_catalog(), config, 3, JUMPER, "dusty")
        finally:
            store.close()
    return home


@pytest.fixture
def store(archive, monkeypatch, tmp_path):
    monkeypatch.setenv("QA_STATION_HOME", str(archive))
    s = open_store(load_config())
    yield s
    s.close()


def counts(store) -> tuple[int, int]:
    with store.read() as s:
        return (
            s.execute(select(func.count(Event.id))).scalar_one(),
            s.execute(select(func.count(Inspection.id))).scalar_one(),
        )


def test_the_same_table_changes_nothing(store):
    r = regrade(store, "iec-61300-3-35-ed2/sm-pc", workers=1)
    assert len(r.ends) == 12 and r.frames == 12  # 3 jumpers x 4 single-fibre ends
    assert r.changes == [] and r.accepted_now_failing == []


def test_a_tighter_table_names_what_would_fail_and_the_record_stays_as_it_was(store, tmp_path):
    table = tmp_path / "tight.toml"
    table.write_text(TIGHT)
    _operator, supervisor = Accounts(store).demo_sessions()  # the demo record's people
    before = counts(store)
    seen: list[tuple[int, int]] = []
    r = regrade(store, table, workers=2, progress=lambda d, n: seen.append((d, n)))
    assert r.rules == "customer-x/tight-pc" and r.workers == 2
    assert seen[0] == (0, 12) and seen[-1] == (12, 12)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert r.changes, "dusty jumpers carry 1.2-5 um particles the tight table fails"
    assert all(c.old == "pass" and c.new == "fail" for c in r.changes)
    assert set(r.accepted_now_failing) == {c.serial for c in r.changes if c.accepted}
    done = record_regrade(store, r, supervisor, tmp_path)
    events, inspections = counts(store)
    assert (events, inspections) == (before[0] + 1, before[1])  # one event, no inspection
    assert verify(store).ok
    rows = list(csv.DictReader(io.StringIO(done.csv.read_text())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(r.changes)
    assert {row["new_verdict"] for row in rows} == {"fail"}
    assert all(row["new_failures"].startswith("zone ") for row in rows), rows


@pytest.mark.parametrize("workers", [1, 2])
def test_a_cancel_mid_way_stops_and_records_nothing(store, workers):
    cancel = threading.Event()
    before = counts(store)

    def progress(done: int, total: int) -> None:
        if done > 0:
            cancel.set()

    with pytest.raises(
        RegradeCancelled, match=r"cancelled after \d+ of 12 frames; nothing recorded"
    ):
        regrade(
            store, "iec-61300-3-35-ed2/sm-pc", workers=workers, progress=progress, cancel=cancel
        )
    assert counts(store) == before


def qa(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_malformed_table_is_refused_in_one_line_and_nothing_is_recorded(store, capsys, tmp_path):
    before = counts(store)
    bad = tmp_path / "bad.toml"
    bad.write_text(TIGHT.replace("max_um_per_px = 0.8", 'max_um_per_px = "fine"'))
    for rules, words in (
        (str(bad), "key 'max_um_per_px': expected a finite number"),
        (str(tmp_path / "none.toml"), "neither a built-in rule set"),
        ("iec-61300-3-35-ed2/sm-apc", "fits none of the ends in the period"),
    ):
        code, out, err = qa(capsys, "regrade", "--rules", rules, "--jobs", "1")
        assert code == 2 and out == "", err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("qa-station regrade: error: ")
        assert words in lines[0], lines[0]
    assert qa(capsys, "regrade", "--rules", str(bad.with_name("x")), "--since", "yesterday")[0] == 2
    assert counts(store) == before


def test_the_regrade_command_writes_a_signed_report_that_verifies(store, capsys, tmp_path):
    table = tmp_path / "tight.toml"
    table.write_text(TIGHT)
    code, out, err = qa(
        capsys, "regrade", "--rules", str(table), "-o", str(tmp_path), "--jobs", "1"
    )
    assert code == 0, err
    assert "accepted assemblies that would now fail: " in out
    pdf = Path(out.split("report: ")[1].split()[0])
    assert pdf.with_suffix(".csv").is_file()
    code, out, _ = qa(capsys, "verify", str(pdf))
    assert code == 0 and "VALID: re-grade report QAG-" in out, out


def test_an_unknown_product_is_refused(store, capsys):
    code, _, err = qa(capsys, "regrade", "--rules", "iec-61300-3-35-ed2/sm-pc", "--product", "nope")
    assert code == 2 and "nope" in err
    with pytest.raises(RegradeError):
        regrade(store, "no such table")
    assert sys.stdout is not None


def test_an_mt_fibre_kept_as_its_graded_region_is_graded_again_at_its_recorded_cladding(
    tmp_path, monkeypatch
):
    """An MT ferrule's fibres keep only zones A and B (115 um), inside the 125 um cladding:
    the edge a scan locates is not in the kept region, so the region is graded where the
    inspection found the cladding. The same table gives every fibre its verdict again."""
    monkeypatch.setenv("QA_STATION_HOME", str(tmp_path))
    config = load_config()
    s = open_store(config)
    try:
        run_demo(s, load_catalog(), config, 1, "trunk-mpo12-sm-apc-b", "clean")
        ends = select_ends(s)
        assert ends and all(e.regions and e.connector.startswith("mpo") for e in ends)
        kept = [p for e in ends for p in e.regions.values()]
        assert all(p.located is not None and p.whole_frame is None for p in kept)
        assert all(p.kept_radius_px < p.located[2] for p in kept)  # the region ends in the glass
        r = regrade(s, "iec-61300-3-35-ed2/sm-apc", workers=1)
        assert r.frames == 24
        assert [g.error for g in r.graded.values() if g.verdict == "error"] == []
        assert r.changes == []
    finally:
        s.close()
