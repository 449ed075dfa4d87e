"""The store on both backends (``store_url``: SQLite and PostgreSQL): schema, hash chain,
tamper detection by ``verify``, image files, and the history of a serial.

Inspections and cleanings are recorded through the real ``Gate`` with synthetic scans
(64x64 frames and hand-made fibre results), so the rows and events are the ones a bench
writes; the tampering is done behind the store's back with raw SQL and file writes.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import time
from types import SimpleNamespace

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from grading.results import FiberResult
from grading.rules import load_rules
from hardware.probes.base import Frame
from qa_station import paths as paths_module
from qa_station.accounts import Accounts
from qa_station.catalog import load_catalog
from qa_station.gate import Gate
from qa_station.scan import ScanResult
from qa_station.store import Store
from qa_station.store.chain import GENESIS, canonical, event_hash, signed_text
from qa_station.store.images import ImageStoreError
from qa_station.store.keys import check_signature
from qa_station.store.kinds import Kind
from qa_station.store.models import Base
from qa_station.store.store import MIGRATIONS
from qa_station.store.verify import verify
from tests import pg
from tests.qualify_kit import qualify_store

pytestmark = pytest.mark.slow  # a file of tens of seconds: a parallel run starts it first

CATALOG = load_catalog()
SERIAL = "LCD-0012345"  # LC duplex jumper: ends A1, A2, B1, B2, one lc-upc fibre each
OTHER = "LCD-0012346"
RULES = load_rules("iec-61300-3-35-ed2/sm-pc")
PASSWORD = "correct horse battery"


# -- helpers ----------------------------------------------------------------------------------
def frame(end: str, seed: int) -> Frame:
    image = np.random.default_rng(seed).integers(0, 256, (64, 64), dtype=np.uint8)
    return Frame(image, 0.3125, "sim-400x", 1_700_000_000.0 + seed, seed, end, 1)


def lc_scan(end: str, verdict: str = "pass", seed: int = 1) -> ScanResult:
    failures = () if verdict == "pass" else ("zone B (cladding): 1 defect > 5 um, none allowed",)
    fibre = FiberResult(1, (32.0, 32.0), 40.0, verdict, failures=failures)
    return ScanResult(
        end=end,
        connector="lc-upc",
        rules=RULES.name,
        fibers={1: fibre},
        frames={1: frame(end, seed)},
        focus_scores={1: 20.5},
        um_per_px=0.3125,
        rules_sha256=RULES.sha256,
    )


def plain_engine(url: str):
    """An engine without the store's hooks (no BEGIN IMMEDIATE): for looking from outside."""
    return create_engine(url, poolclass=NullPool)


def sql(store: Store, statement: str, **params) -> list:
    """Run raw SQL behind the store's back (the tampering), committed."""
    return pg.tamper_sql(store, statement, **params)


def one(store: Store, statement: str, **params):
    return sql(store, statement, **params)[0][0]


@pytest.fixture
def store(store_url, tmp_path):
    s = Store(store_url, tmp_path / "images", station_id="bench-1")
    s.migrate()
    yield s
    s.close()


