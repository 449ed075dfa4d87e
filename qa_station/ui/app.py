"""``qa-station`` with no command: the bench GUI on the configured bench and store."""

from __future__ import annotations

import sys

from PySide6 import QtGui, QtWidgets

from qa_station.controller import StationController
from qa_station.ui.main_window import MainWindow
from qa_station.ui.wedge import WedgeScanner


def make_app(argv: list[str] | None = None) -> QtWidgets.QApplication:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(argv or sys.argv[:1])
    app.setApplicationName("qa-station")
    app.setStyle("Fusion")
    pal = app.palette()
    pal.setColor(QtGui.QPalette.ColorRole.Highlight, QtGui.QColor("#2e86c1"))
    app.setPalette(pal)
    if not hasattr(app, "wedge"):
        app.wedge = WedgeScanner(app)
        app.installEventFilter(app.wedge)
    return app


def cannot_start(exc: Exception) -> int:
    """The station cannot start (store down, probe missing, bad config): say why, twice, in
    a window for the operator and on stderr for whoever reads the logs; exit status 2."""
    print(f"qa-station cannot start: {exc}", file=sys.stderr)
    QtWidgets.QMessageBox.critical(None, "qa-station cannot start", str(exc))
    return 2


def run(db_url: str | None = None, probe: str | None = None, fixture: str | None = None) -> int:
    app = make_app()
    try:
        controller = StationController.open(db_url=db_url, probe=probe, fixture=fixture)
    except Exception as exc:
        return cannot_start(exc)
    window = MainWindow(controller)
    show_on_screen(window)
    try:
        if not window.sign_in():
            window.close()
            return 0
        return app.exec()
    finally:
        window.close()
        controller.close()


def run_auditor(db_url: str | None = None) -> int:
    """The auditor's window (``qa-station --auditor``): the record read-only, no bench."""
    from qa_station.ui.auditor_window import run

    return run(db_url=db_url)


def show_on_screen(window: QtWidgets.QWidget) -> None:
    """Open on the screen's available area (a laptop's too), maximised where the window
    manager allows: never larger than the screen, never a fixed size."""
    screen = window.screen() or QtWidgets.QApplication.primaryScreen()
    if screen is not None:
        window.setGeometry(screen.availableGeometry())
    window.showMaximized()
