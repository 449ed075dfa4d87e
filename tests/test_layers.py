"""The engine packages run headless: importing them pulls in no Qt and no application."""

from __future__ import annotations

import subprocess
import sys

from tests.processes import imports_load_none_of, python_child_succeeds


def test_engine_packages_import_without_qt_or_the_application():
    imports_load_none_of(
        "import grading, hardware, reports, grading.grade, hardware.optics.render",
        ("PySide6", "pyqtgraph", "qa_station"),
    )


def test_the_station_core_imports_without_qt():
    """Every qa_station module outside qa_station.ui loads on a machine without a display."""
    python_child_succeeds(
        "import importlib, pkgutil, sys, qa_station\n"
        "skip = ('qa_station.ui', 'qa_station.__main__')\n"
        "names = [m.name for m in pkgutil.walk_packages(qa_station.__path__, 'qa_station.')\n"
        "         if not m.name.startswith(skip) and '.migrations' not in m.name]\n"
        "for n in names: importlib.import_module(n)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')\n"
        "       or m.startswith('qa_station.ui.')]\n"
        "print(len(names), bad); sys.exit(1 if bad or len(names) < 20 else 0)"
    )


def test_a_new_core_module_that_reaches_the_window_breaks_the_contract(tmp_path):
    """The contract names no module by hand: a module added tomorrow is checked too."""
    import os
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for package in ("grading", "hardware", "reports", "qa_station"):
        shutil.copytree(
            root / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.png", "*.jpg", "*.toml", "*.mako"),
        )
    shutil.copy(root / "pyproject.toml", tmp_path / "pyproject.toml")
    lint = [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"]
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(
            lint, cwd=tmp_path, env=env, capture_output=True, text=True, check=False
        )

    kept = run()
    assert kept.returncode == 0, kept.stdout + kept.stderr
    (tmp_path / "qa_station" / "brand_new.py").write_text("from qa_station.ui import theme\n")
    broken = run()
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "qa_station.brand_new -> qa_station.ui.theme" in broken.stdout
    assert "The station core runs headless: it never reaches the window BROKEN" in broken.stdout