class Floor:
    """An admin, an operator and a gate on one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        accounts = Accounts(store)
        accounts.add("admin", "admin", None, password=PASSWORD)
        self.admin = accounts.sign_in("admin", PASSWORD)
        accounts.add("olga", "operator", self.admin, password=PASSWORD)
        self.operator = accounts.sign_in("olga", PASSWORD)
        self.gate = Gate(store, CATALOG)
        self.qualified = False

    def register(self, serial: str) -> None:
        self.gate.register(serial, self.operator)
        if not self.qualified:  # a station records no inspection unqualified (issue 14)
            qualify_store(self.store, ("sim-400x",))
            self.qualified = True

    def inspect(self, serial: str, end: str, verdict: str = "pass", seed: int = 1) -> int:
        rec = self.gate.record_inspection(
            serial, end, lc_scan(end, verdict, seed), self.operator, "sim-400x"
        )
        return rec.inspection_id

    def clean(self, serial: str, end: str) -> None:
        self.gate.record_cleaning(serial, end, "dry-one-click", "cassette-17", True, self.operator)


@pytest.fixture
def recorded(store):
    """Events 1-4 users added and signed in, 5 registered, 6 the station qualified,
    7 inspected (A1), 8 cleaned (A2)."""
    floor = Floor(store)
    floor.register(SERIAL)
    floor.inspect(SERIAL, "A1", "pass", seed=1)
    floor.clean(SERIAL, "A2")
    kinds = [k for (k,) in sql(store, "SELECT kind FROM events ORDER BY id")]
    assert kinds == [
        "user.added",
        "login",
        "user.added",
        "login",
        "assembly.registered",
        "station.qualified",
        "end.inspected",
        "end.cleaned",
    ]
    assert verify(store).ok, verify(store).problems
    return floor


# -- schema -----------------------------------------------------------------------------------
def test_migrations_build_every_table_of_the_models_and_run_again(store_url, tmp_path):
    store = Store(store_url, tmp_path / "images", station_id="bench-1")
    try:
        store.migrate()
        store.migrate()  # idempotent on the same store
        again = Store(store_url, tmp_path / "images", station_id="bench-1")
        again.migrate()  # and from a second station process on the same database
        again.close()

        with store.engine.connect() as conn:
            insp = inspect(conn)
            tables = set(insp.get_table_names())
            assert set(Base.metadata.tables) <= tables
            for name, table in Base.metadata.tables.items():
                columns = {c["name"] for c in insp.get_columns(name)}
                assert columns == {c.name for c in table.columns}, name
            assert {"ix_events_assembly_id_id", "ix_events_kind_created_us"} <= {
                i["name"] for i in insp.get_indexes("events")
            }
            # Statistics ask by period: months of inspections must not be scanned whole.
            assert "ix_inspections_created_us" in {
                i["name"] for i in insp.get_indexes("inspections")
            }
            # The migrations build exactly what models.py declares (no drift between the two).
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []

        head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
        assert sql(store, "SELECT version_num FROM alembic_version") == [(head,)]
        assert sql(store, "SELECT id, last_event_id, last_hash FROM chain_head") == [
            (1, 0, GENESIS)
        ]
        assert sql(store, "SELECT id FROM stations") == [("bench-1",)]
        assert one(store, "SELECT count(*) FROM events") == 0
    finally:
        store.close()


def test_an_empty_store_verifies(store):
    report = verify(store)
    assert report.ok and report.events == 0


# -- the chain --------------------------------------------------------------------------------
def test_each_event_carries_the_hash_of_the_one_before_and_the_hashes_recompute(store):
    note = Kind.STATION_CONFIGURED
    with store.write() as w:
        w.event(note, {"n": 1, "text": "first, ünïcode"}, operator="olga", at_us=1_000)
        w.event(note, {"n": 2, "x": 0.1}, operator=None)
    with store.write() as w:
        w.event(note, {"n": 3, "nested": {"b": [1, 2], "a": None}}, end="A1")

    rows = sql(
        store,
        "SELECT id, kind, assembly_id, end_label, payload, operator, station_id, created_us, "
        "session, mono_us, prev_hash, hash, signature FROM events ORDER BY id",
    )
    assert len(rows) == 3
    prev = GENESIS
    for row in rows:
        ev_id, kind, aid, end, payload, operator, station, at, session, mono, prev_hash, h, sig = (
            row
        )
        assert prev_hash == prev
        assert h == event_hash(
            prev_hash, ev_id, kind, aid, end, payload, operator, station, at, session, mono
        )
        assert check_signature(store.key.public, sig, signed_text(h))  # the station signed it
        assert station == "bench-1"
        prev = h
    assert rows[0][7] == 1_000
    assert json.loads(rows[2][4]) == {"n": 3, "nested": {"b": [1, 2], "a": None}}
    assert rows[2][4] == canonical({"n": 3, "nested": {"b": [1, 2], "a": None}})
    assert sql(store, "SELECT last_event_id, last_hash FROM chain_head") == [(rows[-1][0], prev)]

    report = verify(store)
    assert report.ok, report.problems
    assert report.events == 3


def test_a_rolled_back_write_leaves_no_event_and_the_head_where_it_was(store):
    with store.write() as w:
        w.event(Kind.STATION_CONFIGURED, {"n": 1})
    head = sql(store, "SELECT last_event_id, last_hash FROM chain_head")
    with pytest.raises(RuntimeError, match="operator cancelled"), store.write() as w:
        w.event(Kind.STATION_CONFIGURED, {"n": 2})
        raise RuntimeError("operator cancelled")
    assert one(store, "SELECT count(*) FROM events") == 1
    assert sql(store, "SELECT last_event_id, last_hash FROM chain_head") == head
    with store.write() as w:
        w.event(Kind.STATION_CONFIGURED, {"n": 3})
    assert verify(store).ok, verify(store).problems


# -- tampering, named by verify ---------------------------------------------------------------
def test_a_changed_event_payload_is_named(store, recorded):
    ev_id, payload = sql(store, "SELECT id, payload FROM events WHERE kind = 'end.inspected'")[0]
    forged = canonical({**json.loads(payload), "verdict": "pass", "failed_fibers": [1]})
    sql(store, "UPDATE events SET payload = :p WHERE id = :id", p=forged, id=ev_id)

    report = verify(store)
    assert report.problems == [
        f"event {ev_id} (end.inspected, serial {SERIAL} end A1): "
        "its content was changed after it was recorded"
    ]
    assert report.first_problem.startswith(f"event {ev_id} (")


def test_a_changed_event_time_is_named_too(store, recorded):
    ev_id = one(store, "SELECT id FROM events WHERE kind = 'assembly.registered'")
    sql(store, "UPDATE events SET created_us = created_us - 1 WHERE id = :id", id=ev_id)
    assert verify(store).problems == [
        f"event {ev_id} (assembly.registered, serial {SERIAL}): "
        "its content was changed after it was recorded"
    ]


def test_removing_the_last_event_is_reported(store, recorded):
    last = one(store, "SELECT max(id) FROM events")
    cleaning = one(store, "SELECT id FROM cleanings")
    sql(store, "DELETE FROM events WHERE id = :id", id=last)

    report = verify(store)
    assert report.problems == [
        f"the chain ends at event {last - 1} but its head records event {last}: "
        "events were removed from the end",
        # the cleaning that event recorded is now an orphan
        f"cleaning {cleaning} (serial {SERIAL} end A2): no event records it "
        "(added outside the gate)",
    ]


def test_removing_an_event_in_the_middle_breaks_the_next_one(store, recorded):
    ids = [i for (i,) in sql(store, "SELECT id FROM events ORDER BY id")]
    sql(store, "DELETE FROM events WHERE id = :id", id=ids[3])  # the operator's sign-in

    report = verify(store)
    assert report.problems == [
        f"event {ids[4]} (assembly.registered, serial {SERIAL}): "
        "does not follow the event before it (one was removed or altered)"
    ]


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("inspections", "verdict", "fail"),
        ("inspections", "result", "{}"),
        ("inspections", "operator", "mallory"),
        ("inspection_fibers", "focus_score", 99.0),
    ],
)
def test_a_changed_inspection_row_is_named(store, recorded, table, column, value):
    inspection = one(store, "SELECT id FROM inspections")
    key = "id" if table == "inspections" else "inspection_id"
    sql(store, f"UPDATE {table} SET {column} = :v WHERE {key} = :id", v=value, id=inspection)

    assert verify(store).problems == [
        f"inspection {inspection} (serial {SERIAL} end A1): was changed after it was recorded"
    ]


def test_a_changed_cleaning_row_is_named(store, recorded):
    cleaning = one(store, "SELECT id FROM cleanings")
    sql(store, "UPDATE cleanings SET tool_id = 'other' WHERE id = :id", id=cleaning)
    assert verify(store).problems == [
        f"cleaning {cleaning} (serial {SERIAL} end A2): was changed after it was recorded"
    ]


def test_an_inspection_added_without_an_event_is_named(store, recorded):
    columns = (
        "assembly_id, end_id, verdict, rules, rules_sha256, um_per_px, probe_id, result, "
        "overview_sha256, station_id, operator, created_us, digest"
    )
    sql(store, f"INSERT INTO inspections ({columns}) SELECT {columns} FROM inspections")
    added = one(store, "SELECT max(id) FROM inspections")

    report = verify(store)
    assert report.inspections == 2
    assert report.problems == [
        f"inspection {added} (serial {SERIAL} end A1): no event records it (added outside the gate)"
    ]


def overwrite_frame(store: Store, sha: str, data: bytes) -> None:
    """The forger replaces a frame: the file on a bench, the bytes in the floor database."""
    if store.dialect == "sqlite":
        store.images.path(sha).write_bytes(data)
    else:
        sql(store, "UPDATE image_data SET data = :d WHERE sha256 = :s", d=data, s=sha)


def delete_frame(store: Store, sha: str) -> None:
    if store.dialect == "sqlite":
        store.images.path(sha).unlink()
    else:
        sql(store, "DELETE FROM image_data WHERE sha256 = :s", s=sha)


def test_an_overwritten_image_file_is_named(store, recorded):
    sha, relpath = sql(store, "SELECT sha256, relpath FROM images")[0]
    forged = b"\x89PNG not the frame that was graded"
    overwrite_frame(store, sha, forged)

    now = hashlib.sha256(forged).hexdigest()
    assert verify(store).problems == [
        f"image {sha[:12]} ({relpath}): contents changed (now hashes to {now[:12]})"
    ]


def test_a_deleted_image_file_is_named(store, recorded):
    sha, relpath = sql(store, "SELECT sha256, relpath FROM images")[0]
    delete_frame(store, sha)
    assert verify(store).problems == [f"image {sha[:12]} ({relpath}): {store.images.missing}"]


# -- images -----------------------------------------------------------------------------------
def test_the_same_image_is_stored_once(store, tmp_path):
    image = frame("A1", 7).image
    with store.write() as w:
        first = w.image(image)
        second = w.image(image.copy())
    with store.write() as w:
        third = w.image(image)
    assert first == second == third
    files = [p for p in (tmp_path / "images").rglob("*") if p.is_file()]
    if store.dialect == "sqlite":  # a bench keeps its frames in its folder
        assert first == hashlib.sha256(store.images.path(first).read_bytes()).hexdigest()
        assert files == [store.images.path(first)]
    else:  # the floor keeps them in its database, once, and nothing on the bench's disk
        (data,) = [bytes(d) for (d,) in sql(store, "SELECT data FROM image_data")]
        assert first == hashlib.sha256(data).hexdigest()
        assert files == []
    assert sql(store, "SELECT sha256, width, height FROM images") == [(first, 64, 64)]
    np.testing.assert_array_equal(store.images.read(first), image)


def test_the_gate_stores_a_frame_seen_twice_once(store):
    floor = Floor(store)
    floor.register(SERIAL)
    floor.inspect(SERIAL, "A1", "pass", seed=3)
    floor.inspect(SERIAL, "A2", "pass", seed=3)  # the same pixels on another end
    assert one(store, "SELECT count(*) FROM inspection_fibers") == 2
    assert one(store, "SELECT count(DISTINCT image_sha256) FROM inspection_fibers") == 1
    assert one(store, "SELECT count(*) FROM images") == 1
    assert verify(store).ok


def test_an_image_file_is_on_disk_before_its_row_is_committed(store, store_url):
    if store.dialect != "sqlite":
        pytest.skip("a bench's folder: the floor store's frames share the row's transaction")
    outside = plain_engine(store_url)
    try:
        with store.write() as w:
            sha = w.image(frame("A1", 11).image)
            path = store.images.path(sha)
            assert path.is_file()
            assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
            assert not list(path.parent.glob(".tmp-*"))  # renamed into place, no leftovers
            w.session.flush()
            with outside.connect() as conn:  # the row is not committed yet
                assert conn.execute(text("SELECT count(*) FROM images")).scalar() == 0
        with outside.connect() as conn:
            assert conn.execute(text("SELECT sha256 FROM images")).all() == [(sha,)]
    finally:
        outside.dispose()


def test_a_floor_frame_is_committed_with_its_row_and_never_without(store, store_url):
    if store.dialect == "sqlite":
        pytest.skip("the floor store (PostgreSQL) only")
    outside = plain_engine(store_url)
    try:
        with store.write() as w:
            sha = w.image(frame("A1", 11).image)
            w.session.flush()
            with outside.connect() as conn:  # neither the row nor its bytes before commit
                assert conn.execute(text("SELECT count(*) FROM images")).scalar() == 0
                assert conn.execute(text("SELECT count(*) FROM image_data")).scalar() == 0
        with outside.connect() as conn:
            assert conn.execute(text("SELECT sha256 FROM image_data")).all() == [(sha,)]
        # A transaction that fails takes its frame with it.
        with pytest.raises(RuntimeError), store.write() as w:
            lost = w.image(frame("A2", 12).image)
            raise RuntimeError("the action failed after its frame was written")
        with outside.connect() as conn:
            assert (
                conn.execute(
                    text("SELECT count(*) FROM image_data WHERE sha256 = :s"), {"s": lost}
                ).scalar()
                == 0
            )
        assert store.images.check(lost) is None  # still held for a retry of that action
    finally:
        outside.dispose()


def folder_only(store: Store) -> None:
    if store.dialect != "sqlite":
        pytest.skip("a bench's image folder: the floor store keeps frames in its database")


def make_read_only(folder, monkeypatch) -> None:
    """Make ``folder`` read-only. Root writes through permissions, so when the tests run as
    root the file system's refusal is reproduced where the store creates the file."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o555)
    probe = folder / "write-probe"
    try:
        probe.touch()
    except PermissionError:
        return
    probe.unlink()

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(paths_module, "tempfile", SimpleNamespace(mkstemp=refuse))


