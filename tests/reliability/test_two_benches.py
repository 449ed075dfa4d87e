"""Two benches in two processes working the same lot on one floor database at once.

Each bench walks the whole lot (one from the front, one from the back), registers
every serial it reaches (the other may have just done so) and takes its own end
of each through the gate: inspect (dirty), clean, inspect again, connect. The
record must hold every action once, each serial registered and accepted once,
and one unbroken chain.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from qa_station.accounts import Accounts
from qa_station.store import Store
from qa_station.store.models import Assembly, Event
from qa_station.store.verify import verify
from tests.processes import all_done, started_together
from tests.qualify_kit import qualify_store

PASSWORD = "bench operator password"
LOT = [f"T12B-{n:06d}" for n in range(500, 512)]
ROOT = Path(__file__).resolve().parents[2]

BENCH_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from qa_station.accounts import Accounts
from qa_station.catalog import load_catalog
from qa_station.gate import Gate
from qa_station.store import Store
from tests.qa_station.gate_kit import dirty, scan

root, url, images, station, end, order = sys.argv[1:7]
lot = sys.argv[7:]
if order == "back":
    lot = lot[::-1]
catalog = load_catalog()
store = Store(url, Path(images), station_id=station)
gate = Gate(store, catalog)
me = Accounts(store).sign_in(station + "-op", "bench operator password")
dirty_scans = {s: scan(s, end, dirty(), catalog) for s in lot}
clean_scans = {s: scan(s, end, None, catalog) for s in lot}
store.ping()
print("ready", flush=True)
if sys.stdin.readline().strip() != "go":
    sys.exit("no go")
for serial in lot:
    gate.register(serial, me)
    assert gate.record_inspection(serial, end, dirty_scans[serial], me, "sim").verdict == "fail"
    gate.record_cleaning(serial, end, "dry-one-click", "CASSETTE-" + station, True, me)
    assert gate.record_inspection(serial, end, clean_scans[serial], me, "sim").verdict == "pass"
    gate.connect(serial, end, me)
store.close()
print("done", flush=True)
"""


def test_two_bench_processes_on_one_lot_lose_and_duplicate_nothing(store_url, tmp_path):
    store = Store(store_url, tmp_path / "images", station_id="floor")
    store.migrate()
    accounts = Accounts(store)  # each bench's operator signs in there
    accounts.add("admin", "admin", None, "Admin", "floor admin password")
    admin = accounts.sign_in("admin", "floor admin password")
    for bench in ("bench-1", "bench-2"):
        accounts.add(bench + "-op", "operator", admin, "Operator at " + bench, PASSWORD)
    images = str(tmp_path / "images")
    benches = [("bench-1", "A", "front"), ("bench-2", "B", "back")]
    for name, _, _ in benches:  # no station records an inspection unqualified (issue 14)
        bench_store = Store(store_url, tmp_path / "images", station_id=name)
        qualify_store(bench_store, ("sim",))
        bench_store.close()
    argvs = [
        [sys.executable, "-c", BENCH_SCRIPT, str(ROOT), store_url, images, name, end, order, *LOT]
        for name, end, order in benches
    ]
    try:
        with started_together(argvs, "bench", cwd=ROOT) as procs:
            all_done(procs, timeout=600)

        with store.read() as s:
            serials = s.execute(select(Assembly.serial)).scalars().all()
            rows = s.execute(
                select(Event.kind, Event.end_label, Event.station_id, Assembly.serial)
                .join(Assembly, Event.assembly_id == Assembly.id)
                .order_by(Event.id)
            ).all()
            payloads = [json.loads(p) for p in s.execute(select(Event.payload)).scalars()]
        assert sorted(serials) == LOT  # each registered once, by whichever bench came first
        per = Counter((kind, end, station, serial) for kind, end, station, serial in rows)
        for serial in LOT:
            assert sum(per[("assembly.registered", None, b, serial)] for b, _, _ in benches) == 1
            assert sum(per[("assembly.accepted", None, b, serial)] for b, _, _ in benches) == 1
            for bench, end, _ in benches:
                assert per[("end.inspected", end, bench, serial)] == 2
                assert per[("end.cleaned", end, bench, serial)] == 1
                assert per[("end.connected", end, bench, serial)] == 1
        assert not [k for k, *_ in rows if k == "gate.refused"]
        ids = [p["inspection_id"] for p in payloads if "inspection_id" in p and "digest" in p]
        assert len(ids) == len(set(ids)) == 2 * 2 * len(LOT)
        report = verify(store)
        assert report.ok, report.problems[:5]
    finally:
        store.close()
