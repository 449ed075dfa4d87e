"""A floor of benches shares one record, frames included (PostgreSQL).

Two station homes on one database: a frame bench A records is read, drawn and verified at
bench B and at an auditor's station, neither of which ever had the file. A bench's old
frames move into the floor store at migration (every hash checked) and its folder can then
go. The bench's database role may insert audit rows and never update or delete them, and a
trigger refuses it for anyone. The outbox carries the frames of an outage.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import psycopg
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from qa_station.accounts import Accounts
from qa_station.auditor import AuditorStation
from qa_station.catalog import load_catalog
from qa_station.cli import main
from qa_station.config import StationConfig
from qa_station.gate import Gate
from qa_station.gate.offline import FloorGate
from qa_station.paths import station_paths
from qa_station.record import load_record
from qa_station.store import Store, StoreError
from qa_station.store.floor import AUDIT_TABLES
from qa_station.store.images import DatabaseImages, ImageFolder
from qa_station.store.keys import Trust
from qa_station.store.models import Base
from qa_station.store.outbox import Outbox
from qa_station.store.store import MIGRATIONS
from qa_station.store.verify import check_assembly, verify
from reports.overlay import fibre_overlay
from tests import pg
from tests.qa_station.gate_kit import dirty, scan
from tests.qualify_kit import qualify_store

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
CATALOG = load_catalog()
SERIAL = "T12B-000777"
PASSWORD = "floor operator password"


@pytest.fixture
def floor_url(store_url):
    if not store_url.startswith("postgresql"):
        pytest.skip("the floor store is PostgreSQL")
    return store_url


class Bench:
    """One station home: its own folder, keys and witness, on the shared database."""

    def __init__(
        self, url: str, home: Path, station: str, read_only: bool = False, qualify: bool = True
    ) -> None:
        self.home = home
        self.store = Store(
            url,
            home / "images",
            station_id=station,
            keys_dir=home / "keys",
            witness_dir=home / "witness",
            read_only=read_only,
        )
        self.store.migrate()
        if qualify and not read_only:
            qualify_store(self.store)  # no station records an inspection unqualified (issue 14)

    def trust(self, *others: Bench) -> Trust:
        """This station's own certificate and the other benches' (audit verify --trust)."""
        given = self.home / "others.pem"
        given.write_bytes(b"".join((o.home / "keys" / "station.crt").read_bytes() for o in others))
        return Trust.of(self.home / "keys", given if others else None)


def people(store: Store):
    accounts = Accounts(store)
    accounts.add("admin", "admin", None, password=PASSWORD)
    admin = accounts.sign_in("admin", PASSWORD)
    accounts.add("olga", "operator", admin, password=PASSWORD)
    return accounts.sign_in("olga", PASSWORD)


def files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.png")] if folder.exists() else []


def test_a_frame_recorded_at_bench_a_is_shown_drawn_and_verified_at_b_and_by_an_auditor(
    floor_url, tmp_path
):
    a = Bench(floor_url, tmp_path / "a", "bench-a")
    olga = people(a.store)
    gate = Gate(a.store, CATALOG)
    gate.register(SERIAL, olga)
    the_scan = scan(SERIAL, "A", dirty(), CATALOG)
    assert gate.record_inspection(SERIAL, "A", the_scan, olga, "sim").verdict == "fail"
    a.store.checkpoint("audit")
    assert files(tmp_path / "a" / "images") == []  # the frames went to the floor store

    b = Bench(floor_url, tmp_path / "b", "bench-b")
    auditor = AuditorStation(
        StationConfig(), Bench(floor_url, tmp_path / "c", "audit", True).store, CATALOG
    )
    for station, trust in ((b.store, b.trust(a)), (auditor.store, b.trust(a))):
        insp = load_record(station, SERIAL).end("A").inspections[-1]
        failing = next(f for f in insp.result_in_images().fibers if f.verdict == "fail")
        sha = insp.fibre_images[failing.index]
        image = station.images.read(sha)  # shown: the pixels bench A graded
        np.testing.assert_array_equal(image, the_scan.frames[failing.index].image)
        drawn = fibre_overlay(image, failing, insp.result.um_per_px, [])  # drawn, as graded
        assert drawn.ndim == 3 and drawn.shape[2] == 3
        assert station.images.check(sha) is None
        report = verify(station, trust=trust)
        assert report.ok, report.problems
        assert report.images == len(insp.fibre_images) and check_assembly(station, SERIAL) == []
    assert files(tmp_path / "b" / "images") == [] and files(tmp_path / "c" / "images") == []


def test_an_auditors_station_records_nothing(floor_url, tmp_path):
    a = Bench(floor_url, tmp_path / "a", "bench-a")
    olga = people(a.store)
    Gate(a.store, CATALOG).register(SERIAL, olga)
    before = verify(a.store, trust=a.trust()).events
    auditor = AuditorStation(
        StationConfig(), Bench(floor_url, tmp_path / "c", "audit", True).store, CATALOG
    )
    with pytest.raises(StoreError, match="auditor's station"):
        auditor.gate.register("T12B-000778", olga)
    with pytest.raises(StoreError, match="auditor's station"):
        auditor.gate.record_inspection(SERIAL, "A", scan(SERIAL, "A", None, CATALOG), olga, "s")
    with pytest.raises(StoreError, match="auditor's station"):
        auditor.store.checkpoint("audit")
    with pytest.raises(StoreError, match="issued at a bench"):
        auditor.issue_certificate(SERIAL)
    assert verify(a.store, trust=a.trust()).events == before
    with pytest.raises(StoreError, match="auditor's station"):  # nor from its config alone
        AuditorStation(StationConfig(), Store(floor_url, tmp_path / "x"), CATALOG)


@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_the_bench_role_may_not_update_or_delete_an_audit_table(floor_url, table):
    """The database refuses, whatever code sends it: the GRANTs (and, below, a trigger)."""
    bench = create_engine(floor_url, poolclass=NullPool)
    column = next(iter(Base.metadata.tables[table].primary_key.columns)).name
    try:
        for statement in (f"UPDATE {table} SET {column} = {column}", f"DELETE FROM {table}"):
            with pytest.raises(Exception) as err, bench.begin() as conn:
                conn.execute(text(statement))
            assert isinstance(err.value.orig, psycopg.errors.InsufficientPrivilege), statement
            assert f"permission denied for table {table}" in str(err.value.orig)
        with bench.begin() as conn:  # what a bench must do, it may
            conn.execute(text(f"SELECT count(*) FROM {table}"))
    finally:
        bench.dispose()


def test_a_trigger_refuses_rewriting_audit_rows_even_for_the_owner(floor_url, tmp_path):
    a = Bench(floor_url, tmp_path / "a", "bench-a")
    Gate(a.store, CATALOG).register(SERIAL, people(a.store))
    owner = create_engine(pg.owner_of(floor_url), poolclass=NullPool)
    try:
        for statement in (
            "UPDATE events SET payload = '{}' WHERE id = 1",
            "DELETE FROM assemblies",
            "TRUNCATE events CASCADE",
        ):
            refused = pytest.raises(Exception, match="refused: the record is insert-only")
            with refused, owner.begin() as conn:
                conn.execute(text(statement))
    finally:
        owner.dispose()
    assert verify(a.store, trust=a.trust()).ok


def test_the_outbox_carries_an_outages_frames_and_sends_them_with_the_action(floor_url, tmp_path):
    a = Bench(floor_url, tmp_path / "a", "bench-a")
    olga = people(a.store)
    outbox = Outbox(tmp_path / "a" / "outbox.sqlite3", "bench-a")
    floor = FloorGate(Gate(a.store, CATALOG), outbox)
    floor.register(SERIAL, olga)
    floor.state(SERIAL)
    floor.start_offline("the floor database is down (a test)")
    the_scan = scan(SERIAL, "A", dirty(), CATALOG)
    floor.record_inspection(SERIAL, "A", the_scan, olga, "sim")
    (entry,) = outbox.pending()
    kept = outbox.frames(entry.seq)
    assert len(kept) == len(the_scan.frames)
    assert all(hashlib.sha256(d).hexdigest() == sha for sha, d in kept.items())
    assert files(tmp_path / "a" / "images") == []  # in the outbox file, not in a folder
    with a.store.read() as s:
        assert s.execute(text("SELECT count(*) FROM image_data")).scalar() == 0

    a.store.images.committed(list(kept))  # a restart: nothing in memory but the outbox
    report = floor.replay()
    assert report.sent == 1 and not report.conflicts
    with a.store.read() as s:
        stored = set(s.execute(text("SELECT sha256 FROM image_data")).scalars())
    assert stored == set(kept)
    assert outbox.frames(entry.seq) == {}  # sent: dropped from the outbox
    with sqlite3.connect(outbox.path) as db:
        assert db.execute("SELECT count(*) FROM frames").fetchone()[0] == 0
    assert verify(a.store, trust=a.trust()).ok


# -- frames moved in from the benches' folders -------------------------------------------------


def old_floor(url: str, home: Path, station: str) -> Store:
    """A bench of a floor at schema 0006: frames written to its own folder, as before."""
    store = Store(url, home / "images", station_id=station, keys_dir=home / "keys")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["record_signer"] = store._sign_migrated_head
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
    store.images = ImageFolder(home / "images")
    return store


@pytest.mark.pg_owner
def test_migration_moves_a_benchs_frames_in_and_the_folder_can_go(floor_url, tmp_path):
    home_a = tmp_path / "a"
    old_a = old_floor(floor_url, home_a, "bench-a")
    olga = people(old_a)
    qualify_store(old_a, ("s",))
    Gate(old_a, CATALOG).register(SERIAL, olga)
    Gate(old_a, CATALOG).record_inspection(
        SERIAL, "A", scan(SERIAL, "A", dirty(), CATALOG), olga, "s"
    )
    old_b = Store(floor_url, station_paths().images_dir, station_id="bench-1")
    old_b.images = ImageFolder(station_paths().images_dir)  # bench B, the CLI's home
    qualify_store(old_b, ("s",))
    Gate(old_b, CATALOG).record_inspection(SERIAL, "B", scan(SERIAL, "B", None, CATALOG), olga, "s")
    frames_a, frames_b = files(home_a / "images"), files(station_paths().images_dir)
    assert frames_a and frames_b
    old_a.close()
    old_b.close()

    # A frame that is not what its name says stops the migration: nothing is written.
    good = frames_a[0].read_bytes()
    frames_a[0].write_bytes(b"not the frame")
    with pytest.raises(StoreError, match="not what their names say"):
        Store(floor_url, home_a / "images", "bench-a", keys_dir=home_a / "keys").migrate()
    frames_a[0].write_bytes(good)

    a = Store(floor_url, home_a / "images", "bench-a", keys_dir=home_a / "keys")
    a.migrate()  # 0007: bench A's frames in, each hashed
    assert isinstance(a.images, DatabaseImages)
    assert a.frames_moved.moved == len(frames_a) and not a.frames_moved.bad
    trust = Trust.of(home_a / "keys", station_paths().keys_dir / "station.crt")
    missing = verify(a, trust=trust)
    only_b = {f.stem for f in frames_b} - {f.stem for f in frames_a}
    assert only_b and len(missing.problems) == len(only_b)  # still only on B's disk
    assert all(a.images.missing in p for p in missing.problems)

    assert main(["store", "move-frames", "--db", floor_url, "--delete-local"]) == 0
    shutil.rmtree(home_a / "images")  # bench A's folder, gone after the migration
    assert files(station_paths().images_dir) == []  # B's, removed by --delete-local
    report = verify(a, trust=trust)
    assert report.ok, report.problems
    assert report.images == len({f.stem for f in frames_a + frames_b})
    a.close()


def test_a_regrade_at_another_bench_grades_frames_it_reads_from_the_floor_store(
    floor_url, tmp_path
):
    from qa_station.demo import run_demo
    from qa_station.regrade import regrade

    a = Bench(floor_url, tmp_path / "a", "bench-a", qualify=False)  # the demo qualifies it
    run_demo(a.store, CATALOG, StationConfig(), 1, "jumper-lc-duplex-sm-upc", "dusty")
    b = Bench(floor_url, tmp_path / "b", "bench-b")
    r = regrade(b.store, "iec-61300-3-35-ed2/sm-pc", workers=2)
    assert r.frames == 4  # one jumper, four single-fibre ends, read from the floor store
    assert [f.error for f in r.graded.values() if f.verdict == "error"] == []
    assert r.changes == []  # the same table: the verdicts recorded at bench A
    assert files(tmp_path / "b" / "images") == []


def test_a_frame_missing_from_the_floor_store_is_an_error_fibre_and_the_rest_are_graded(
    floor_url, tmp_path
):
    from qa_station.demo import run_demo
    from qa_station.regrade import FrameTask, grade_frames, load_table, select_ends

    a = Bench(floor_url, tmp_path / "a", "bench-a", qualify=False)
    run_demo(a.store, CATALOG, StationConfig(), 1, "jumper-lc-duplex-sm-upc", "clean")
    e = select_ends(a.store)[0]
    fibre, sha = next(iter(e.images.items()))
    kept = FrameTask(e.inspection_id, fibre, sha, None, e.connector, e.scale)
    gone = FrameTask(e.inspection_id, fibre + 1, "0" * 64, None, e.connector, e.scale)
    table = load_table("iec-61300-3-35-ed2/sm-pc")
    for workers in (1, 2):
        graded = {
            g.fibre: g.result
            for g in grade_frames([kept, gone], table, workers, None, None, a.store.images)
        }
        assert graded[fibre].verdict != "error"
        assert graded[fibre + 1].verdict == "error"
        assert graded[fibre + 1].error.startswith("stored frame: image 000000000000 missing")
