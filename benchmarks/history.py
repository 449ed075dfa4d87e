"""Speed of ``Store.history(serial)`` on a store the size of a year on a busy floor.

    python -m benchmarks.history [--assemblies 100000] [--db URL] [--reuse PATH]
                                 [--lookups 200] [--verify] [--out benchmarks/results/history.json]

Builds a store of ``--assemblies`` MPO-12 trunks (serials T12B-000001...), each with the
events a bench writes for it: registered; per end (A, B): inspected, cleaned, inspected
again, connected; accepted: 10 events, plus a sign-in now and then. The rows are the
gate's (inspections with their 12 fibres and the grade JSON, cleanings, ends) and the
events are hash-chained exactly as ``Writer.event`` chains them, so ``verify`` passes
(``--verify`` runs it; frames are not stored, so there are no image files to check).
Eight benches work at once: the events of one assembly are interleaved with others', as
on the floor. The rows go in with bulk SQLAlchemy Core inserts, not through the gate.

Then times ``Store.history`` for ``--lookups`` random serials (after a few warm-up
lookups) and writes the median, p90 and the query plans to ``--out``.

- SQLite always: in a temporary file, removed afterwards; with ``--reuse PATH`` the file
  at PATH is built once and reused by later runs (kept).
- PostgreSQL too with ``--db URL`` (e.g. ``postgresql://qa@127.0.0.1:5432/history``):
  an empty database is filled; one that already holds the same number of assemblies
  is reused; anything else is refused.

Target (issue: history of one serial at the bench): <= 50 ms median and p90.
Exit status 0 when every backend meets it, 1 when one does not, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from benchmarks.figures import write_figures
from grading.results import Defect, EndFaceResult, FiberResult
from qa_station.catalog import load_catalog
from qa_station.gate.gate import _product_doc
from qa_station.store import Store, StoreError
from qa_station.store.chain import (
    EVENT_FORMAT,
    GENESIS,
    canonical,
    digest,
    event_hash,
    signed_text,
)
from qa_station.store.kinds import Kind
from qa_station.store.models import (
    Assembly,
    ChainHead,
    CheckpointRow,
    Cleaning,
    End,
    Event,
    Inspection,
    InspectionFiber,
    Station,
)
from qa_station.store.models import Product as ProductRow
from qa_station.store.records import cleaning_digest, inspection_digest

TARGET_MS = 50.0
PRODUCT = "trunk-mpo12-sm-apc-b"
SERIAL_FORMAT = "T12B-{:06d}"
ENDS = ("A", "B")
FIBRES = 12
BENCHES = 8  # assemblies in work at once
CHUNK = 2000  # assemblies per transaction while building
START_US = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
OPERATORS = ("olga", "ben", "amira", "kofi", "lena", "raj", "sofia", "tomas")
METHODS = ("dry-one-click", "dry-cassette", "wet-to-dry")
WARMUP = 10


class BenchmarkError(Exception):
    """The benchmark cannot run as asked (the message says why)."""


# -- building -----------------------------------------------------------------------------------
class Builder:
    """Generates the rows and the chained events, in the order a floor would write them."""

    def __init__(self, rules_name: str, rules_sha: str, product, seed: int, key=None) -> None:
        self.key = key  # the station key that signs every event (format 2, as Writer.event)
        self.rng = random.Random(seed)
        self.rules = rules_name
        self.rules_sha = rules_sha
        self.product = product
        doc = _product_doc(product)
        self.product_doc = doc
        self.product_sha = digest(doc)
        self.ends_doc = doc["ends"]
        self.now = START_US
        self.prev = GENESIS
        self.ids = {"event": 0, "inspection": 0, "fibre": 0, "cleaning": 0}
        self._results: dict[tuple[str, int], str] = {}

    def tick(self) -> int:
        self.now += self.rng.randint(2_000_000, 40_000_000)  # 2-40 s between events
        return self.now

    def result_json(self, end: str, failed: int) -> str:
        """The grade JSON of an MPO-12 end face; ``failed`` = the failing fibre, or 0."""
        key = (end, failed)
        if key not in self._results:
            fibres = []
            for n in range(1, FIBRES + 1):
                x = 160.0 + 80.0 * (n - 1)
                if n == failed:
                    defect = Defect("defect", "B", 7.1, (x + 12.0, 231.0))
                    fibres.append(
                        FiberResult(
                            n,
                            (x, 240.0),
                            40.1,
                            "fail",
                            (defect,),
                            ("zone B (cladding): 1 defect > 5 um (7.1 um), none allowed",),
                        )
                    )
                else:
                    fibres.append(FiberResult(n, (x, 240.0), 40.1, "pass"))
            doc = EndFaceResult(
                verdict="fail" if failed else "pass",
                um_per_px=0.3125,
                rules=self.rules,
                connector="mpo12",
                fibers=tuple(fibres),
                scale_source="given",
                rules_sha256=self.rules_sha,
                extra={"end": end},
            ).to_dict()
            self._results[key] = canonical(doc)
        return self._results[key]

    def event(
        self,
        out: dict[str, list],
        kind: str,
        payload: dict[str, Any],
        aid: int | None,
        end: str | None,
        operator: str | None,
        station: str,
        at: int,
    ) -> None:
        self.ids["event"] += 1
        ev_id = self.ids["event"]
        body = canonical(payload)
        h = event_hash(self.prev, ev_id, kind, aid, end, body, operator, station, at, None, None)
        out["events"].append(
            {
                "id": ev_id,
                "assembly_id": aid,
                "end_label": end,
                "kind": kind,
                "payload": body,
                "operator": operator,
                "station_id": station,
                "created_us": at,
                "prev_hash": self.prev,
                "hash": h,
                "format": EVENT_FORMAT,
                "session": None,
                "mono_us": None,
                "key_id": self.key.id,
                "signature": self.key.sign(signed_text(h)),
            }
        )
        self.prev = h

    def assembly_steps(self, aid: int):
        """The steps of one assembly, as (callable) closures run when it is its turn."""
        serial = SERIAL_FORMAT.format(aid)
        station = f"bench-{aid % BENCHES + 1}"
        operator = OPERATORS[aid % len(OPERATORS)]
        last: dict[str, tuple[int, int]] = {}  # end -> (inspection id, at)

        def register(out):
            at = self.tick()
            out["assemblies"].append(
                {
                    "id": aid,
                    "serial": serial,
                    "product_id": self.product.id,
                    "part_number": None,
                    "station_id": station,
                    "created_us": at,
                }
            )
            for i, e in enumerate(ENDS):
                out["ends"].append(
                    {
                        "id": 2 * (aid - 1) + i + 1,
                        "assembly_id": aid,
                        "label": e,
                        "connector": "mpo12",
                        "rules": self.rules,
                    }
                )
            payload = {
                "serial": serial,
                "product": self.product.id,
                "product_sha256": self.product_sha,
                "part_number": None,
                "policy": self.product.policy,
                "exposure_limit_s": self.product.exposure_limit_s,
                "max_clean_cycles": self.product.max_clean_cycles,
                "ends": self.ends_doc,
            }
            self.event(out, Kind.ASSEMBLY_REGISTERED, payload, aid, None, operator, station, at)

        def inspect(end: str, first: bool):
            def step(out):
                at = self.tick()
                failed = self.rng.randint(1, FIBRES) if first and self.rng.random() < 0.6 else 0
                self.ids["inspection"] += 1
                iid = self.ids["inspection"]
                end_id = 2 * (aid - 1) + ENDS.index(end) + 1
                row = {
                    "id": iid,
                    "assembly_id": aid,
                    "end_id": end_id,
                    "verdict": "fail" if failed else "pass",
                    "rules": self.rules,
                    "rules_sha256": self.rules_sha,
                    "um_per_px": 0.3125,
                    "probe_id": "sim-400x",
                    "result": self.result_json(end, failed),
                    "overview_sha256": None,
                    "station_id": station,
                    "operator": operator,
                    "created_us": at,
                    "digest": "",
                }
                fibres = []
                for n in range(1, FIBRES + 1):
                    self.ids["fibre"] += 1
                    fibres.append(
                        {
                            "id": self.ids["fibre"],
                            "inspection_id": iid,
                            "fiber": n,
                            "verdict": "fail" if n == failed else "pass",
                            "image_sha256": None,
                            "focus_score": round(self.rng.uniform(28.0, 60.0), 4),
                        }
                    )
                row["digest"] = inspection_digest(
                    SimpleNamespace(**row), [SimpleNamespace(**f) for f in fibres]
                )
                out["inspections"].append(row)
                out["inspection_fibers"].extend(fibres)
                last[end] = (iid, at)
                payload = {
                    "inspection_id": iid,
                    "digest": row["digest"],
                    "verdict": row["verdict"],
                    "failed_fibers": [failed] if failed else [],
                    "failures": (
                        ["zone B (cladding): 1 defect > 5 um (7.1 um), none allowed"]
                        if failed
                        else []
                    ),
                    "rules": self.rules,
                    "probe": "sim-400x",
                }
                self.event(out, Kind.END_INSPECTED, payload, aid, end, operator, station, at)

            return step

        def clean(end: str):
            def step(out):
                at = self.tick()
                self.ids["cleaning"] += 1
                method = self.rng.choice(METHODS)
                row = {
                    "id": self.ids["cleaning"],
                    "assembly_id": aid,
                    "end_id": 2 * (aid - 1) + ENDS.index(end) + 1,
                    "method": method,
                    "tool_id": f"cassette-{aid % 50}",
                    "adapter_cleaned": True,
                    "station_id": station,
                    "operator": operator,
                    "created_us": at,
                    "digest": "",
                }
                row["digest"] = cleaning_digest(SimpleNamespace(**row))
                out["cleanings"].append(row)
                payload = {
                    "cleaning_id": row["id"],
                    "digest": row["digest"],
                    "method": method,
                    "tool": row["tool_id"],
                    "adapter": True,
                }
                self.event(out, Kind.END_CLEANED, payload, aid, end, operator, station, at)

            return step

        def connect(end: str):
            def step(out):
                at = self.tick()
                iid, inspected_at = last[end]
                payload = {
                    "mode": "connected",
                    "inspection_id": iid,
                    "inspection_age_s": round((at - inspected_at) / 1e6, 1),
                    "deviation": False,
                }
                self.event(out, Kind.END_CONNECTED, payload, aid, end, operator, station, at)

            return step

        def accept(out):
            payload = {"ends": dict.fromkeys(ENDS, "connected")}
            self.event(out, Kind.ASSEMBLY_ACCEPTED, payload, aid, None, None, station, self.tick())

        yield register
        for end in ENDS:
            yield inspect(end, first=True)
            yield clean(end)
            yield inspect(end, first=False)
            yield connect(end)
        yield accept

    def sign_in(self, out) -> None:
        who = self.rng.choice(OPERATORS)
        station = f"bench-{self.rng.randint(1, BENCHES)}"
        self.event(out, Kind.LOGIN, {"username": who}, None, None, who, station, self.tick())


TABLES = ("assemblies", "ends", "inspections", "inspection_fibers", "cleanings", "events")
MODELS = {
    "assemblies": Assembly,
    "ends": End,
    "inspections": Inspection,
    "inspection_fibers": InspectionFiber,
    "cleanings": Cleaning,
    "events": Event,
}


def build(url: str, assemblies: int, seed: int, say) -> dict[str, Any]:
    """Fill an empty store at ``url``; returns what was built and how long it took."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="qa-history-images-") as images:
        store = Store(url, Path(images), station_id="bench-1")
        store.migrate()
        key = store.key
        store.close()
    engine = _bulk_engine(url)
    catalog = load_catalog()
    product = catalog.get(PRODUCT)
    ruleset = product.end("A").ruleset()
    builder = Builder(ruleset.name, ruleset.sha256, product, seed, key)
    try:
        with engine.begin() as conn:
            conn.execute(
                ProductRow.__table__.insert(),
                [
                    {
                        "id": product.id,
                        "name": product.name,
                        "definition": canonical(builder.product_doc),
                        "sha256": builder.product_sha,
                    }
                ],
            )
            stations = [f"bench-{n}" for n in range(2, BENCHES + 1)]
            conn.execute(
                Station.__table__.insert(), [{"id": s, "created_us": START_US} for s in stations]
            )
        next_aid = 1
        active: list = []
        done = 0
        while done < assemblies:
            out: dict[str, list] = {t: [] for t in TABLES}
            target = min(done + CHUNK, assemblies)
            while done < target:
                while len(active) < BENCHES and next_aid <= assemblies:
                    active.append(builder.assembly_steps(next_aid))
                    next_aid += 1
                i = builder.rng.randrange(len(active))
                try:
                    next(active[i])(out)
                except StopIteration:
                    active.pop(i)
                    done += 1
                    continue
                if builder.rng.random() < 0.02:
                    builder.sign_in(out)
            with engine.begin() as conn:
                for table in TABLES:
                    if out[table]:
                        conn.execute(MODELS[table].__table__.insert(), out[table])
                conn.execute(
                    ChainHead.__table__.update()
                    .where(ChainHead.id == 1)
                    .values(
                        last_event_id=builder.ids["event"],
                        last_hash=builder.prev,
                        event_count=builder.ids["event"],
                    )
                )
                head = SimpleNamespace(
                    event_count=builder.ids["event"],
                    last_event_id=builder.ids["event"],
                    last_hash=builder.prev,
                )
                cp = store.sign_head(head, "events", builder.now)
                conn.execute(CheckpointRow.__table__.insert(), [cp.row()])
            say(f"  {done:>7} assemblies, {builder.ids['event']:>8} events")
        # ``done`` counts finished assemblies, so none is left in work here.
        if active:
            raise BenchmarkError("internal: assemblies left half-built")
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                for table in TABLES:
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))"
                        )
                    )
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return {
        "build_s": round(time.perf_counter() - started, 1),
        "events": builder.ids["event"],
        "inspections": builder.ids["inspection"],
        "inspection_fibers": builder.ids["fibre"],
        "cleanings": builder.ids["cleaning"],
    }


