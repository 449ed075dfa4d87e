"""``qa-station scan``: the technician's bench check of one end. Nothing is recorded.

Autofocus, every fibre of the end, each graded against the rule set the
product names; the result is the grade JSON object with the fixture's fibre
numbers. Exit status as for ``grade``: 0 pass, 1 fail, 2 could not judge or
bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys

from hardware.probes.base import ProbeError
from hardware.simulated.assembly import SCENARIOS
from hardware.stages.base import FixtureError
from qa_station.bench import open_bench
from qa_station.catalog import CatalogError, load_catalog
from qa_station.commands.grade import exit_status, format_result
from qa_station.config import ConfigError, load_config
from qa_station.paths import station_paths
from qa_station.scan import ScanError, ScanProgress, scan_end

DESCRIPTION = __doc__


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--serial", required=True, help="the assembly's serial (or 'PART SERIAL')")
    p.add_argument("--end", required=True, help="which end (A, B, MPO, LC3...)")
    p.add_argument(
        "--probe", help="simulated, uvc:INDEX|PATH or replay:PATH (default: station config)"
    )
    p.add_argument("--fixture", help="simulated, emulator or serial:PORT (default: station config)")
    p.add_argument(
        "--scenario",
        choices=SCENARIOS,
        help="simulated bench only: how dirty the virtual assembly is (default: from the serial)",
    )
    p.add_argument("--json", action="store_true", help="print the end face's result as JSON")


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config()
        identified = load_catalog(station_paths().products_file).identify(args.serial)
        end = identified.product.end(args.end)
    except (ConfigError, CatalogError) as exc:
        print(f"qa-station scan: error: {exc}", file=sys.stderr)
        return 2
    try:
        bench = open_bench(config, args.probe, args.fixture)
    except (ConfigError, ProbeError, FixtureError, OSError) as exc:
        print(f"qa-station scan: error: cannot open the bench: {exc}", file=sys.stderr)
        return 2
    try:
        bench.load(identified, args.scenario)

        def report(p: ScanProgress) -> None:
            if not args.json:
                print(f"  [{p.done}/{p.total}] end {p.end}: {p.message}", file=sys.stderr)

        cal = bench.calibration(end)
        scan = scan_end(
            bench.probe, bench.fixture, end, cal.min_focus_score, cal.scale, progress=report
        )
    except ConfigError as exc:
        print(f"qa-station scan: error: {exc}", file=sys.stderr)
        return 2
    except ScanError as exc:
        print(f"qa-station scan: {exc}", file=sys.stderr)
        return 2
    finally:
        bench.close()
    result = scan.result()
    doc = result.to_dict()
    doc["image"] = f"{identified.serial} end {end.label}"
    doc["serial"] = identified.serial
    doc["product"] = identified.product.id
    if args.json:
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        from grading.results import EndFaceResult

        sys.stdout.write(format_result(EndFaceResult.from_dict(doc)))
    return exit_status([result])
