"""``qa-station demo``: simulated assemblies through the whole gate, headless."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hardware.simulated.assembly import SCENARIOS
from qa_station.accounts import AuthError
from qa_station.catalog import CatalogError
from qa_station.certificates.errors import CertificateError
from qa_station.commands.common import CommandError, db_option, fails_as, station
from qa_station.demo import run_demo
from qa_station.gate import GateRefused
from qa_station.paths import ensure_dir, station_paths, write_whole
from qa_station.store import StoreError

DESCRIPTION = (
    "Run N simulated assemblies of a product through the whole gate on the "
    "simulated bench and print a summary. The demo keeps a record of its own (in the "
    "station home's data/demo folder, with its own key): it never touches the station's "
    "record or accounts. Look at it with qa-station --demo COMMAND."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--assemblies", type=int, default=3, metavar="N")
    p.add_argument("--scenario", choices=SCENARIOS, help="how dirty (default: a realistic mix)")
    p.add_argument("--product", default="trunk-mpo12-sm-apc-b", help="catalog product id")
    p.add_argument(
        "--out", metavar="DIR", help="write the signed certificate of every accepted assembly here"
    )
    db_option(p, "store URL: an empty database, or the demo's (default: its own)")
    p.add_argument("--json", action="store_true", help="print one JSON summary")


@fails_as(
    "demo", OSError, AuthError, GateRefused, StoreError, ValueError, CatalogError, CertificateError
)
def run(args: argparse.Namespace) -> int:
    if args.assemblies < 1:
        raise CommandError("--assemblies must be at least 1")
    _ensure_demo_config()
    config, store, catalog = station(args.db)
    say = (lambda s: None) if args.json else print
    try:
        summary = run_demo(
            store,
            catalog,
            config,
            args.assemblies,
            args.product,
            args.scenario,
            say,
            out_dir=Path(args.out) if args.out else None,
        )
    finally:
        store.close()
    if summary.qualification:  # the station had to be qualified before it could inspect
        print(f"qa-station demo: {summary.qualification}", file=sys.stderr)
    if args.json:
        json.dump(summary.to_dict(), sys.stdout)
        sys.stdout.write("\n")
    else:
        d = summary.to_dict()
        print(
            f"{d['assemblies']} assemblies: {d['accepted']} accepted, {d['rejected']} rejected; "
            f"{d['inspections']} inspections, {d['cleanings']} cleanings "
            f"(the demo's own record: qa-station --demo history {summary.serials[-1]})"
        )
    return 0


def _ensure_demo_config() -> None:
    """The demo home's station config: station id "demo", so its events and its
    self-signed key say so."""
    path = station_paths().config_file
    if not path.exists():
        ensure_dir(path.parent)
        write_whole(path, b'[station]\nid = "demo"\n', 0o644)
