"""``qa-station regrade --rules TABLE``: the archive's frames under another rule table.

The final inspection of every end inspected in the period (optionally of one
product) is graded again from its stored frames, on every core, against
TABLE (a built-in name or a TOML file); a signed what-if report (PDF, and a
CSV beside it) lists every fibre whose verdict would change, old beside new,
and the accepted assemblies that would now fail. The record of the
inspections is never changed; the report is recorded as an event. Exit 0
written (whatever it found), 2 bad usage (a table that does not load, a bad
date) or any other problem; Ctrl+C stops it and records nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading

from qa_station.certificates.errors import CertificateError
from qa_station.commands.common import CommandError, db_option, fails_as, station
from qa_station.exports import DateError, parse_when
from qa_station.regrade import RegradeCancelled, RegradeError, load_table, record_regrade, regrade
from qa_station.store import StoreError

DESCRIPTION = __doc__


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rules", required=True, metavar="TABLE", help="built-in name or TOML file")
    p.add_argument("--since", metavar="DATE", help="inspections from this date")
    p.add_argument("--until", metavar="DATE", help="up to this date (its day included)")
    p.add_argument("--product", metavar="ID", help="only this catalog product")
    p.add_argument("--jobs", type=int, help="processes (default: every core)")
    p.add_argument("-o", "--output", metavar="FOLDER", help="where the PDF and CSV go")
    p.add_argument("--json", action="store_true", help="one JSON summary on stdout")
    db_option(p, help=None)


@fails_as("regrade", DateError, RegradeError, CertificateError, StoreError, ValueError)
def run(args: argparse.Namespace) -> int:
    since = parse_when(args.since) if args.since else None
    until = parse_when(args.until, upper=True) if args.until else None
    load_table(args.rules)
    if args.jobs is not None and not 1 <= args.jobs <= 256:
        raise CommandError("--jobs must be 1 to 256")
    _, store, catalog = station(args.db)
    cancel = threading.Event()
    try:
        if args.product:
            catalog.get(args.product)

        def progress(done: int, total: int) -> None:
            if not args.json and total:
                print(f"\r{done}/{total} frames", end="", file=sys.stderr, flush=True)

        try:
            result = regrade(
                store, args.rules, since, until, args.product, args.jobs, progress, cancel
            )
        except KeyboardInterrupt:
            cancel.set()
            raise RegradeCancelled("re-grade interrupted; nothing recorded") from None
        if not args.json:
            print(file=sys.stderr)
        done = record_regrade(store, result, None, args.output)
    finally:
        store.close()
    s = result.summary()
    if args.json:
        json.dump(
            {**s, "pdf": str(done.pdf), "csv": str(done.csv), "event_id": done.event_id}, sys.stdout
        )
        sys.stdout.write("\n")
    else:
        print(
            f"{s['inspections']} inspections, {s['frames']} frames re-graded with {s['rules']} in "
            f"{s['elapsed_s']:.1f} s on {s['workers']} process(es): {s['changed_fibres']} fibre(s) "
            f"would change ({s['pass_to_fail']} pass -> fail, {s['fail_to_pass']} fail -> pass)"
        )
        failing = s["accepted_now_failing"]
        print(
            f"accepted assemblies that would now fail: {', '.join(failing) if failing else 'none'}"
        )
        print(f"report: {done.pdf}\ntable:  {done.csv}")
    return 0
