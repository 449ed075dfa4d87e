"""``qa-station history SERIAL``: every event of one assembly, in order."""

from __future__ import annotations

import argparse
import json
import sys

from qa_station.commands.common import (
    CommandError,
    db_option,
    fails_as,
    serial_arg,
    station,
)
from qa_station.record import describe_event
from qa_station.store import StoreError
from qa_station.text import shown


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("serial")
    db_option(p)
    p.add_argument("--json", action="store_true", help="one JSON list of events")


@fails_as("history", StoreError)
def run(args: argparse.Namespace) -> int:
    wanted = serial_arg(args.serial)
    _, store, _ = station(args.db)
    events = store.history(wanted)
    if not events:
        raise CommandError(f"no assembly with serial {wanted!r} in {store.safe_url}")
    if args.json:
        json.dump([e.to_dict() for e in events], sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    for e in events:  # stored text is printed escaped: a record cannot drive the terminal
        print(
            f"{e.to_dict()['at']}  {shown(e.station, 32):<10} {shown(e.operator or '-', 64):<16} "
            f"{shown(e.end or '', 16):<5} {shown(e.kind, 48):<24} "
            f"{shown(describe_event(e.kind, e.payload), 600)}"
        )
    return 0
