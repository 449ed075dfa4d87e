"""The reports package draws, signs and exports without the application and without Qt."""

from __future__ import annotations

from tests.processes import imports_load_none_of


def test_reports_modules_import_neither_qt_nor_the_application():
    imports_load_none_of(
        "import reports.certificate, reports.rejection, reports.lot, reports.export\n"
        "import reports.signing, reports.overlay, reports.model",
        ("PySide6", "pyqtgraph", "shiboken6", "qa_station"),
    )
