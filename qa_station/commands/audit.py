"""``qa-station audit verify``: the hash chain, every recorded row and every image file."""

from __future__ import annotations

import argparse
import json
import sys

from qa_station.commands.common import CommandError, fail, station
from qa_station.store import StoreError
from qa_station.store.verify import verify
from qa_station.text import shown


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="auditor tools")
    asub = p.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    v = asub.add_parser(
        "verify",
        help="check the whole record: exit 0 when intact, else name the first broken record",
    )
    v.add_argument("--db", metavar="URL", help="store URL (default: the station's)")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    try:
        _, store, _ = station(args.db)
        report = verify(store)
    except (CommandError, StoreError) as exc:
        return fail("audit verify", str(exc))
    if args.json:
        json.dump(
            {
                "ok": report.ok,
                "events": report.events,
                "inspections": report.inspections,
                "cleanings": report.cleanings,
                "images": report.images,
                "archived": report.archived,
                "problems": report.problems,
            },
            sys.stdout,
            indent=1,
        )
        sys.stdout.write("\n")
    elif report.ok:
        print(
            f"intact: {report.events} events in one unbroken chain, {report.inspections} inspections, "
            f"{report.cleanings} cleanings and {report.images} images as recorded"
            + (f" ({report.archived} of them archived off the bench)" if report.archived else "")
        )
    else:
        # Problems quote what the store holds: printed escaped, never raw bytes.
        print(f"BROKEN: {shown(report.first_problem, 600)}")
        for p in report.problems[1:20]:
            print(f"  also: {shown(p, 600)}")
        if len(report.problems) > 20:
            print(f"  ... and {len(report.problems) - 20} more")
    return 0 if report.ok else 1
