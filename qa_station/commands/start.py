"""``qa-station`` with no command: the bench window, on the configured bench and store.

A fresh station opens on the simulated bench with the SQLite store in its data
folder; ``--db``, ``--probe`` and ``--fixture`` pick others for this run
without touching the config. Qt is imported only here, when the window is
wanted, so every other command runs on a machine without a display.
"""

from __future__ import annotations

import argparse
import os
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("the bench window (no command)")
    group.add_argument("--db", metavar="URL", help="store URL for this run (default: the config's)")
    group.add_argument("--probe", metavar="SOURCE", help="simulated, uvc:INDEX|PATH or replay:PATH")
    group.add_argument("--fixture", metavar="SOURCE", help="simulated, emulator or serial:PORT")


def no_display() -> str | None:
    """Why a window cannot open here, before Qt aborts the process trying."""
    if os.environ.get("QT_QPA_PLATFORM") or sys.platform in ("win32", "darwin"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        "no display to open the bench window on (DISPLAY and WAYLAND_DISPLAY are unset): "
        "start it from a desktop session, under xvfb-run, or with QT_QPA_PLATFORM=offscreen; "
        "every other command (qa-station --help) works without one"
    )


def run(args: argparse.Namespace) -> int:
    problem = no_display()
    if problem:
        print(f"qa-station: {problem}", file=sys.stderr)
        return 2
    from qa_station.ui.app import run as run_window

    return run_window(db_url=args.db, probe=args.probe, fixture=args.fixture)
