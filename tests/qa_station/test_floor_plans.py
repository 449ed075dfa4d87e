"""History's questions on a floor-sized record are answered from indexes, never a table scan.

The station's own query code (``Store.history``, the History page's search) runs on
20,000 assemblies with their events, inspections and frames (made with generate_series,
as benchmarks/floor_scale.py makes a million), and every statement it sent is read back
with EXPLAIN: no Seq Scan on assemblies, events, inspections, images or image_data.
"""

from __future__ import annotations

import pytest

from benchmarks.floor_scale import explained, fill, seq_scans
from qa_station.auditor import AuditorStation
from qa_station.catalog import load_catalog
from qa_station.config import StationConfig
from qa_station.store import Store
from tests import pg

pytestmark = pytest.mark.postgres
N = 20_000
WEEK_US = 7 * 86400 * 10**6


def test_history_and_search_use_indexes_on_a_floor_sized_record(store_url, tmp_path):
    if not store_url.startswith("postgresql"):
        pytest.skip("the floor store's plans (PostgreSQL)")
    fill(pg.owner_of(store_url), N)
    store = Store(store_url, tmp_path / "images", station_id="audit", read_only=True)
    station = AuditorStation(StationConfig(), store, load_catalog())
    serial = f"BM-{N // 2:07d}"
    t0 = 1704067200000000 + (N // 2) * 200000000
    try:
        asked = {
            "history": lambda: store.history(serial),
            "serial contains": lambda: station.search(serial=serial[5:]),
            "newest": lambda: station.search(),
            "a week": lambda: station.search(since_us=t0, until_us=t0 + WEEK_US),
            "operator": lambda: station.search(serial=serial[4:-1], operator="olga"),
        }
        for name, ask in asked.items():
            plans = explained(store.engine, ask)
            assert plans, name
            assert seq_scans(plans) == [], (name, plans)
        assert [e.kind for e in store.history(serial)][:2] == [
            "assembly.registered",
            "end.inspected",
        ]
        assert [r.serial for r in station.search(serial=serial[3:])] == [serial]
    finally:
        store.close()
