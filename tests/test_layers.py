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
