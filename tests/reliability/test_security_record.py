"""The holes of issue 12 in the record, each reproduced as the review found it.

1. deleted sealed rows (an inspection with its fibres, a cleaning, an image row and file);
2. an emptied database;
3. a chain re-hashed without the key, and a last event removed with the head moved back;
4. a clock set back to beat the exposure limit;
6. outbox entries written or changed by hand, or by an actor without the role;
7. a built-in rule file loosened in place.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import select

from qa_station.catalog import load_catalog
from qa_station.gate import Gate, GateRefused
from qa_station.gate.offline import FloorGate
from qa_station.paths import station_paths
from qa_station.store import Store
from qa_station.store.models import Event
from qa_station.store.outbox import Outbox
from qa_station.store.verify import verify
from tests.qa_station.gate_kit import dirty, scan
from tests.qualify_kit import qualify_store
from tests.reliability.forger import attack
from tests.reliability.security_kit import JUMPER, accepted_record, qa, sql


@pytest.fixture
def accepted(capsys):
    """JUMPER failed on A1, was cleaned, passed, and every end was connected; the station
    was shut down (its last checkpoint is in the store and in the bench's witness)."""
    return accepted_record(capsys)


# -- 1. deleted sealed rows ------------------------------------------------------------------


def test_1_a_deleted_passing_inspection_is_named_and_no_certificate_is_issued(
    accepted, capsys, tmp_path
):
    ((iid,),) = sql(
        "SELECT i.id FROM inspections i JOIN ends e ON e.id = i.end_id "
        "WHERE e.label = 'A1' AND i.verdict = 'pass'"
    )
    sql("DELETE FROM inspection_fibers WHERE inspection_id = :i", i=iid)
    sql("DELETE FROM inspections WHERE id = :i", i=iid)
    code, out, _ = qa(capsys, "audit", "verify")
    assert code == 1
    assert re.match(rf"BROKEN: inspection {iid}, recorded by event \d+ \(end\.inspected, "
                    rf"serial {JUMPER} end A1\): is missing", out), out  # fmt: skip
    code, out, err = qa(capsys, "certificate", JUMPER, "-o", str(tmp_path))
    assert code == 2 and out == "", out
    assert f"inspection {iid}" in err and "gets no certificate" in err
    assert not list(tmp_path.glob("*.pdf"))


def test_1_a_deleted_cleaning_and_an_image_row_with_its_file_are_named(accepted, capsys):
    ((cid,),) = sql("SELECT id FROM cleanings")
    sql("DELETE FROM cleanings WHERE id = :c", c=cid)
    ((sha,),) = sql(
        "SELECT f.image_sha256 FROM inspection_fibers f JOIN inspections i ON i.id = "
        "f.inspection_id WHERE i.verdict = 'fail'"
    )
    sql("UPDATE inspection_fibers SET image_sha256 = image_sha256 WHERE 0")  # nothing else
    sql("DELETE FROM images WHERE sha256 = :s", s=sha)
    station_paths().images_dir.joinpath(sha[:2], f"{sha}.png").unlink()
    code, out, _ = qa(capsys, "audit", "verify")
    assert code == 1
    assert f"cleaning {cid}, recorded by event" in out and "is missing" in out
    assert f"image {sha[:12]} of inspection" in out and "its row is missing" in out


# -- 2. an emptied database ------------------------------------------------------------------


def test_2_an_emptied_database_is_not_intact_and_its_left_images_are_named(accepted, capsys):
    attack(station_paths().database_file, "empty", random.Random(2))
    code, out, _ = qa(capsys, "audit", "verify")
    assert code == 1, out
    assert out.startswith("BROKEN: ")
    assert "events were removed (truncated, rolled back or emptied)" in out
    assert re.search(r"the record is empty but its image folder holds \d+ image file", out)


# -- 3. no key, no new chain -----------------------------------------------------------------


def test_3_a_failed_inspection_made_a_pass_and_re_hashed_is_caught_everywhere(
    accepted, capsys, tmp_path
):
    code, out, _ = qa(capsys, "certificate", JUMPER, "-o", str(tmp_path))
    assert code == 0
    pdf = Path(out.strip())
    db = sqlite3.connect(station_paths().database_file, isolation_level=None)
    try:
        from tests.reliability.forger import rechain, rows

        evs = rows(db)
        i = next(n for n, e in enumerate(evs) if '"verdict":"fail"' in e.payload)
        forged = json.loads(evs[i].payload) | {
            "verdict": "pass",
            "failed_fibers": [],
            "failures": [],
        }
        db.execute("UPDATE events SET payload = ? WHERE id = ?", (json.dumps(forged), evs[i].id))
        db.execute("UPDATE inspections SET verdict = 'pass' WHERE verdict = 'fail'")
        rechain(db, i)
    finally:
        db.close()
    code, out, _ = qa(capsys, "audit", "verify")
    assert code == 1
    assert re.match(r"BROKEN: event \d+ \(end\.inspected, .*its signature does not hold", out), out
    code, out, _ = qa(capsys, "verify", str(pdf), "--serial", JUMPER)
    assert code == 1 and "[FAIL] record" in out, out


def test_3_invented_events_appended_without_the_key_are_caught(accepted, capsys):
    ((last_id, last_hash),) = sql("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1")
    from qa_station.store.chain import legacy_event_hash

    new_hash = legacy_event_hash(last_hash, last_id + 1, "assembly.accepted", 1, None, "{}", None,
                                 "bench-1", 1)  # fmt: skip
    sql(
        "INSERT INTO events (id, assembly_id, end_label, kind, payload, operator, station_id, "
        "created_us, prev_hash, hash, format) VALUES (:i, 1, NULL, 'assembly.accepted', '{}', "
        "NULL, 'bench-1', 1, :p, :h, 1)",
        i=last_id + 1,
        p=last_hash,
        h=new_hash,
    )
    sql("UPDATE chain_head SET last_event_id = :i, last_hash = :h", i=last_id + 1, h=new_hash)
    code, out, _ = qa(capsys, "audit", "verify")
    assert code == 1
    assert f"event {last_id + 1} (assembly.accepted" in out
    assert "old unsigned format after the record was signed" in out


def test_3_the_last_event_removed_and_the_head_moved_back_is_caught(accepted, capsys):
    ((last,),) = sql("SELECT max(id) FROM events")
    sql("DELETE FROM events WHERE id = :i", i=last)
    sql(
        "UPDATE chain_head SET last_event_id = (SELECT max(id) FROM events), last_hash = "
        "(SELECT hash FROM events ORDER BY id DESC LIMIT 1), event_count = event_count - 1"
    )
    sql("DELETE FROM checkpoints WHERE head_id >= :i", i=last)
    code, out, _ = qa(capsys, "audit", "verify")
    assert code == 1, out
    assert f"up to event {last}" in out and "events were removed" in out


# -- 4. time ---------------------------------------------------------------------------------


class Clocks:
    """A wall clock someone can set, and the monotonic clock that only moves forward."""

    def __init__(self) -> None:
        self.wall_s, self.mono_s = 1_800_000_000.0, 1000.0

    def wall(self) -> float:
        return self.wall_s

    def mono(self) -> float:
        return self.mono_s

    def wait(self, seconds: float) -> None:
        self.wall_s += seconds
        self.mono_s += seconds


def signed_in_olga(accounts):
    """An admin adds the operator olga, who signs in: the session the gate acts for."""
    accounts.add("admin", "admin", None, "Admin", "admin-password")
    admin = accounts.sign_in("admin", "admin-password")
    accounts.add("olga", "operator", admin, "Olga", "olga-password")
    return accounts.sign_in("olga", "olga-password")


def timed_store(tmp_path, clocks: Clocks) -> Store:
    store = Store(f"sqlite:///{tmp_path}/t.db", tmp_path / "images", "bench-t", clocks.wall,
                  monotonic=clocks.mono)  # fmt: skip
    store.migrate()
    return store


def test_4_a_clock_set_back_does_not_make_an_old_inspection_fresh(tmp_path):
    from qa_station.accounts import Accounts

    clocks = Clocks()
    store = timed_store(tmp_path, clocks)
    try:
        accounts = Accounts(store)
        olga = signed_in_olga(accounts)
        qualify_store(store)  # no station records an inspection unqualified (issue 14)
        gate = Gate(store, load_catalog())
        gate.register(JUMPER, olga)
        gate.record_inspection(JUMPER, "A1", scan(JUMPER, "A1"), olga, "p")
        clocks.wait(7 * 60)  # the limit is 5 minutes
        clocks.wall_s -= 3600  # and someone sets the clock back an hour
        with pytest.raises(GateRefused, match=r"inspected 7\.0 min ago \(limit 5\.0 min\)"):
            gate.connect(JUMPER, "A1", olga)
        with store.read() as s:
            kinds = [k for (k,) in s.execute(select(Event.kind).order_by(Event.id))]
            ages = [
                json.loads(p).get("inspection_age_s")
                for (p,) in s.execute(select(Event.payload).where(Event.kind == "end.connected"))
            ]
        assert "clock.jumped" in kinds  # on the record, not trusted
        assert ages == []
        report = verify(store)
        assert report.ok, report.problems
    finally:
        store.close()


def test_4_a_clock_set_back_across_a_restart_makes_the_age_unknown(tmp_path):
    from qa_station.accounts import Accounts

    clocks = Clocks()
    store = timed_store(tmp_path, clocks)
    accounts = Accounts(store)
    olga = signed_in_olga(accounts)
    qualify_store(store)  # no station records an inspection unqualified (issue 14)
    Gate(store, load_catalog()).register(JUMPER, olga)
    Gate(store, load_catalog()).record_inspection(JUMPER, "A1", scan(JUMPER, "A1"), olga, "p")
    store.close()
    clocks.wait(7 * 60)
    clocks.wall_s -= 3600
    again = timed_store(tmp_path, clocks)  # a new session, the wall clock behind the record
    try:
        with pytest.raises(GateRefused, match="clock was set back"):
            Gate(again, load_catalog()).connect(JUMPER, "A1", olga)
        with again.read() as s:
            jumped = s.execute(select(Event.payload).where(Event.kind == "clock.jumped")).scalars()
            assert [json.loads(p)["at_start"] for p in jumped] == [True]
        assert verify(again).ok
    finally:
        again.close()


def test_4_verify_flags_a_station_s_events_out_of_order(tmp_path):
    from qa_station.store.kinds import Kind

    clocks = Clocks()
    store = timed_store(tmp_path, clocks)
    try:
        with store.write() as w:
            w.event(Kind.STATION_CONFIGURED, {"n": 1})
        with store.write() as w:
            w.event(Kind.STATION_CONFIGURED, {"n": 2}, at_us=w.now_us() - 3_600_000_000)
        problems = verify(store).problems
        assert len(problems) == 1 and "out of order" in problems[0], problems
    finally:
        store.close()


# -- 6. the outbox ---------------------------------------------------------------------------


@pytest.fixture
def offline_bench(tmp_path):
    """A bench with an outbox that has gone offline with JUMPER's A1 failed and cleaned."""
    from qa_station.accounts import Accounts

    store = Store(f"sqlite:///{tmp_path}/floor.db", tmp_path / "images", "bench-t")
    store.migrate()
    accounts = Accounts(store)
    olga = signed_in_olga(accounts)
    qualify_store(store)  # no station records an inspection unqualified (issue 14)
    outbox = Outbox(tmp_path / "outbox.sqlite3", "bench-t")
    gate = FloorGate(Gate(store, load_catalog()), outbox)
    gate.register(JUMPER, olga)
    gate.record_inspection(JUMPER, "A1", scan(JUMPER, "A1", dirty(1)), olga, "p")
    gate.record_cleaning(JUMPER, "A1", "dry-one-click", "OC-1", True, olga)
    gate.offline_reason = "the floor database is down (test)"
    yield gate, olga, tmp_path / "outbox.sqlite3"
    outbox.close()
    store.close()


def _replayed(gate: FloorGate):
    gate.offline_reason = None
    return gate.replay()


def test_6_a_hand_written_outbox_entry_is_refused(offline_bench):
    gate, _olga, path = offline_bench
    facts = {"result": {"verdict": "pass"}}
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO entries (key, action, serial, end_label, args, actor, done_at_us) "
            "VALUES ('bench-t:forged', 'inspect', ?, 'A1', ?, ?, 1)",
            (JUMPER, json.dumps({"facts": facts, "probe": "p"}),
             json.dumps({"username": "ghost", "display_name": "G", "role": "supervisor"})),
        )  # fmt: skip
    db.close()
    report = _replayed(gate)
    assert [c.reason for c in report.conflicts] == [
        "this outbox entry is not signed by this bench's key (written or changed by hand): refused"
    ]
    state = gate.gate.state(JUMPER).end("A1")
    assert state.status == "cleaned"


