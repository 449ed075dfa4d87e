"""``qa-station certificate SERIAL [-o PATH]``: (re)issue the signed certificate of an accepted assembly."""

from __future__ import annotations

import argparse
import sys

from qa_station.certificates import CertificateError, NotAccepted, issue
from qa_station.commands.common import MESSAGE_MAX, CommandError, fail, serial_arg, station
from qa_station.store import StoreError
from qa_station.text import shown


def add_parser(sub: argparse._SubParsersAction, summary: str) -> None:
    p = sub.add_parser(
        "certificate",
        help=summary,
        description="Write the signed PDF acceptance certificate of an accepted assembly and "
        "record its issue. Exit 0 when written, 1 when the assembly is not accepted (open or "
        "rejected: no certificate), 2 on any other problem.",
    )
    p.add_argument("serial")
    p.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="a folder (default: the current one; the file is named SERIAL-CERTIFICATE_ID.pdf) "
        "or a file name ending in .pdf",
    )
    p.add_argument("--db", metavar="URL", help="store URL (default: the station's)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        wanted = serial_arg(args.serial)
        config, store, _ = station(args.db)
    except CommandError as exc:
        return fail("certificate", str(exc))
    try:
        path = issue(store, wanted, args.output, config)
    except NotAccepted as exc:
        print(f"qa-station certificate: {shown(str(exc), MESSAGE_MAX)}", file=sys.stderr)
        return 1
    except (CertificateError, StoreError) as exc:
        return fail("certificate", str(exc))
    finally:
        store.close()
    print(path)
    return 0
