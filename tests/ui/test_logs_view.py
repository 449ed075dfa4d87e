"""The window's side of the log: a worker's fault leaves its traceback, diagnostics from the menu."""

from __future__ import annotations

import zipfile

from qa_station import logs
from qa_station.ui.workers import Runner
from tests.qa_station.test_logs import DB_PASSWORD, log_text, secret_station


def test_a_worker_s_unforeseen_fault_goes_to_the_log_with_its_traceback(qtbot, app):
    logs.configure()
    runner = Runner()
    failed = []

    def a_broken_task(report):
        return {}["no such key"]

    runner.start(a_broken_task, failed=failed.append, label="reading something")
    qtbot.waitUntil(lambda: bool(failed), timeout=5000)
    text = log_text()
    assert "reading something: unforeseen fault" in text
    assert "Traceback (most recent call last)" in text and "in a_broken_task" in text


def test_save_diagnostics_from_the_station_menu(qtbot, window, tmp_path):
    secret_station()
    w = window
    titles = [a.text() for m in w.menuBar().actions() for a in m.menu().actions()]
    assert "Save diagnostics..." in titles
    out = tmp_path / "support.zip"
    w.save_diagnostics(out)
    qtbot.waitUntil(lambda: out.exists() and not w.runner.busy, timeout=10000)
    assert f"diagnostics saved to {out}" in w.statusBar().currentMessage()
    with zipfile.ZipFile(out) as z:
        assert "logs/qa-station.log" in z.namelist() and "config/station.toml" in z.namelist()
        assert DB_PASSWORD not in b"".join(z.read(n) for n in z.namelist()).decode()
