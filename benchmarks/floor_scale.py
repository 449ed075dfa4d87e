"""The floor store at a floor's scale: frames in PostgreSQL against a bench's folder.

    python -m benchmarks.floor_scale [--db ADMIN_URL] [--assemblies 1000000] [--real 6]
                                     [--frames 200] [--out benchmarks/results/floor_scale.json]

Without ``--db`` a throwaway PostgreSQL server is started (tests/pg.py: initdb in a temp
folder, a free port, fsync off as in .ci/run) and removed afterwards. Measures, in one run:

1. one fibre frame (a graded region as the gate keeps it, lossless PNG): write and read
   time in the floor store (bytea in ``image_data``, in a write transaction with the chain
   lock, as the gate does) against the bench's folder (file written, fsynced, renamed),
   and raw bytea against large objects (``lo_from_bytea`` / ``lo_get``);
2. bytes per assembly: ``--real`` assemblies through the real gate on the simulated bench
   (``qa-station demo``'s run: frames, inspections, events), the database's growth per one;
3. ``audit verify`` over that record: events/s and frames/s, the full year (150,000
   assemblies) extrapolated, and ``--since-checkpoint`` after one more assembly;
4. ``history(serial)`` and History's search on ``--assemblies`` assemblies with frames
   (rows made with generate_series; each query's plan is read: never a Seq Scan).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

from benchmarks.figures import write_figures

YEAR = 150_000  # assemblies a floor of 20 benches writes in a year
BIG_TABLES = ("assemblies", "events", "inspections", "images", "image_data")


def fibre_frame(seed: int) -> np.ndarray:
    """A fibre's graded region as the gate keeps it: a disc of cladding and core on sensor
    noise (the simulated probe's 0.3 um/px: 115 um zone B + margin, about 400 px square)."""
    rng = np.random.default_rng(seed)
    size = 400
    yy, xx = np.mgrid[:size, :size] - size / 2
    r = np.hypot(xx, yy)
    img = np.where(r < 190, 150.0, 0.0) + np.where(r < 15, 60.0, 0.0)
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def frame_times(url: str, tmp: Path, n: int) -> dict[str, Any]:
    """Write and read one frame: the floor store against the folder, same frames."""
    from qa_station.store import Store
    from qa_station.store.images import ImageFolder, encode

    frames = [encode(fibre_frame(i)) for i in range(n)]
    store = Store(url, tmp / "pg-images", station_id="bench-bm", keys_dir=tmp / "keys")
    store.migrate()
    folder = ImageFolder(tmp / "folder")
    out: dict[str, Any] = {"frame_png_bytes": int(statistics.median(len(d) for _, d in frames))}
    w_db, r_db, w_fs, r_fs = [], [], [], []
    for stored, data in frames:
        t = time.perf_counter()
        store.images.hold(stored.sha256, data)
        with store.write() as w:
            w.image_row(stored)
        w_db.append(time.perf_counter() - t)
        t = time.perf_counter()
        folder.put_bytes(stored, data)
        w_fs.append(time.perf_counter() - t)
    for stored, _ in frames:
        t = time.perf_counter()
        store.images.read_bytes(stored.sha256)
        r_db.append(time.perf_counter() - t)
        t = time.perf_counter()
        folder.read_bytes(stored.sha256)
        r_fs.append(time.perf_counter() - t)
    out.update(
        write_ms={"floor_store": _median_ms(w_db), "folder": _median_ms(w_fs)},
        read_ms={"floor_store": _median_ms(r_db), "folder": _median_ms(r_fs)},
        note="floor store write: a whole write transaction (chain lock, images row, bytes); "
        "folder write: the file alone (its row is a SQLite transaction on top)",
    )
    # bytea against large objects, raw (the same bytes, one statement each)
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    lo_w, lo_r, by_w, by_r = [], [], [], []
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE bm_bytea (k int PRIMARY KEY, d bytea)"))
        conn.execute(text("ALTER TABLE bm_bytea ALTER COLUMN d SET STORAGE EXTERNAL"))
    oids = []
    for i, (_, data) in enumerate(frames):
        with engine.begin() as conn:
            t = time.perf_counter()
            oids.append(conn.execute(text("SELECT lo_from_bytea(0, :d)"), {"d": data}).scalar())
            lo_w.append(time.perf_counter() - t)
            t = time.perf_counter()
            conn.execute(text("INSERT INTO bm_bytea VALUES (:k, :d)"), {"k": i, "d": data})
            by_w.append(time.perf_counter() - t)
    with engine.connect() as conn:
        for i, oid in enumerate(oids):
            t = time.perf_counter()
            conn.execute(text("SELECT lo_get(:o)"), {"o": oid}).scalar()
            lo_r.append(time.perf_counter() - t)
            t = time.perf_counter()
            conn.execute(text("SELECT d FROM bm_bytea WHERE k = :k"), {"k": i}).scalar()
            by_r.append(time.perf_counter() - t)
        for oid in oids:
            conn.execute(text("SELECT lo_unlink(:o)"), {"o": oid})
        conn.commit()
    engine.dispose()
    out["bytea_vs_large_object_ms"] = {
        "bytea": {"write": _median_ms(by_w), "read": _median_ms(by_r)},
        "large_object": {"write": _median_ms(lo_w), "read": _median_ms(lo_r)},
    }
    store.close()
    return out


def real_record(url: str, tmp: Path, n: int) -> dict[str, Any]:
    """``n`` assemblies through the gate on the simulated bench; size, verify, incremental."""
    from qa_station.catalog import load_catalog
    from qa_station.config import StationConfig
    from qa_station.demo import run_demo
    from qa_station.store import Store
    from qa_station.store.keys import Trust
    from qa_station.store.verify import verify

    store = Store(url, tmp / "real-images", station_id="bench-real", keys_dir=tmp / "rkeys")
    store.migrate()
    size0 = _db_bytes(store)
    t = time.perf_counter()
    run_demo(store, load_catalog(), StationConfig(station_id="bench-real"), assemblies=n)
    wrote_s = time.perf_counter() - t
    size1 = _db_bytes(store)
    with store.read() as s:
        frames = s.execute(text("SELECT count(*), sum(length(data)) FROM image_data")).one()
        events = s.execute(text("SELECT count(*) FROM events")).scalar()
    trust = Trust.of(tmp / "rkeys")
    t = time.perf_counter()
    report = verify(store, trust=trust)
    verify_s = time.perf_counter() - t
    assert report.ok, report.problems[:3]
    store.checkpoint("audit")
    run_demo(store, load_catalog(), StationConfig(station_id="bench-real"), assemblies=1)
    t = time.perf_counter()
    inc = verify(store, trust=trust, since_checkpoint=True)
    inc_s = time.perf_counter() - t
    assert inc.ok and inc.since, inc.problems[:3]
    store.close()
    per = {
        "events": events / n,
        "frames": frames[0] / n,
        "frame_bytes": int(frames[1] / n),
        "database_bytes": int((size1 - size0) / n),
    }
    ev_s, fr_s = report.events / verify_s, report.images / verify_s
    return {
        "assemblies": n,
        "gate_seconds_per_assembly": round(wrote_s / n, 2),
        "per_assembly": per,
        "year_database_gb": round(per["database_bytes"] * YEAR / 1e9, 1),
        "verify": {
            "seconds": round(verify_s, 3),
            "events": report.events,
            "frames": report.images,
            "events_per_s": round(ev_s),
            "frames_per_s": round(fr_s),
            "year_extrapolated_minutes": round(verify_s / n * YEAR / 60, 1),
        },
        "incremental_verify": {
            "seconds": round(inc_s, 3),
            "events_checked": inc.events - inc.since["events"],
            "frames_checked": inc.images,
        },
    }


def _db_bytes(store) -> int:
    with store.read() as s:
        return int(s.execute(text("SELECT pg_database_size(current_database())")).scalar())


# -- a million assemblies ----------------------------------------------------------------------

FILL = [
    """INSERT INTO products (id, name, definition, sha256)
       VALUES ('bm-product', 'bm', '{}', repeat('0', 64)) ON CONFLICT DO NOTHING""",
    """INSERT INTO assemblies (id, serial, product_id, part_number, station_id, created_us)
       SELECT g, 'BM-' || lpad(g::text, 7, '0'), 'bm-product', NULL,
              'bench-' || (g % 20), 1704067200000000 + g * 200000000::bigint
       FROM generate_series(1, :n) g""",
    """INSERT INTO ends (id, assembly_id, label, connector, rules)
       SELECT g * 2 + e, g, chr(65 + e), 'mpo-12-apc', 'iec'
       FROM generate_series(1, :n) g, generate_series(0, 1) e""",
    """INSERT INTO events (id, assembly_id, end_label, kind, payload, operator, station_id,
                           created_us, prev_hash, hash, format)
       SELECT 1000 + g * 6 + k, g, CASE WHEN k IN (0, 5) THEN NULL ELSE 'A' END,
              (ARRAY['assembly.registered', 'end.inspected', 'end.cleaned', 'end.inspected',
                     'end.connected', 'assembly.accepted'])[k + 1],
              '{}', 'olga', 'bench-' || (g % 20),
              1704067200000000 + g * 200000000::bigint + k * 1000000,
              repeat('0', 64), md5(g::text || ':' || k) || md5(k::text || ':' || g), 2
       FROM generate_series(1, :n) g, generate_series(0, 5) k""",
    """INSERT INTO images (sha256, relpath, width, height, size_bytes, created_us)
       SELECT md5('img' || g) || md5(g::text || 'img'), 'x', 400, 400, 64,
              1704067200000000 + g * 200000000::bigint
       FROM generate_series(1, :n) g""",
    """INSERT INTO image_data (sha256, data)
       SELECT md5('img' || g) || md5(g::text || 'img'), decode(repeat('ab', 64), 'hex')
       FROM generate_series(1, :n) g""",
    """INSERT INTO inspections (id, assembly_id, end_id, verdict, rules, rules_sha256,
                                um_per_px, probe_id, result, overview_sha256, station_id,
                                operator, created_us, digest)
       SELECT g, g, g * 2, 'pass', 'iec', NULL, 0.3, 'sim', '{}',
              md5('img' || g) || md5(g::text || 'img'), 'bench-' || (g % 20), 'olga',
              1704067200000000 + g * 200000000::bigint, repeat('0', 64)
       FROM generate_series(1, :n) g""",
]


def explained(engine, fn: Callable[[], Any]) -> list[dict[str, Any]]:
    """Run ``fn`` (the station's own query code), then EXPLAIN ANALYZE each SELECT it sent:
    [{"sql", "ms", "plan" (JSON), "scans": {node type: [relations]}}]."""
    sent: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "pg_" not in statement:
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    out = []
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for statement, params in sent:
            cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)
            plan = cur.fetchone()[0][0]
            scans: dict[str, list[str]] = {}
            _walk(plan["Plan"], scans)
            out.append(
                {
                    "sql": " ".join(statement.split())[:300],
                    "ms": round(plan["Execution Time"], 3),
                    "scans": scans,
                }
            )
        raw.rollback()
    finally:
        raw.close()
    return out


