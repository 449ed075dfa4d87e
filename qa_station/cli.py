"""``qa-station``: the command line. Each command lives in ``qa_station/commands/``.

A command's module (and what it imports: SQLAlchemy, Alembic, OpenCV, the
PDF code) is imported only when that command runs: ``qa-station --help``
lists the commands from the table below without importing any of them.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from types import ModuleType

from qa_station import __version__
from qa_station.commands import start as start_cmd

# name: the one-line summary --help lists; the module is qa_station/commands/<name, - as _>.py
COMMANDS = {
    "grade": "grade end-face images against an IEC 61300-3-35 rule set",
    "scan": "scan and grade every fibre of one end (a bench check; nothing is recorded)",
    "demo": "run simulated assemblies through inspect-clean-inspect-connect, headless",
    "history": "every event of one assembly serial, in order",
    "audit": "auditor tools",
    "user": "station accounts (operators, supervisors, auditors, admins)",
    "fixture-emulator": "serve the fixture's serial protocol on a pseudo-terminal (prints the port)",
    "certificate": "issue (or reissue) the signed acceptance certificate of an accepted assembly",
    "verify": "check a certificate: signature, unchanged since signing, and the station's record",
    "report": "PDF reports: rejection of an assembly, lot / work order",
    "export": "export inspections and events of a period as CSV or JSON (for an MES)",
    "images": "the image store: signed archives and retention",
    "diagnostics": "zip the station's logs and config, without passwords or keys, for a support ticket",
    "store": "the floor database: schema upgrade, roles' grants, frames moved in",
    "qualify": "qualify the station: reference faces, repeatability studies, status",
    "regrade": "grade past inspections' frames under another rule table (a what-if report)",
}
# Run by a customer or an auditor on their own machine: nothing is written where they run it,
# not even the station's log.
AWAY_FROM_THE_STATION = frozenset({"verify"})
ENV_DEBUG = "QA_STATION_DEBUG"  # set: an unforeseen fault shows its traceback
ALL = object()  # build_parser(ALL): every command's own arguments (imports every command)
OPTIONS_WITH_VALUES = ("--db", "--probe", "--fixture")


def build_parser(only: object = ALL) -> argparse.ArgumentParser:
    """The parser; ``only`` names the one command whose module is imported (or ``ALL``).

    The other commands are listed by name and summary alone, so ``--help`` and an
    unknown command cost no imports.
    """
    parser = argparse.ArgumentParser(
        prog="qa-station",
        description="MPO / single-fibre end-face inspection bench. "
        "With no command: start the station.",
    )
    parser.add_argument("--version", action="version", version=f"qa-station {__version__}")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="work in the demo's own record (what qa-station demo made), not the station's: "
        "e.g. qa-station --demo history SERIAL",
    )
    parser.add_argument(
        "--auditor",
        action="store_true",
        help="an auditor's station: open the floor record read-only (History, Statistics, "
        "verify, certificates, reports), with no probe or fixture, recording nothing",
    )
    start_cmd.add_arguments(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in COMMANDS.items():
        if only is ALL or only == name:
            module = importlib.import_module(f"qa_station.commands.{name.replace('-', '_')}")
            add_command(sub, name, summary, module)
        else:
            sub.add_parser(name, help=summary, add_help=False)
    return parser


def add_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    command: ModuleType,
) -> None:
    """One command's sub-parser, made here the same way for every command.

    From the command's module: ``DESCRIPTION`` (if any) heads its ``--help``, shown as
    written when it is the module's docstring, else wrapped; ``add_arguments(parser)`` adds
    its own arguments (and sub-commands); ``run(args)``, if it has one, is what it runs (a
    command with sub-commands sets each one's own).
    """
    description = getattr(command, "DESCRIPTION", None)
    as_written = description is not None and description is command.__doc__
    parser = sub.add_parser(
        name,
        help=summary,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter
        if as_written
        else argparse.HelpFormatter,
    )
    command.add_arguments(parser)
    if hasattr(command, "run"):
        parser.set_defaults(func=command.run)


def command_in(args: list[str]) -> str | None:
    """The command named on the line, if any (the first word that is not an option)."""
    skip = False
    for token in args:
        if skip:
            skip = False
            continue
        if token in OPTIONS_WITH_VALUES:
            skip = True
            continue
        if token == "--":
            return None
        if token.startswith("-"):
            continue
        return token if token in COMMANDS else None
    return None


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    parser = build_parser(command_in(args_list))
    args = parser.parse_args(args_list)
    from qa_station.paths import demo_home

    demo = args.demo or args.command == "demo"
    if args.auditor:  # read by load_config, here and in whatever this run starts
        from qa_station.config import ENV_ROLE

        os.environ[ENV_ROLE] = "auditor"
    with demo_home() if demo else contextlib.nullcontext():
        log = logging.getLogger("qa_station.cli")
        if args.command not in AWAY_FROM_THE_STATION:
            from qa_station import logs

            logs.configure()  # the file is made at its first record: a refused usage, none
        if args.command is None:
            return start_cmd.run(args)
        try:
            return int(args.func(args))
        except KeyboardInterrupt:
            print("qa-station: interrupted", file=sys.stderr)
            return 130
        except Exception as exc:  # a fault not foreseen: one line, never a traceback
            log.error("qa-station %s: unforeseen fault", args.command, exc_info=exc)
            if os.environ.get(ENV_DEBUG):
                raise
            from qa_station.text import shown

            print(
                f"qa-station {args.command}: error: {type(exc).__name__}: "
                f"{shown(exc, 200)} (set {ENV_DEBUG}=1 to see where)",
                file=sys.stderr,
            )
            return 2


if __name__ == "__main__":
    raise SystemExit(main())