def _bulk_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=OFF")  # a benchmark store: rebuilt if lost
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url)


def existing_assemblies(url: str) -> int | None:
    """How many assemblies the store at ``url`` holds; None when it has no schema yet."""
    engine = _bulk_engine(url)
    try:
        with engine.connect() as conn:
            if not engine.dialect.has_table(conn, "assemblies"):
                return None
            n = conn.execute(select(func.count()).select_from(Assembly.__table__)).scalar_one()
            events = conn.execute(select(func.count()).select_from(Event.__table__)).scalar_one()
            return n if n or events else None
    finally:
        engine.dispose()


def prepare(url: str, assemblies: int, seed: int, say) -> dict[str, Any]:
    have = existing_assemblies(url)
    if have is None:
        say(f"building {assemblies} assemblies in {_safe(url)}")
        return {"reused": False, **build(url, assemblies, seed, say)}
    if have != assemblies:
        raise BenchmarkError(
            f"{_safe(url)} already holds {have} assemblies, not {assemblies}: "
            "give an empty database (or another --reuse path), or --assemblies "
            f"{have} to reuse it"
        )
    say(f"reusing {_safe(url)} ({have} assemblies)")
    return {"reused": True}


# -- timing -------------------------------------------------------------------------------------
def query_plans(store: Store, serial: str) -> list[str]:
    """The plans of the two queries ``history`` runs (serial -> id, then the events)."""
    aid_q = select(Assembly.id).where(Assembly.serial == serial)
    with store.engine.connect() as conn:
        aid = conn.execute(aid_q).scalar_one()
        events_q = select(Event).where(Event.assembly_id == aid).order_by(Event.id)
        plans = []
        for q in (aid_q, events_q):
            compiled = q.compile(conn, compile_kwargs={"literal_binds": True})
            if store.dialect == "sqlite":
                rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
                plans.append("; ".join(r[-1] for r in rows))
            else:
                rows = conn.exec_driver_sql(f"EXPLAIN ANALYZE {compiled}").all()
                plans.append(" | ".join(r[0].strip() for r in rows))
        conn.rollback()
    return plans


