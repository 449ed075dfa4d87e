"""``qa-station``: the command line. Each command lives in ``qa_station/commands/``."""

from __future__ import annotations

import argparse
import sys

from qa_station import __version__
from qa_station.commands import audit as audit_cmd
from qa_station.commands import certificate as certificate_cmd
from qa_station.commands import demo as demo_cmd
from qa_station.commands import export as export_cmd
from qa_station.commands import fixture_emulator as fixture_emulator_cmd
from qa_station.commands import grade as grade_cmd
from qa_station.commands import history as history_cmd
from qa_station.commands import qualify as qualify_cmd
from qa_station.commands import regrade as regrade_cmd
from qa_station.commands import report as report_cmd
from qa_station.commands import scan as scan_cmd
from qa_station.commands import start as start_cmd
from qa_station.commands import user as user_cmd
from qa_station.commands import verify as verify_cmd

COMMANDS = [
    grade_cmd,
    scan_cmd,
    demo_cmd,
    history_cmd,
    audit_cmd,
    user_cmd,
    fixture_emulator_cmd,
    certificate_cmd,
    verify_cmd,
    report_cmd,
    export_cmd,
    qualify_cmd,
    regrade_cmd,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa-station",
        description="MPO / single-fibre end-face inspection bench. "
        "With no command: start the station.",
    )
    parser.add_argument("--version", action="version", version=f"qa-station {__version__}")
    start_cmd.add_arguments(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(args_list)
    if args.command is None:
        return start_cmd.run(args)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