def test_6_an_outbox_entry_re_dated_by_hand_is_refused(offline_bench):
    gate, olga, path = offline_bench
    gate.record_inspection(JUMPER, "A1", scan(JUMPER, "A1"), olga, "p")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE entries SET done_at_us = done_at_us + 600000000")
    db.close()
    report = _replayed(gate)
    assert len(report.conflicts) == 1 and "not signed by this bench" in report.conflicts[0].reason
    assert gate.gate.state(JUMPER).end("A1").status == "cleaned"


def test_6_an_outbox_entry_by_someone_without_that_role_is_refused(offline_bench):
    """The bench's memory of who signed in at it, edited by hand in its outbox file: "ghost",
    who has no account, and olga as a supervisor. The bench signs them in offline and keeps
    what they do, signed with its key; the record refuses each sign-in and each action."""
    from qa_station.accounts import Accounts, Remembered, hash_password

    gate, _olga, path = offline_bench
    known = hash_password("a password the forger knows")
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT OR REPLACE INTO people (username, display_name, role, password_hash, at_us) "
            "VALUES (?, ?, ?, ?, 1)",
            [("ghost", "Ghost", "operator", known), ("olga", "Olga", "supervisor", known)],
        )
    db.close()
    accounts = Accounts(gate.store)

    def offline_sign_in(name):
        remembered = Remembered(name, *gate.outbox.person(name))
        return gate.sign_in_offline(
            lambda at: accounts.sign_in_remembered(
                name, "a password the forger knows", remembered, at, "window"
            ),
            "window",
        )

    ghost = offline_sign_in("ghost")
    gate.record_inspection(JUMPER, "A1", scan(JUMPER, "A1"), ghost, "p")
    promoted = offline_sign_in("olga")
    gate.record_inspection(JUMPER, "A2", scan(JUMPER, "A2"), promoted, "p")
    report = _replayed(gate)
    ghost_refused = (
        "ghost held no operator account in the record when this was done offline: refused"
    )
    olga_refused = (
        "olga held no supervisor account in the record when this was done offline: refused"
    )
    assert [(c.action, c.reason) for c in report.conflicts] == [
        ("sign_in", ghost_refused),
        ("inspect", ghost_refused),
        ("sign_in", olga_refused),
        ("inspect", olga_refused),
    ]
    assert gate.gate.state(JUMPER).end("A1").status == "cleaned"
    assert gate.gate.state(JUMPER).end("A2").status != "passed"