def _walk(node: dict, scans: dict[str, list[str]]) -> None:
    if "Relation Name" in node:
        scans.setdefault(node["Node Type"], []).append(node["Relation Name"])
    for child in node.get("Plans", []):
        _walk(child, scans)


def seq_scans(plans: list[dict[str, Any]], tables=BIG_TABLES) -> list[str]:
    return [
        f"{t} in {p['sql'][:80]}"
        for p in plans
        for t in p["scans"].get("Seq Scan", [])
        if t in tables
    ]


def fill(url: str, n: int) -> float:
    """``n`` assemblies with ends, six events, an inspection and its frame each."""
    engine = create_engine(url, poolclass=NullPool)
    t = time.perf_counter()
    try:
        with engine.begin() as conn:
            conn.execute(text("SET session_replication_role = replica"))  # bulk: no triggers
            for statement in FILL:
                conn.execute(text(statement), {"n": n})
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return time.perf_counter() - t


def search_plans(url: str, tmp: Path, n: int) -> dict[str, Any]:
    from qa_station.auditor import AuditorStation
    from qa_station.catalog import load_catalog
    from qa_station.config import StationConfig
    from qa_station.store import Store

    owner = Store(url, tmp / "owner-images", station_id="owner")
    owner.upgrade()  # the schema, as the owner makes it; no key: an empty store
    owner.engine.dispose()
    fill_s = fill(url, n)
    store = Store(url, tmp / "big-images", station_id="audit", read_only=True)
    station = AuditorStation(StationConfig(), store, load_catalog())
    middle = f"BM-{n // 2:07d}"
    cases = {
        "history(serial)": lambda: store.history(middle),
        "search: serial contains": lambda: station.search(serial=middle[3:]),
        "search: newest 500": lambda: station.search(),
        "search: a week": lambda: station.search(
            since_us=1704067200000000 + (n // 2) * 200000000,
            until_us=1704067200000000 + (n // 2) * 200000000 + 7 * 86400 * 10**6,
        ),
        "search: operator": lambda: station.search(serial=middle[3:-1], operator="olga"),
    }
    out: dict[str, Any] = {"assemblies": n, "fill_seconds": round(fill_s, 1), "queries": {}}
    for name, fn in cases.items():
        times = []
        for _ in range(5):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        plans = explained(store.engine, fn)
        out["queries"][name] = {
            "median_ms": _median_ms(times),
            "plans": plans,
            "seq_scans_on_big_tables": seq_scans(plans),
        }
    store.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="an admin URL of a PostgreSQL server to create databases on")
    ap.add_argument("--assemblies", type=int, default=1_000_000)
    ap.add_argument("--real", type=int, default=6, help="assemblies through the real gate")
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/floor_scale.json"))
    args = ap.parse_args(argv)
    server = None
    admin = args.db
    if admin is None:
        from tests import pg

        server = pg.PgServer.create()
        server.start()
        admin = server.url()
    try:
        from tests import pg

        def fresh() -> str:
            return pg.create_database(admin, f"bm_{uuid.uuid4().hex[:12]}")

        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            result = {
                "python": platform.python_version(),
                "machine": platform.machine(),
                "frame": frame_times(fresh(), tmp, args.frames),
                "record": real_record(fresh(), tmp, args.real),
                "scale": search_plans(fresh(), tmp, args.assemblies),
                "command": "python -m benchmarks.floor_scale " + " ".join(argv or sys.argv[1:]),
            }
    finally:
        if server is not None:
            server.destroy()
    write_figures(args.out, result, indent=1)
    bad = [s for q in result["scale"]["queries"].values() for s in q["seq_scans_on_big_tables"]]
    print(json.dumps({k: v for k, v in result.items() if k != "scale"}, indent=1))
    for name, q in result["scale"]["queries"].items():
        print(
            f"{name}: {q['median_ms']} ms, seq scans on big tables: {q['seq_scans_on_big_tables']}"
        )
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
