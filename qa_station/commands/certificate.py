"""``qa-station certificate SERIAL [-o PATH]``: (re)issue the signed certificate of an accepted assembly."""

from __future__ import annotations

import argparse

from qa_station.certificates import issue
from qa_station.commands.common import db_option, write_assembly_document

DESCRIPTION = (
    "Write the signed PDF acceptance certificate of an accepted assembly and "
    "record its issue. Exit 0 when written, 1 when the assembly is not accepted (open or "
    "rejected: no certificate), 2 on any other problem."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("serial")
    p.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="a folder (default: the current one; the file is named SERIAL-CERTIFICATE_ID.pdf) "
        "or a file name ending in .pdf",
    )
    db_option(p)


def run(args: argparse.Namespace) -> int:
    return write_assembly_document("certificate", args, issue)