def test_a_read_only_image_folder_fails_the_write_and_commits_nothing(store, tmp_path, monkeypatch):
    folder_only(store)
    with store.write() as w:
        w.event(Kind.STATION_CONFIGURED, {"n": 1})
    head = sql(store, "SELECT last_event_id, last_hash FROM chain_head")
    make_read_only(tmp_path / "images", monkeypatch)
    try:
        with pytest.raises(ImageStoreError) as err, store.write() as w:
            w.event(Kind.STATION_CONFIGURED, {"n": 2})
            w.image(frame("A1", 5).image)
            w.event(Kind.STATION_CONFIGURED, {"n": 3})
    finally:
        (tmp_path / "images").chmod(0o755)
    message = str(err.value)
    assert "cannot write image" in message
    assert str(tmp_path / "images") in message
    assert "Permission denied" in message

    assert one(store, "SELECT count(*) FROM events") == 1
    assert one(store, "SELECT count(*) FROM images") == 0
    assert sql(store, "SELECT last_event_id, last_hash FROM chain_head") == head
    assert verify(store).ok, verify(store).problems


def test_a_read_only_image_folder_stops_an_inspection_and_records_none_of_it(
    store, tmp_path, monkeypatch
):
    folder_only(store)
    floor = Floor(store)
    floor.register(SERIAL)
    events = one(store, "SELECT count(*) FROM events")
    make_read_only(tmp_path / "images", monkeypatch)
    try:
        with pytest.raises(ImageStoreError, match="cannot write image"):
            floor.inspect(SERIAL, "A1", "pass", seed=9)
    finally:
        (tmp_path / "images").chmod(0o755)
    assert one(store, "SELECT count(*) FROM events") == events
    assert one(store, "SELECT count(*) FROM inspections") == 0
    assert one(store, "SELECT count(*) FROM inspection_fibers") == 0
    assert one(store, "SELECT count(*) FROM images") == 0
    assert floor.gate.state(SERIAL).end("A1").inspections == 0
    assert verify(store).ok, verify(store).problems