def test_6_a_genuine_outbox_entry_is_still_sent(offline_bench):
    gate, olga, _ = offline_bench
    gate.record_inspection(JUMPER, "A1", scan(JUMPER, "A1"), olga, "p")
    report = _replayed(gate)
    assert report.conflicts == [] and report.sent == 1
    assert gate.gate.state(JUMPER).end("A1").status == "passed"


# -- 7. a loosened built-in rule file --------------------------------------------------------


def test_7_a_built_in_rule_file_edited_in_place_is_refused(tmp_path):
    """The installed package's sm-pc.toml edited to allow everything: nothing grades under the
    standard's name any more (run in a child whose ``grading`` is an edited copy)."""
    shipped = Path(str(resources.files("grading")))
    copy = tmp_path / "site" / "grading"
    shutil.copytree(shipped, copy, ignore=shutil.ignore_patterns("__pycache__"))
    table = copy / "rulesets" / "iec-61300-3-35-ed2" / "sm-pc.toml"
    text = table.read_text()
    loosened = re.sub(r"max_count = \d+", "max_count = 99999", text)
    assert loosened != text
    table.write_text(loosened)
    image = tmp_path / "face.png"
    import cv2
    import numpy as np

    cv2.imwrite(str(image), np.full((480, 640), 128, np.uint8))
    env = {**os.environ, "PYTHONPATH": str(copy.parent)}
    child = subprocess.run(
        [sys.executable, "-c", "import grading, sys; print(grading.__file__);"
         "from qa_station.cli import main; sys.exit(main(sys.argv[1:]))",
         "grade", str(image), "--connector", "lc-upc", "--rules", "iec-61300-3-35-ed2/sm-pc"],
        capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert child.stdout.startswith(str(copy)), child.stdout  # the edited copy was the one used
    assert child.returncode == 2, child.stdout + child.stderr
    assert "built-in rule set iec-61300-3-35-ed2/sm-pc" in child.stderr
    assert "changed since it was shipped" in child.stderr
