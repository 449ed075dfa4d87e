"""Screenshots of the real bench window for the README, taken from the X server's screen.

    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python docs/screenshots.py --size 1366x768
    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python docs/screenshots.py --size 1920x1080 --tabs

It fills a throwaway station home with a shift of simulated assemblies (the
demo line), opens the window as ``qa-station`` does (on the screen's available
area), drives it with keys and a wedge scanner's bursts as an operator would,
and grabs the X screen itself (not a widget render), so what is saved is what
a monitor of that size shows: ``bench-<size>.png`` (a failed inspection, its
refusal and the next step), ``overview-<size>.png`` (the whole ferrule with its
numbered verdict rings) and, with ``--tabs``, the History, Statistics and
Settings pages (and Settings' Qualification page).
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
    parser.add_argument("--size", default="1920x1080", help="the X screen's size, WxH")
    parser.add_argument("--tabs", action="store_true", help="also the other pages")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        print(
            "screenshots: run under xvfb-run (or on a desktop): DISPLAY is unset", file=sys.stderr
        )
        return 2
    os.environ["QA_STATION_HOME"] = tempfile.mkdtemp(prefix="qa-screens-")
    from PySide6 import QtCore, QtWidgets
    from PySide6.QtTest import QTest

    from qa_station.controller import StationController
    from qa_station.demo import run_demo
    from qa_station.ui.app import make_app, show_on_screen
    from qa_station.ui.main_window import MainWindow

    app = make_app()
    screen = app.primaryScreen().geometry()
    if f"{screen.width()}x{screen.height()}" != args.size:
        print(f"screenshots: the screen is {screen.width()}x{screen.height()}, not {args.size}")
        return 2
    c = StationController.open()
    admin = c.create_first_admin("ada", "screens admin password", "Ada Admin")
    c.accounts.add("olga", "operator", admin, "Olga Operator", "screens operator password")
    c.accounts.add("sam", "supervisor", admin, "Sam Supervisor", "screens supervisor password")
    sam = c.accounts.sign_in("sam", "screens supervisor password")
    c.login("olga", "screens operator password")
    run_demo(c.store, c.catalog, c.config, assemblies=args.assemblies, people=(c.actor, sam))
    w = MainWindow(c)
    show_on_screen(w)
    args.out.mkdir(parents=True, exist_ok=True)

    def pump(seconds: float, until=None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
            if until is not None and until():
                return

    def idle() -> None:
        pump(0.3)
        pump(120, lambda: not w.runner.busy and not app.wedge.holding)
        pump(0.5)

    def keys(text: str, ms: int = 8) -> None:
        """A wedge scanner's burst (Shift around capitals) and Enter, to the focus."""
        target = QtWidgets.QApplication.focusWidget() or w
        for ch in text:
            shift = QtCore.Qt.KeyboardModifier.ShiftModifier if ch.isupper() else 0
            QTest.keyClick(target, ch, QtCore.Qt.KeyboardModifier(shift))
            QTest.qWait(ms)
        QTest.keyClick(target, QtCore.Qt.Key.Key_Return)

    def press(key: QtCore.Qt.Key) -> None:
        QTest.keyClick(QtWidgets.QApplication.focusWidget() or w, key)
        idle()

    def shot(name: str) -> None:
        pump(0.6)
        image = app.primaryScreen().grabWindow(0)  # the whole screen, as a monitor shows it
        path = args.out / f"{name}.png"
        image.save(str(path))
        print(path)

    try:
        pump(1.0)
        w.activateWindow()
        w.raise_()
        pump(5, w.isActiveWindow)
        w.focus_bench()
        pump(5, lambda: QtWidgets.QApplication.focusWidget() is w.view)
        keys("T12B-000003")
        idle()
        press(QtCore.Qt.Key.Key_I)  # inspect end A: it fails
        press(QtCore.Qt.Key.Key_N)  # connect is refused, in red
        failing = [f.index for f in c.session.scans["A"].result().fibers if f.verdict == "fail"]
        w.show_fibre(failing[1] if len(failing) > 1 else failing[0])
        idle()
        shot(f"bench-{args.size}")
        w.show_fibre(None)  # the whole ferrule: numbered rings in each fibre's state
        idle()
        pump(30, lambda: len(w.view.marks) > 0)
        shot(f"overview-{args.size}")
        if args.tabs:
            w.show_page("history")
            idle()
            w.history.results.selectRow(1)
            idle()
            shot("history")
            w.show_page("stats")
            idle()
            pump(2.0)
            shot("statistics")
            w.show_page("settings")
            idle()
            shot("settings")
            settings = w.page("settings")
            settings.tabs.setCurrentWidget(settings.qualification)  # the station's own evidence
            idle()
            shot("settings-qualification")
    finally:
        w.close()
        c.close()
        QtWidgets.QApplication.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
