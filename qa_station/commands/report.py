"""``qa-station report rejection SERIAL`` and ``qa-station report lot``: PDF reports for auditors."""

from __future__ import annotations

import argparse

from qa_station.certificates import CertificateError, issue_rejection_report
from qa_station.commands.common import (
    CommandError,
    db_option,
    fails_as,
    station,
    write_assembly_document,
)
from qa_station.exports import DateError, parse_when
from qa_station.lots import write_lot_report
from qa_station.store import StoreError

OUTPUT_HELP = "a folder (default: the current one) or a file name ending in .pdf"


def add_arguments(p: argparse.ArgumentParser) -> None:
    rsub = p.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    r = rsub.add_parser(
        "rejection",
        help="why a rejected assembly was rejected, with the pictures",
        description="Write the rejection report of a rejected assembly. Exit 0 when written, 1 "
        "when the assembly is not rejected, 2 on any other problem.",
    )
    r.add_argument("serial")
    r.add_argument("-o", "--output", metavar="PATH", help=OUTPUT_HELP)
    db_option(r)
    r.set_defaults(func=run_rejection)
    lot = rsub.add_parser(
        "lot",
        help="yield, failures by cause and fibre position, cleanings, escalations of a period",
        description="Write the lot report of the assemblies registered in a period. Dates: "
        "YYYY-MM-DD (whole UTC days; --until includes its day) or ISO 8601 date-times (UTC "
        "unless a zone is given). Exit 2 on a date that cannot be read.",
    )
    lot.add_argument("--since", metavar="DATE", help="from this date (default: the first record)")
    lot.add_argument("--until", metavar="DATE", help="up to this date (default: now)")
    lot.add_argument("--product", metavar="ID", help="only this catalog product")
    lot.add_argument("-o", "--output", metavar="PATH", help=OUTPUT_HELP)
    db_option(lot)
    lot.set_defaults(func=run_lot)


def run_rejection(args: argparse.Namespace) -> int:
    return write_assembly_document("report rejection", args, issue_rejection_report)


@fails_as("report lot", DateError, CertificateError, StoreError, ValueError)
def run_lot(args: argparse.Namespace) -> int:
    since = parse_when(args.since) if args.since else None
    until = parse_when(args.until, upper=True) if args.until else None
    if since is not None and until is not None and until <= since:
        raise CommandError("--until must be after --since")
    _, store, catalog = station(args.db)
    try:
        if args.product:
            catalog.get(args.product)
        path = write_lot_report(store, args.output, since, until, args.product)
    finally:
        store.close()
    print(path)
    return 0
