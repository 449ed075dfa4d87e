"""The reports package draws, signs and exports without the application and without Qt."""

from __future__ import annotations

import subprocess
import sys


def test_reports_modules_import_neither_qt_nor_the_application():
    code = (
        "import sys\n"
        "import reports.certificate, reports.rejection, reports.lot, reports.export\n"
        "import reports.signing, reports.overlay, reports.model\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6', 'qa_station')]\n"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
