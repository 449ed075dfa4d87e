"""The engine packages run headless: importing them pulls in no Qt and no application."""

from __future__ import annotations

import subprocess
import sys


def test_engine_packages_import_without_qt_or_the_application():
    code = (
        "import sys, grading, hardware, reports, grading.grade, hardware.optics.render\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'qa_station')]\n"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_station_core_imports_without_qt():
    """Every qa_station module outside qa_station.ui loads on a machine without a display."""
    code = (
        "import importlib, pkgutil, sys, qa_station\n"
        "skip = ('qa_station.ui', 'qa_station.__main__')\n"
        "names = [m.name for m in pkgutil.walk_packages(qa_station.__path__, 'qa_station.')\n"
        "         if not m.name.startswith(skip) and '.migrations' not in m.name]\n"
        "for n in names: importlib.import_module(n)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')\n"
        "       or m.startswith('qa_station.ui.')]\n"
        "print(len(names), bad); sys.exit(1 if bad or len(names) < 20 else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_layer_contracts_list_every_core_module():
    """A new core module must be in the import-linter contract, or it escapes the check."""
    import pkgutil
    import tomllib
    from pathlib import Path

    import qa_station

    root = Path(__file__).resolve().parents[1]
    contracts = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["importlinter"]
    (core,) = [c for c in contracts["contracts"] if c["name"].startswith("The station core")]
    listed = set(core["source_modules"])
    top = {m.name for m in pkgutil.iter_modules(qa_station.__path__, "qa_station.")}
    missing = top - listed - {"qa_station.ui", "qa_station.cli", "qa_station.__main__"}
    assert not missing, f"add {sorted(missing)} to the contract in pyproject.toml"
