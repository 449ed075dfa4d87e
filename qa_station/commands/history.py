"""``qa-station history SERIAL``: every event of one assembly, in order."""

from __future__ import annotations

import argparse
import json
import sys

from qa_station.commands.common import CommandError, fail, station
from qa_station.record import describe_event
from qa_station.store import StoreError


def add_parser(sub: argparse._SubParsersAction, summary: str) -> None:
    p = sub.add_parser("history", help=summary)
    p.add_argument("serial")
    p.add_argument("--db", metavar="URL", help="store URL (default: the station's)")
    p.add_argument("--json", action="store_true", help="one JSON list of events")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        _, store, _ = station(args.db)
        events = store.history(args.serial.strip())
    except (CommandError, StoreError) as exc:
        return fail("history", str(exc))
    if not events:
        return fail("history", f"no assembly with serial {args.serial!r} in {store.safe_url}")
    if args.json:
        json.dump([e.to_dict() for e in events], sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    for e in events:
        print(
            f"{e.to_dict()['at']}  {e.station:<10} {e.operator or '-':<16} {e.end or '':<5} {e.kind:<24} {describe_event(e.kind, e.payload)}"
        )
    return 0