# -- history ----------------------------------------------------------------------------------
def test_history_gives_one_serials_events_in_order_and_nothing_else(store):
    floor = Floor(store)
    floor.register(SERIAL)
    floor.register(OTHER)  # interleaved with the first serial's events
    floor.inspect(SERIAL, "A1", "fail", seed=1)
    floor.inspect(OTHER, "A1", "pass", seed=2)
    floor.clean(SERIAL, "A1")
    floor.inspect(SERIAL, "A1", "pass", seed=3)
    floor.gate.connect(SERIAL, "A1", floor.operator)
    floor.clean(OTHER, "B2")

    history = store.history(SERIAL)
    assert [(e.kind, e.end) for e in history] == [
        ("assembly.registered", None),
        ("end.inspected", "A1"),
        ("end.cleaned", "A1"),
        ("end.inspected", "A1"),
        ("end.connected", "A1"),
    ]
    ids = [e.id for e in history]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert {e.serial for e in history} == {SERIAL}
    assert history[1].payload["verdict"] == "fail" and history[3].payload["verdict"] == "pass"
    assert history[0].payload["serial"] == SERIAL
    assert all(e.operator == "olga" and e.station == "bench-1" for e in history)
    stored = dict(sql(store, "SELECT id, hash FROM events"))
    assert all(stored[e.id] == e.hash for e in history)
    assert history[0].to_dict()["at"].endswith("+00:00")

    other = store.history(OTHER)
    assert [(e.kind, e.end) for e in other] == [
        ("assembly.registered", None),
        ("end.inspected", "A1"),
        ("end.cleaned", "B2"),
    ]
    assert not set(ids) & {e.id for e in other}
    assert store.history("LCD-9999999") == []


