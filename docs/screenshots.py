"""Screenshots of the real bench window for the README, taken from the X server's screen.

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python docs/screenshots.py [--out docs/images]

It fills a throwaway station home with a shift of simulated assemblies (the
demo line), then drives the window as an operator would and grabs the X
screen itself (not a widget render), so what is saved is what a monitor shows.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "images")
    parser.add_argument("--assemblies", type=int, default=16)
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        print(
            "screenshots: run under xvfb-run (or on a desktop): DISPLAY is unset", file=sys.stderr
        )
        return 2
    os.environ["QA_STATION_HOME"] = tempfile.mkdtemp(prefix="qa-screens-")
    from PySide6 import QtCore, QtWidgets

    from qa_station.controller import StationController
    from qa_station.demo import run_demo
    from qa_station.ui.app import make_app
    from qa_station.ui.main_window import MainWindow

    app = make_app()
    c = StationController.open()
    admin = c.create_first_admin("ada", "screens admin password", "Ada Admin")
    c.accounts.add("olga", "operator", admin, "Olga Operator", "screens operator password")
    c.accounts.add("sam", "supervisor", admin, "Sam Supervisor", "screens supervisor password")
    sam = c.accounts.sign_in("sam", "screens supervisor password")
    c.login("olga", "screens operator password")
    run_demo(c.store, c.catalog, c.config, assemblies=args.assemblies, people=(c.actor, sam))
    w = MainWindow(c)
    app.wedge.scanned.connect(w.scanned)
    w.move(0, 0)
    w.resize(1600, 1000)
    w.show()
    args.out.mkdir(parents=True, exist_ok=True)

    def pump(seconds: float, until=None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
            if until is not None and until():
                return

    def idle() -> None:
        pump(0.3)
        pump(120, lambda: not w.runner.busy)
        pump(0.5)

    def shot(name: str) -> None:
        pump(0.4)
        geo = w.frameGeometry()
        image = app.primaryScreen().grabWindow(0, geo.x(), geo.y(), geo.width(), geo.height())
        image.save(str(args.out / f"{name}.png"))
        print(args.out / f"{name}.png")

    try:
        w.open_serial("T12B-000003")
        idle()
        w.inspect("A")
        idle()
        failing = [f.index for f in c.session.scans["A"].result().fibers if f.verdict == "fail"]
        w.show_fibre(failing[1] if len(failing) > 1 else failing[0])
        idle()
        shot("bench")
        w.tabs.setCurrentWidget(w.history)
        idle()
        w.history.results.selectRow(1)
        idle()
        shot("history")
        w.tabs.setCurrentWidget(w.stats)
        idle()
        pump(2.0)
        shot("statistics")
        w.tabs.setCurrentWidget(w.settings)
        idle()
        shot("settings")
    finally:
        w.close()
        c.close()
        QtWidgets.QApplication.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
