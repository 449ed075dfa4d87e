"""``qa-station`` with no command: the bench window, on the configured bench and store.

A fresh station opens on the simulated bench with the SQLite store in its data
folder; ``--db``, ``--probe`` and ``--fixture`` pick others for this run
without touching the config. Qt is imported only here, when the window is
wanted, so every other command runs on a machine without a display.

Before Qt is imported, the platform plugin it will load is loaded once by hand:
when a system library it needs is missing, Qt would abort the process with a
message that names the wrong package; the station says which library is
missing and prints the Debian/Ubuntu package line that provides them all.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import os
import sys
from pathlib import Path

# What Qt's xcb platform plugin needs beyond a bare Debian/Ubuntu (the README has it too).
QT_SYSTEM_PACKAGES = (
    "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 "
    "libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xkb1 libxkbcommon-x11-0 "
    "libxkbcommon0 libx11-xcb1 libegl1 libgl1 libfontconfig1 libdbus-1-3 libglib2.0-0"
)


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


def qt_platform() -> str:
    """The platform plugin Qt will load here (its own rule: the variable, else the session)."""
    chosen = os.environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen:
        return chosen
    if os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY"):
        return "wayland"
    return "xcb"


def qt_plugin_dirs() -> list[Path]:
    """Where Qt looks for platform plugins: the variable's folders, then PySide6's own."""

    def listed(name: str) -> list[str]:
        return [d for d in os.environ.get(name, "").split(os.pathsep) if d.strip()]

    dirs = [Path(d) for d in listed("QT_QPA_PLATFORM_PLUGIN_PATH")]
    dirs += [Path(d) / "platforms" for d in listed("QT_PLUGIN_PATH")]
    spec = importlib.util.find_spec("PySide6")
    if spec is not None and spec.origin:
        dirs.append(Path(spec.origin).parent / "Qt" / "plugins" / "platforms")
    return dirs


def qt_platform_problem() -> str | None:
    """Why Qt's platform plugin will not load here, or None (Linux only: elsewhere Qt
    ships what it needs)."""
    if not sys.platform.startswith("linux"):
        return None
    name = qt_platform()
    found = [d / f"libq{name}.so" for d in qt_plugin_dirs() if (d / f"libq{name}.so").is_file()]
    if not found:
        where = ", ".join(str(d) for d in qt_plugin_dirs()) or "nowhere"
        return f'the Qt platform plugin "{name}" is not installed (looked in {where})'
    errors = []
    for plugin in found:
        try:
            ctypes.CDLL(str(plugin), mode=os.RTLD_LAZY | os.RTLD_LOCAL)
        except OSError as exc:
            errors.append(str(exc))
        else:
            return None
    return f'the Qt platform plugin "{name}" cannot load: {errors[0]}'


def run(args: argparse.Namespace) -> int:
    problem = no_display()
    if problem:
        print(f"qa-station: {problem}", file=sys.stderr)
        return 2
    problem = qt_platform_problem()
    if problem:
        print(
            f"qa-station: {problem}.\nOn Debian or Ubuntu the system libraries the window needs "
            f"are installed with:\n  {QT_SYSTEM_PACKAGES}",
            file=sys.stderr,
        )
        return 2
    from qa_station.ui.app import run as run_window

    return run_window(db_url=args.db, probe=args.probe, fixture=args.fixture)