def test_history_reads_a_store_written_by_another_station(store_url, tmp_path):
    first = Store(store_url, tmp_path / "images", station_id="bench-1")
    first.migrate()
    try:
        floor = Floor(first)
        floor.register(SERIAL)
        floor.inspect(SERIAL, "A1", "pass")
    finally:
        first.close()
    second = Store(store_url, tmp_path / "images", station_id="bench-2", clock=time.time)
    second.migrate()
    try:
        assert [e.kind for e in second.history(SERIAL)] == ["assembly.registered", "end.inspected"]
        assert {e.station for e in second.history(SERIAL)} == {"bench-1"}
        assert sql(second, "SELECT id FROM stations ORDER BY id") == [("bench-1",), ("bench-2",)]
    finally:
        second.close()


# -- incremental verify -----------------------------------------------------------------------
def test_an_incremental_verify_starts_at_the_last_checkpoint_and_checks_what_came_after(
    store, recorded
):
    store.checkpoint("audit")
    head = one(store, "SELECT max(id) FROM events")
    recorded.inspect(SERIAL, "A2", "pass", seed=4)
    report = verify(store, since_checkpoint=True)
    assert report.ok, report.problems
    assert report.since["head_id"] == head and report.since["events"] == head
    assert report.events == head + 1 and report.inspections == 1  # only the new one read
    assert report.images == 1

    # What came after is checked in full: a changed inspection is named.
    sql(
        store,
        "UPDATE inspections SET verdict = 'fail' WHERE id = (SELECT max(id) FROM inspections)",
    )
    assert "was changed after it was recorded" in verify(store, since_checkpoint=True).problems[0]
    sql(
        store,
        "UPDATE inspections SET verdict = 'pass' WHERE id = (SELECT max(id) FROM inspections)",
    )
    # An event removed before the checkpoint moves its head: the start itself is refused.
    sql(store, "DELETE FROM events WHERE id = 2")
    problems = verify(store, since_checkpoint=True).problems
    assert "the chain no longer holds it" in problems[0]


def test_an_incremental_verify_without_a_checkpoint_checks_everything(store):
    floor = Floor(store)
    floor.register(SERIAL)
    report = verify(store, since_checkpoint=True)
    assert report.ok, report.problems
    assert report.since is None
    assert report.notes == ["no signed checkpoint to start from: the whole record was checked"]
    assert report.events == one(store, "SELECT count(*) FROM events")
