"""The floor database goes down mid-shift: the bench keeps working into its outbox,
and the outbox reaches the record in order and exactly once when the server is back.

Against a real PostgreSQL server (tests/pg.py stops and starts it), driving the
station the way the GUI does (StationController on the simulated bench).
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from sqlalchemy import func, select

from qa_station.controller import StationController
from qa_station.gate import GateRefused
from qa_station.paths import station_paths
from qa_station.store import StoreUnavailable
from qa_station.store.models import Event, OutboxReceipt
from qa_station.store.verify import verify
from tests.qualify_kit import qualify_store

pytestmark = pytest.mark.postgres

PASSWORD = "operator horse battery staple"
SUPERVISOR_PASSWORD = "supervisor horse battery staple"


@pytest.fixture
def floor(pg_server):
    url = pg_server.create_database("floor")
    c = StationController.open(db_url=url, realtime=False)
    admin = c.create_first_admin("ada", "admin horse battery staple")
    c.accounts.add("olga", "operator", admin, None, PASSWORD)
    c.accounts.add("sam", "supervisor", admin, None, SUPERVISOR_PASSWORD)
    c.sam = c.accounts.sign_in("sam", SUPERVISOR_PASSWORD)  # signed in before the outage
    qualify_store(c.store)  # no station records an inspection unqualified (issue 14)
    c.login("olga", PASSWORD)
    yield c, pg_server
    c.close()


def finish_end(c: StationController, end: str) -> None:
    """Inspect, clean and inspect again until the end passes, then connect it."""
    for _ in range(6):
        if c.inspect(end).verdict == "pass":
            break
        c.clean(end, "dry-one-click", "CASSETTE-1", True)
    c.connect(end)


def record_events(c: StationController) -> list[tuple[str, str | None, dict]]:
    with c.store.read() as s:
        return [
            (e.kind, e.end_label, json.loads(e.payload))
            for e in s.execute(select(Event).order_by(Event.id)).scalars()
        ]


def test_an_outage_mid_shift_loses_nothing_and_the_outbox_is_sent_in_order_once(floor):
    c, server = floor
    c.open_serial("T12B-000101")
    c.bench.load(c.session.identified, "dusty")
    assert c.inspect("A").verdict == "fail"  # online: the record has it

    server.stop()
    # The bench goes on: the cleaning is kept in the outbox, and the operator is told.
    state = c.clean("A", "dry-one-click", "CASSETTE-1", True)
    assert c.offline and c.outbox_pending() == 1
    assert state.end("A").status == "cleaned"
    assert "unreachable" in c.gate.offline_reason

    # The gate's rules hold offline: a cleaned end cannot be connected before inspecting.
    with pytest.raises(GateRefused, match="inspect it again"):
        c.connect("A")
    finish_end(c, "A")
    finish_end(c, "B")
    assert c.session.state.status == "accepted"

    # A serial first seen during the outage is started offline.
    c.open_serial("T12B-000102")
    c.bench.load(c.session.identified, "clean")
    finish_end(c, "A")
    finish_end(c, "B")
    assert c.session.state.status == "accepted"

    # A supervisor's decision and a sign-in need the record: they wait, plainly.
    with pytest.raises(StoreUnavailable, match="supervisor"):
        c.gate.reject("T12B-000102", c.sam, "scratched end")
    with pytest.raises(StoreUnavailable):
        c.login("sam", SUPERVISOR_PASSWORD)

    kept = c.gate.outbox.pending()
    actions = [e.action for e in kept]
    assert actions.count("refusal") == 1 and actions.count("register") == 1
    assert [e.seq for e in kept] == sorted(e.seq for e in kept)

    # Still down: nothing is sent, nothing is lost.
    report = c.replay_outbox()
    assert report.problem and "unreachable" in report.problem
    assert report.sent == 0 and report.pending == len(kept) and c.offline

    server.start()
    report = c.replay_outbox()
    assert report.problem is None, report.problem
    assert report.sent == len(kept) and report.pending == 0 and not report.conflicts
    assert report.accepted == ["T12B-000101", "T12B-000102"]
    assert len(report.certificates) == 2 and not report.certificate_problems
    assert not c.offline

    events = record_events(c)
    sent = [(k, end, p) for k, end, p in events if "outbox" in p]
    # In order: the events carry the outbox keys in the order the actions were kept.
    keys = []
    for _, _, p in sent:
        if not keys or keys[-1] != p["outbox"]:
            keys.append(p["outbox"])
    assert keys == [e.key for e in kept]
    assert sent[0][0] == "end.cleaned"
    refused = sent[1][2]
    assert sent[1][:2] == ("gate.refused", "A") and "inspect it again" in refused["reason"]
    (summary,) = [p for k, _, p in events if k == "outbox.sent"]
    assert summary["entries"] == len(kept) and summary["conflicts"] == 0
    assert [k for k, _, _ in events[-2:]] == ["certificate.issued"] * 2
    with c.store.read() as s:
        assert s.scalar(select(func.count()).select_from(OutboxReceipt)) >= len(kept)
    assert c.gate.state("T12B-000101").status == "accepted"
    assert c.gate.state("T12B-000102").status == "accepted"
    report = verify(c.store)
    assert report.ok, report.problems

    # Exactly once: a bench that crashed after sending but before noting it sends nothing twice.
    with sqlite3.connect(station_paths().outbox_file) as db:
        db.execute("UPDATE entries SET state = 'pending', outcome = NULL")
    c.gate.offline_reason = "as after a restart"
    again = c.replay_outbox()
    assert again.sent == len(kept) and not again.conflicts
    assert [e for e in record_events(c) if "outbox" in e[2]] == sent
    assert verify(c.store).ok


def test_what_the_record_refuses_after_the_outage_is_a_conflict_on_record_and_on_screen(floor):
    """Another bench decided about a serial this bench then worked offline."""
    from qa_station.gate import Gate
    from qa_station.store import Store

    c, server = floor
    other = Store(c.store.url, station_paths().images_dir, station_id="bench-2")
    sam = c.sam
    try:
        c.open_serial("T12B-000201")  # bench-1 knows it open
        c.bench.load(c.session.identified, "clean")
        bench2 = Gate(other, c.catalog)
        bench2.reject("T12B-000201", sam, "ferrule chipped at bench 2")
        bench2.register("T12B-000202", sam)  # bench-1 never sees this one before the outage
        other.close()

        server.stop()
        assert c.inspect("A").verdict == "pass"  # offline, on what bench-1 last knew
        c.connect("A")
        c.open_serial("T12B-000202")  # unknown here: started offline
        assert c.offline and c.outbox_pending() == 3

        server.start()
        report = c.replay_outbox()
        assert report.problem is None and report.pending == 0
        conflicts = [(x.serial, x.end, x.action) for x in report.conflicts]
        assert conflicts == [
            ("T12B-000201", "A", "inspect"),
            ("T12B-000201", "A", "connect"),
            ("T12B-000202", None, "register"),
        ]
        assert all("refused by the record" in str(x) for x in report.conflicts)
        assert "rejected" in report.conflicts[0].reason
        assert "registered on the floor before" in report.conflicts[2].reason
        kinds = [(k, p.get("action")) for k, _, p in record_events(c) if "outbox" in p]
        assert kinds == [
            ("gate.refused", "inspect"),
            ("gate.refused", "connect"),
            ("outbox.conflict", "register"),
        ]
        assert c.gate.state("T12B-000201").status == "rejected"
        assert verify(c.store).ok
    finally:
        other.close()


def test_a_bench_restarted_while_the_floor_database_is_down_opens_from_its_outbox(floor):
    """The known limit lifted: the bench opens on what it last knew (its serials' states and
    who signed in at it), keeps working into its outbox, and sends it when the server is back."""
    c, server = floor
    serial = "LCD-0004242"
    c.open_serial(serial)
    for _ in range(6):
        if c.inspect("A1").verdict == "pass":
            break
        c.clean("A1", "dry-one-click", "CASSETTE-1", True)
    url = c.store.url
    server.stop()
    c.close()  # the bench is switched off during the outage
    again = StationController.open(db_url=url, realtime=False)
    try:
        assert again.offline and "unreachable" in again.gate.offline_reason
        assert not again.needs_first_admin()
        with pytest.raises(Exception, match="refused"):
            again.login("olga", "not her password")
        assert again.login("olga", PASSWORD).role == "operator"
        again.open_serial(serial)
        assert again.refresh().end("A1").status == "passed"  # as the bench last knew it
        again.connect("A1")
        assert again.outbox_pending() == 2  # her sign-in, kept for the record, and the connect
        server.start()
        report = again.replay_outbox()
        assert report.problem is None and report.conflicts == [] and report.sent == 2
        assert not again.offline
        assert again.gate.state(serial).end("A1").connected == "connected"
        assert verify(again.store).ok, verify(again.store).problems
        with again.store.read() as s:  # the offline sign-in is on the record, before the connect
            kinds = [
                (k, json.loads(p).get("method"))
                for k, p in s.execute(
                    select(Event.kind, Event.payload)
                    .where(Event.operator == "olga")
                    .order_by(Event.id)
                )
            ]
        assert kinds[-2:] == [("login", "offline"), ("end.connected", None)]
    finally:
        again.close()
