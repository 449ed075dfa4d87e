"""Two benches appending at once, as threads and as processes: every event is kept once,
and the events form one unbroken chain (writers take turns on the chain head)."""

from __future__ import annotations

import json
import sys
import threading
from collections import Counter

from sqlalchemy import text

from qa_station.store import Store
from qa_station.store.chain import GENESIS, event_hash
from qa_station.store.kinds import Kind
from qa_station.store.verify import verify
from tests.processes import all_done, started_together

PER_WRITER = 200

# One bench in its own process: open the store, say "ready", wait for "go", append.
WRITER_SCRIPT = """
import sys
from pathlib import Path
from qa_station.store import Store
from qa_station.store.kinds import Kind

url, images, station, count = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
store = Store(url, images, station_id=station)
store.ping()
print("ready", flush=True)
if sys.stdin.readline().strip() != "go":
    sys.exit("no go")
for i in range(count):
    with store.write() as w:
        w.event(Kind.STATION_CONFIGURED, {"writer": station, "seq": i})
store.close()
print("done", flush=True)
"""


def append(store: Store, name: str, start: threading.Barrier, errors: list) -> None:
    try:
        start.wait(timeout=60)
        for i in range(PER_WRITER):
            with store.write() as w:
                w.event(Kind.STATION_CONFIGURED, {"writer": name, "seq": i})
    except Exception as exc:  # reported by the test, not lost in the thread
        errors.append(f"{name}: {type(exc).__name__}: {exc}")


def race(writers: list[tuple[Store, str]]) -> list[str]:
    """Run ``append`` for each (store, name) in its own thread, all let go at once by a
    barrier; returns the errors they met (a writer still stuck after 300 s fails the test)."""
    start = threading.Barrier(len(writers))
    errors: list[str] = []
    threads = [
        threading.Thread(target=append, args=(store, name, start, errors))
        for store, name in writers
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a writer is stuck"
    return errors


def check_all_kept_once_and_chained(store: Store, writers: list[str]) -> None:
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, kind, assembly_id, end_label, payload, operator, station_id, "
                "created_us, session, mono_us, prev_hash, hash FROM events ORDER BY id"
            )
        ).all()
        head = conn.execute(text("SELECT last_event_id, last_hash FROM chain_head")).one()
    assert len(rows) == PER_WRITER * len(writers)
    seen = Counter()
    prev = GENESIS
    for ev_id, kind, aid, end, payload, operator, station, at, session, mono, prev_hash, h in rows:
        body = json.loads(payload)
        assert body["writer"] == station
        seen[(station, body["seq"])] += 1
        assert prev_hash == prev, f"event {ev_id} does not follow the one before it"
        assert h == event_hash(
            prev_hash, ev_id, kind, aid, end, payload, operator, station, at, session, mono
        )
        prev = h
    expected = {(name, i) for name in writers for i in range(PER_WRITER)}
    assert set(seen) == expected  # none lost
    assert set(seen.values()) == {1}  # none twice
    assert tuple(head) == (rows[-1][0], prev)
    report = verify(store)
    assert report.ok, report.problems[:5]
    assert report.events == PER_WRITER * len(writers)


def test_two_writer_threads_keep_every_event_once_in_one_chain(store_url, tmp_path):
    main = Store(store_url, tmp_path / "images", station_id="bench-1")
    main.migrate()
    other = Store(store_url, tmp_path / "images", station_id="bench-2")
    other.migrate()
    try:
        errors = race([(s, s.station_id) for s in (main, other)])
        assert errors == []
        check_all_kept_once_and_chained(main, ["bench-1", "bench-2"])
    finally:
        main.close()
        other.close()


def test_two_writer_threads_sharing_one_store_keep_every_event_once(store_url, tmp_path):
    store = Store(store_url, tmp_path / "images", station_id="bench-1")
    store.migrate()
    try:
        # One bench, two threads (the GUI and a background job): the payload names the thread.
        errors = race([(store, name) for name in ("gui", "job")])
        assert errors == []
        with store.engine.connect() as conn:
            payloads = [json.loads(p) for (p,) in conn.execute(text("SELECT payload FROM events"))]
        kept = Counter((p["writer"], p["seq"]) for p in payloads)
        assert set(kept) == {(n, i) for n in ("gui", "job") for i in range(PER_WRITER)}
        assert set(kept.values()) == {1}
        report = verify(store)
        assert report.ok, report.problems[:5]
    finally:
        store.close()


def test_two_writer_processes_keep_every_event_once_in_one_chain(store_url, tmp_path):
    store = Store(store_url, tmp_path / "images", station_id="bench-0")
    store.migrate()
    writers = ["bench-1", "bench-2"]
    images = str(tmp_path / "images")
    argvs = [
        [sys.executable, "-c", WRITER_SCRIPT, store_url, images, name, str(PER_WRITER)]
        for name in writers
    ]
    try:
        with started_together(argvs, "writer") as procs:
            all_done(procs, timeout=300)
        check_all_kept_once_and_chained(store, writers)
    finally:
        store.close()
