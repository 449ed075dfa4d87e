"""The auditor's station in a window: the record a bench wrote, read-only, with its frames
drawn as graded, the whole record verified, and nothing to record with."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from qa_station.auditor import AuditorStation
from qa_station.store import StoreError
from tests.ui.conftest import settle
from tests.ui.test_history_view import inspected, pick


def test_an_auditor_reads_searches_draws_and_verifies_what_a_bench_recorded(qtbot, app, window):
    from qa_station.ui.auditor_window import AuditorWindow

    inspected(qtbot, window)  # a bench records a failing inspection and a refusal
    station = AuditorStation.open(db_url=window.c.store.url)
    try:
        w = AuditorWindow(station)
        qtbot.addWidget(w)
        w.resize(1400, 900)
        w.show()
        qtbot.waitExposed(w)
        assert "read-only" in w.windowTitle() and "Nothing is recorded" in w.banner.text()
        assert [w.tabs.tabText(i) for i in range(w.tabs.count())] == [
            "History",
            "Statistics",
            "Certificates and reports",
        ]
        h = w.history
        assert not h.cert_btn.isVisible()  # certificates are issued at a bench
        assert not h.regrade_btn.isVisible()  # a re-grade is recorded: a bench does it
        h.search()
        settle(qtbot, w)
        assert h.results.item(0, 0).text() == "T12B-000003"
        h.results.selectRow(0)
        settle(qtbot, w)
        end_a = h.ends.topLevelItem(0)
        h._open_inspection(end_a.child(0), 0)
        dlg = next(
            x
            for x in QtWidgets.QApplication.topLevelWidgets()
            if x.isVisible() and x.windowTitle().startswith("Inspection of")
        )
        insp = end_a.child(0).data(0, QtCore.Qt.ItemDataRole.UserRole)
        failing = next(f for f in insp.result.fibers if f.verdict == "fail")
        pick(qtbot, dlg, failing.index - 1)
        assert len(dlg.view.overlay_centres()) == 1  # the frame, drawn as graded
        assert failing.failures[0] in dlg.details.text()
        dlg.close()
        w.audit()
        settle(qtbot, w)
        assert w.output.toPlainText().startswith("intact:")
        with_events = station.counts()["events"]
        try:
            station.gate.record_refusal("T12B-000003", "A", window.c.session, "connect", "x")
        except StoreError as exc:
            assert "auditor's station" in str(exc)
        else:
            raise AssertionError("an auditor's station recorded a refusal")
        assert station.counts()["events"] == with_events
    finally:
        station.close()
