"""``qa-station diagnostics [-o FILE]``: zip the logs and config, without secrets, for support."""

from __future__ import annotations

import argparse
from pathlib import Path

from qa_station.commands.common import fail
from qa_station.diagnostics import DiagnosticsError, save_diagnostics


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        type=Path,
        help="the zip to write, or a folder for it (default: <data>/diagnostics/)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        path = save_diagnostics(args.output)
    except DiagnosticsError as exc:
        return fail("diagnostics", str(exc))
    print(path)
    return 0