def time_history(url: str, assemblies: int, lookups: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    serials = [SERIAL_FORMAT.format(rng.randint(1, assemblies)) for _ in range(lookups)]
    with tempfile.TemporaryDirectory(prefix="qa-history-images-") as images:
        store = Store(url, Path(images), station_id="bench-1")
        try:
            t0 = time.perf_counter()
            first = store.history(SERIAL_FORMAT.format(rng.randint(1, assemblies)))
            first_ms = (time.perf_counter() - t0) * 1000.0
            if not first:
                raise BenchmarkError(f"{_safe(url)}: a serial of the store has no history")
            for _ in range(WARMUP):
                store.history(SERIAL_FORMAT.format(rng.randint(1, assemblies)))
            times = []
            sizes = []
            for serial in serials:
                t0 = time.perf_counter()
                events = store.history(serial)
                times.append((time.perf_counter() - t0) * 1000.0)
                sizes.append(len(events))
                if not events or {e.serial for e in events} != {serial}:
                    raise BenchmarkError(f"history({serial}) returned {len(events)} events")
            plans = query_plans(store, serials[0])
        finally:
            store.close()
    times.sort()
    median = statistics.median(times)
    p90 = times[max(0, round(0.9 * len(times)) - 1)]
    return {
        "lookups": lookups,
        "median_ms": round(median, 3),
        "p90_ms": round(p90, 3),
        "max_ms": round(times[-1], 3),
        "mean_ms": round(statistics.fmean(times), 3),
        "first_lookup_ms": round(first_ms, 3),
        "events_per_serial": round(statistics.fmean(sizes), 2),
        "met": median <= TARGET_MS and p90 <= TARGET_MS,
        "query_plans": plans,
    }


def run_verify(url: str) -> dict[str, Any]:
    from qa_station.store.verify import verify

    with tempfile.TemporaryDirectory(prefix="qa-history-images-") as images:
        store = Store(url, Path(images))
        try:
            t0 = time.perf_counter()
            report = verify(store)
            return {
                "ok": report.ok,
                "events": report.events,
                "first_problem": report.first_problem,
                "verify_s": round(time.perf_counter() - t0, 1),
            }
        finally:
            store.close()


def _safe(url: str) -> str:
    from sqlalchemy import make_url

    return make_url(url).render_as_string(hide_password=True)


def run(args: argparse.Namespace, say) -> dict[str, Any]:
    out: dict[str, Any] = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "assemblies": args.assemblies,
        "target_ms": TARGET_MS,
        "target": f"Store.history(serial) median and p90 <= {TARGET_MS:g} ms",
        "backends": {},
    }
    temp_dir = None
    try:
        if args.reuse:
            args.reuse.parent.mkdir(parents=True, exist_ok=True)
            sqlite_path = args.reuse.resolve()
        else:
            temp_dir = tempfile.mkdtemp(prefix="qa-history-")
            sqlite_path = Path(temp_dir) / "history.sqlite3"
        targets = [("sqlite", f"sqlite:///{sqlite_path}")]
        if args.db:
            targets.append(("postgresql", args.db))
        for name, url in targets:
            built = prepare(url, args.assemblies, args.seed, say)
            say(f"timing {args.lookups} history lookups on {name}")
            figures = {**built, **time_history(url, args.assemblies, args.lookups, args.seed)}
            if name == "sqlite":
                figures["file_mb"] = round(sqlite_path.stat().st_size / 1e6, 1)
            if args.verify:
                say(f"verifying the chain on {name}")
                figures["verify"] = run_verify(url)
            out["backends"][name] = figures
            say(
                f"{name}: median {figures['median_ms']:.2f} ms, p90 {figures['p90_ms']:.2f} ms "
                f"over {args.lookups} lookups ({'met' if figures['met'] else 'NOT met'})"
            )
    finally:
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)
    out["met"] = all(b["met"] for b in out["backends"].values())
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--assemblies", type=int, default=100_000)
    ap.add_argument("--db", metavar="URL", help="a PostgreSQL database to time as well")
    ap.add_argument("--reuse", metavar="PATH", type=Path, help="SQLite file to build once, reuse")
    ap.add_argument("--lookups", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--verify", action="store_true", help="also run audit verify on the store")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/history.json"))
    args = ap.parse_args(argv)
    if not 1 <= args.assemblies <= 999_999:
        ap.error("--assemblies: between 1 and 999999 (serials have six digits)")
    if args.lookups < 1:
        ap.error("--lookups: at least 1")
    if args.db and not args.db.startswith("postgresql"):
        ap.error("--db: a PostgreSQL URL (postgresql://user@host:port/database)")

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    try:
        figures = run(args, say)
    except (BenchmarkError, StoreError, SQLAlchemyError, OSError) as exc:
        print(f"benchmarks.history: error: {exc}", file=sys.stderr)
        return 2
    write_figures(args.out, figures)
    print(json.dumps(figures, indent=2))
    return 0 if figures["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
