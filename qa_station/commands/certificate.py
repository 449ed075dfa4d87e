"""``qa-station certificate SERIAL [-o PATH]``: (re)issue the signed certificate of an accepted assembly."""

from __future__ import annotations

import argparse

from qa_station.certificates import issue
from qa_station.commands.common import write_assembly_document


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], summary: str) -> None:
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
    return write_assembly_document("certificate", args, issue)
