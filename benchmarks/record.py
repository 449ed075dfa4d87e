"""What signing the record costs: events per second signed against unsigned, and the time
``audit verify`` takes on a year of a busy floor.

    python -m benchmarks.record [--events 3000] [--assemblies 100000] [--skip-verify]
                                [--out benchmarks/results/record.json]

1. Appending events, on SQLite files in a temporary folder, in the same run:
   - unsigned: the chain as it was before (format 1: Python's sorted ``json.dumps``, the
     event flushed for its id, then hashed and updated, no signature, no checkpoint);
   - signed: ``Writer.event`` as the station runs it (RFC 8785 hash, ECDSA P-256 signature
     before the insert, a signed checkpoint every 100 events, the signed head handed to
     the bench's witness file after every transaction).
   Each both ways: one event per transaction (a gate action) and 100 per transaction.
2. ``verify()`` on a store of ``--assemblies`` MPO-12 trunks built by benchmarks.history
   (10 events each: 100,000 assemblies is about 1.02 million signed events, 400,000
   inspections with 4.8 million fibre rows, 200,000 cleanings).

The figures depend on the machine and on its load (the load average is recorded).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from benchmarks.figures import write_figures
from qa_station.store import Store
from qa_station.store.chain import LEGACY_FORMAT, legacy_canonical, legacy_event_hash
from qa_station.store.kinds import Kind
from qa_station.store.models import ChainHead, Event

PAYLOAD = {"inspection_id": 123456, "digest": "ab" * 32, "verdict": "pass", "failed_fibers": [],
           "failures": [], "rules": "iec-61300-3-35-ed2/sm-apc", "probe": "fi-400x-a"}  # fmt: skip


def unsigned_append(store: Store, n: int, per_tx: int) -> float:
    """The chain as it was before signing (f454fd8's Writer.event), on today's schema."""
    t0 = time.perf_counter()
    done = 0
    while done < n:
        with store._write_sessions() as s, s.begin():
            head = s.execute(select(ChainHead).where(ChainHead.id == 1).with_for_update())
            head = head.scalar_one()
            for _ in range(min(per_tx, n - done)):
                body = legacy_canonical(PAYLOAD)
                at = round(time.time() * 1e6)
                ev = Event(kind=Kind.END_INSPECTED.value, payload=body, operator="olga",
                           station_id="bench-1", created_us=at, prev_hash=head.last_hash,
                           hash="", format=LEGACY_FORMAT)  # fmt: skip
                s.add(ev)
                s.flush()
                ev.hash = legacy_event_hash(ev.prev_hash, ev.id, ev.kind, None, None, body,
                                            "olga", "bench-1", at)  # fmt: skip
                head.last_event_id, head.last_hash = ev.id, ev.hash
                s.flush()
                done += 1
    return time.perf_counter() - t0


def signed_append(store: Store, n: int, per_tx: int) -> float:
    t0 = time.perf_counter()
    done = 0
    while done < n:
        with store.write() as w:
            for _ in range(min(per_tx, n - done)):
                w.event(Kind.END_INSPECTED, PAYLOAD, None, None, "olga")
                done += 1
    return time.perf_counter() - t0


def append_figures(n: int, say) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="qa-record-bench-") as tmp:
        root = Path(tmp)
        for per_tx in (1, 100):
            count = n if per_tx == 1 else n * 10
            row: dict[str, Any] = {"events": count}
            for name, append in (("unsigned", unsigned_append), ("signed", signed_append)):
                folder = root / f"{name}-{per_tx}"
                store = Store(f"sqlite:///{folder}.sqlite3", folder / "images",
                              keys_dir=root / "keys", witness_dir=folder / "witness")  # fmt: skip
                store.migrate()
                try:
                    took = append(store, count, per_tx)
                finally:
                    store.close()
                row[f"{name}_events_per_s"] = round(count / took, 1)
                say(f"  {per_tx:>3} per transaction, {name:>8}: {count / took:,.0f} events/s")
            row["signed_vs_unsigned"] = round(
                row["signed_events_per_s"] / row["unsigned_events_per_s"], 3
            )
            out[f"{per_tx}_per_transaction"] = row
    return out


def verify_figures(assemblies: int, say) -> dict[str, Any]:
    from benchmarks.history import build
    from qa_station.store.verify import verify

    with tempfile.TemporaryDirectory(prefix="qa-record-verify-") as tmp:
        url = f"sqlite:///{tmp}/year.sqlite3"
        say(f"building {assemblies} assemblies of signed events (benchmarks.history)")
        built = build(url, assemblies, 1, say)
        store = Store(url, Path(tmp) / "images")
        try:
            say("audit verify ...")
            t0 = time.perf_counter()
            report = verify(store)
            took = time.perf_counter() - t0
        finally:
            store.close()
    return {
        **built,
        "verify_ok": report.ok,
        "verify_first_problem": report.first_problem,
        "verified_events": report.events,
        "signed_events": report.signed,
        "verify_s": round(took, 1),
        "verify_us_per_event": round(took / max(1, report.events) * 1e6, 1),
        "verify_s_per_million_events": round(took / max(1, report.events) * 1e6, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=3000, help="events per append run")
    ap.add_argument("--assemblies", type=int, default=100_000)
    ap.add_argument("--skip-verify", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/record.json"))
    args = ap.parse_args(argv)
    if args.events < 10 or not 1 <= args.assemblies <= 999_999:
        ap.error("--events at least 10; --assemblies 1-999999")

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    figures: dict[str, Any] = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "append": append_figures(args.events, say),
    }
    if not args.skip_verify:
        figures["verify"] = verify_figures(args.assemblies, say)
    figures["load_average_at_end"] = os.getloadavg()
    write_figures(args.out, figures)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
