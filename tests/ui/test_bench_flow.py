"""What a technician notices at the bench: where keys go, the next step, previews, stale
choices, the supervisor's first choice, progress, pictures, and the small things."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6 import QtCore, QtWidgets
from sqlalchemy import event

from qa_station import bench_view as bv
from tests.ui.conftest import OPERATOR, SUPERVISOR, press, put_focus, settle, supervisor_signs
from tests.ui.keys import scanner

pytestmark = pytest.mark.slow  # a file of tens of seconds: a parallel run starts it first

DUSTY_TRUNK = "T12B-000003"  # fails its first inspection on the simulated line
K = QtCore.Qt.Key


def open_by_scan(qtbot, w, serial: str = DUSTY_TRUNK) -> None:
    put_focus(qtbot, w.view)
    qtbot.wait(350)  # the operator picks up the scanner (a key just before is not its code)
    scanner(serial, 8)
    settle(qtbot, w)


def test_after_a_serial_is_opened_the_keys_go_to_the_bench_and_the_window_says_so(qtbot, window):
    w = window
    put_focus(qtbot, w.serial)
    assert "typing into the serial field" in w.keys_to.text()
    from PySide6.QtTest import QTest

    QTest.keyClicks(w.serial, DUSTY_TRUNK, delay=90)  # typed by hand, then Enter
    QTest.keyClick(w.serial, K.Key_Return)
    settle(qtbot, w)
    assert w.c.session.serial == DUSTY_TRUNK
    assert QtWidgets.QApplication.focusWidget() is w.view
    assert "keys: the bench" in w.keys_to.text()
    press(qtbot, w, K.Key_N)  # a gate key, not an "n" typed into the serial field
    settle(qtbot, w)
    assert w.serial.text() == ""
    assert "has not been inspected" in w.gate.refusal.text()
    # Esc leaves a field for the bench.
    put_focus(qtbot, w.gate.tool)
    assert "typing into the tool field" in w.keys_to.text()
    QTest.keyClick(w.gate.tool, K.Key_Escape)
    qtbot.waitUntil(lambda: QtWidgets.QApplication.focusWidget() is w.view, timeout=2000)


def test_one_line_always_says_what_to_do_next_and_which_key_does_it(qtbot, window):
    w = window
    assert "scan the assembly's serial" in w.next_line.text()
    open_by_scan(qtbot, w)
    assert w.next_step == bv.NextStep("I", "inspect end A")
    assert "inspect end A" in w.next_line.text() and w.next_line.isVisible()
    press(qtbot, w, K.Key_I)
    settle(qtbot, w)
    assert w.next_step.key == "C" and "scan the cleaning tool" in w.next_step.first
    inspected = w.view.result  # the failing inspection's frame and its marks
    assert inspected is not None and inspected.verdict == "fail"
    put_focus(qtbot, w.view)
    qtbot.wait(350)
    scanner("CLN-0042", 8)  # the end waits for a cleaning: a tool label goes to the tool field
    settle(qtbot, w)
    assert w.gate.tool.text() == "CLN-0042" and w.c.session.serial == DUSTY_TRUNK
    assert w.next_step.key == "C" and w.next_step.first == ""
    press(qtbot, w, K.Key_C)
    settle(qtbot, w)
    assert w.next_step == bv.NextStep("I", "inspect end A again")
    # Cleaned: the old failing frame and its marks are gone; the view is live again. (The
    # live view grades the probe's picture 4 times a second: a live verdict may be there.)
    assert w.mode == "live" and w.view.result is not inspected
    assert w.view.caption.toPlainText().startswith("LIVE")


def test_after_connect_the_next_step_is_the_next_end(qtbot, window):
    w = window
    open_by_scan(qtbot, w, "T12B-000001")  # clean on the simulated line
    press(qtbot, w, K.Key_I)
    settle(qtbot, w)
    assert w.c.session.state.end("A").status == "passed"
    assert w.next_step == bv.NextStep("N", "connect end A")
    press(qtbot, w, K.Key_N)
    settle(qtbot, w)
    assert w.next_step == bv.NextStep("E", "next end (B)")
    assert "E" in w.next_line.text() and "next end (B)" in w.next_line.text()


def test_a_capture_is_visibly_a_preview_and_records_nothing(qtbot, window):
    w = window
    open_by_scan(qtbot, w)
    qtbot.waitUntil(lambda: w.last_frame is not None and w.last_frame.fiber == 1, timeout=10000)
    before = [e.kind for e in w.c.store.history(DUSTY_TRUNK)]
    w.capture()
    settle(qtbot, w)
    assert w.mode == "preview" and w.view.preview
    assert w.view.caption.toPlainText().startswith("PREVIEW, NOT RECORDED")
    assert "nothing is recorded" in w.detail.text()
    assert [e.kind for e in w.c.store.history(DUSTY_TRUNK)] == before
    assert w.c.session.state.end("A").status == "new"
    assert w.next_step == bv.NextStep("I", "inspect end A")
    press(qtbot, w, K.Key_L)
    assert w.mode == "live" and not w.view.preview


def test_a_new_assembly_starts_with_no_tool_and_the_last_one_is_a_key_away(qtbot, window):
    w = window
    open_by_scan(qtbot, w)
    press(qtbot, w, K.Key_I)
    settle(qtbot, w)
    w.gate.method.setCurrentIndex(1)
    w.gate.tool.setText("CLN-0042")
    press(qtbot, w, K.Key_C)
    settle(qtbot, w)
    assert w.c.session.state.end("A").status == "cleaned"
    open_by_scan(qtbot, w, "T12B-000001")
    assert w.c.session.serial == "T12B-000001"
    assert w.gate.tool.text() == "" and w.gate.method.currentIndex() == 0  # nothing carried
    assert "T: CLN-0042 again" in w.gate.tool.placeholderText()
    press(qtbot, w, K.Key_T)
    assert w.gate.tool.text() == "CLN-0042"


def test_the_supervisor_dialog_offers_what_the_advice_says(qtbot, window, monkeypatch):
    w = window
    open_by_scan(qtbot, w)
    from qa_station.gate.state import Escalation
    from qa_station.ui import dialogs

    # An end escalated for damage (the gate's own state, as the escalation leaves it).
    s = w.c.session
    damaged = Escalation("damage", "defects stay in the same place: re-polish", True)
    end = s.state.end("A")
    from dataclasses import replace

    s.state = replace(s.state, ends={**s.state.ends, "A": replace(end, escalation=damaged)})
    w._refresh_end()
    assert w.next_step.key == "S" and "release for rework" in w.next_step.action
    seen = {}

    def look(self):
        seen["decision"] = self.action.currentText()
        return QtWidgets.QDialog.DialogCode.Rejected

    monkeypatch.setattr(dialogs.SupervisorDialog, "exec", look)
    press(qtbot, w, K.Key_S)
    assert seen["decision"] == "release for rework"  # not "override connect"


def test_anything_slow_shows_progress_after_three_tenths_of_a_second(qtbot, window):
    w = window
    release = threading.Event()
    w.runner.start(lambda r: release.wait(5), label="writing something slow")
    qtbot.wait(100)
    assert not w.activity.isVisible()  # a fast action does not flicker
    qtbot.waitUntil(w.activity.isVisible, timeout=2000)
    assert "writing something slow" in w.activity.label.text()
    release.set()
    qtbot.waitUntil(lambda: not w.activity.isVisible(), timeout=5000)


def test_the_whole_ferrule_shows_every_fibre_numbered_and_ringed_live(qtbot, window):
    w = window
    open_by_scan(qtbot, w)
    press(qtbot, w, K.Key_I)
    settle(qtbot, w)
    failing = {n for n, s in w.map.states.items() if s == "fail"}
    w.overview_btn.click()
    settle(qtbot, w)
    qtbot.waitUntil(lambda: len(w.view.marks) == 12, timeout=20000)
    assert w.view.mark_numbers() == [str(n) for n in range(1, 13)]
    assert {m.index for m in w.view.marks if m.state == "fail"} == failing
    assert "12 fibres found" in w.view.caption.toPlainText()
    # Left to right is fibre 1 to 12 on the picture too.
    xs = [m.x_px for m in sorted(w.view.marks, key=lambda m: m.index)]
    assert xs == sorted(xs)


def test_the_fibre_map_has_a_legend_and_a_plain_key_mark(qtbot, window):
    w = window
    open_by_scan(qtbot, w)
    words = [t for _, t, _ in w.map.legend()]
    assert words == [
        "not inspected",
        "pass",
        "fail",
        "not judged",
        "cleaned, to inspect again",
        "escalated",
        "released",
    ]
    for _, _, r in w.map.legend():
        assert w.map.rect().contains(r.toRect())
    image = w.map.grab().toImage()
    for state, _, r in w.map.legend():  # each colour drawn where the legend says
        dot = image.pixelColor(int(r.left() + 5), int(r.center().y()))
        from qa_station.ui import theme

        want = QtWidgets.QApplication.palette().base().color()
        assert dot != want, state
        assert dot.name() == theme.FIBRE_STATE[state]


def test_one_palette_for_the_window_and_the_certificate():
    from qa_station.ui import theme
    from reports import overlay, palette

    assert theme.ZONE == palette.ZONE and palette.rgb(palette.ZONE) == overlay.ZONE_RGB
    for verdict in ("pass", "fail", "error"):
        assert overlay.VERDICT_RGB[verdict] == palette.rgb(theme.VERDICT[verdict])


def test_the_zone_circles_on_screen_are_drawn_in_the_palette_zone_colour(qtbot, window):
    w = window
    open_by_scan(qtbot, w)
    press(qtbot, w, K.Key_I)
    settle(qtbot, w)
    from reports import palette

    assert w.view._paths["zones"].pen().color().name() == palette.ZONE
    assert w.view.caption.fill.color().alpha() > 150  # the caption sits on a dark backing


def test_a_refusal_moves_nothing_and_the_gate_steps_keep_their_width(qtbot, window):
    w = window
    open_by_scan(qtbot, w)
    put_focus(qtbot, w.view)
    widths = [label.width() for label in w.gate.step_labels]
    where = w.map.mapTo(w, QtCore.QPoint(0, 0)), w.gate.mapTo(w, QtCore.QPoint(0, 0))
    press(qtbot, w, K.Key_N)  # refused: not inspected
    settle(qtbot, w)
    assert w.gate.refusal.isVisible()
    assert (w.map.mapTo(w, QtCore.QPoint(0, 0)), w.gate.mapTo(w, QtCore.QPoint(0, 0))) == where
    press(qtbot, w, K.Key_I)
    settle(qtbot, w)
    w.gate.tool.setText("CLN-1")
    press(qtbot, w, K.Key_C)
    settle(qtbot, w)
    assert w.c.session.state.end("A").status == "cleaned"
    assert [label.width() for label in w.gate.step_labels] == widths


def test_a_failed_sign_in_keeps_the_user_name(qtbot, window, monkeypatch):
    from tests.ui.test_sign_in import when_dialog

    w = window
    w.c.logout()
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a: None)
    seen = []

    def wrong(dlg):
        dlg.username.setText(OPERATOR[0])
        dlg.password.setText("not the password")
        dlg.accept()
        when_dialog(qtbot, again)

    def again(dlg):
        QtCore.QTimer.singleShot(100, lambda: look(dlg))

    def look(dlg):
        seen.append((dlg.username.text(), dlg.focusWidget() is dlg.password))
        dlg.password.setText(OPERATOR[1])
        dlg.accept()

    when_dialog(qtbot, wrong)
    assert w.sign_in() is True
    assert seen == [(OPERATOR[0], True)]


def test_signing_out_clears_the_last_assembly_from_the_screen(qtbot, window):
    from tests.ui.test_sign_in import when_dialog

    w = window
    open_by_scan(qtbot, w)
    press(qtbot, w, K.Key_I)
    settle(qtbot, w)
    shown = {}

    def look(dlg):
        shown["product"] = w.product.text()
        shown["rows"] = w.table.rowCount()
        shown["map"] = w.map.geometry_
        shown["result"] = w.view.result
        shown["banner"] = w.banner.text()
        dlg.reject()

    when_dialog(qtbot, look)
    w.sign_out()
    assert shown == {
        "product": "no assembly on the bench",
        "rows": 0,
        "map": None,
        "result": None,
        "banner": "",
    }
    assert w.c.session is None


def test_statistics_does_not_put_the_keys_into_a_date(qtbot, window):
    w = window
    w.show_page("stats")
    settle(qtbot, w)
    qtbot.wait(50)
    focus = QtWidgets.QApplication.focusWidget()
    assert not isinstance(focus, QtWidgets.QDateEdit)
    assert focus is w.stats.refresh_btn


def test_a_programming_error_is_a_fault_report_not_a_red_refusal(qtbot, window, monkeypatch):
    w = window
    open_by_scan(qtbot, w)
    faults = []
    monkeypatch.setattr(w, "_fault", faults.append)

    def broken(*a, **k):
        raise ValueError("a mistake in the code")

    monkeypatch.setattr(w.c, "connect", broken)
    press(qtbot, w, K.Key_N)
    settle(qtbot, w)
    assert [str(e) for e in faults] == ["a mistake in the code"]
    assert not w.gate.refusal.isVisible()


def test_the_gui_thread_never_queries_the_store(qtbot, window):
    """Opening, inspecting, refusals, cleaning, and the status timer's ticks: the SQL all
    runs in workers (the outbox count too, from the controller's cached floor status)."""
    w = window
    gui = threading.current_thread()
    on_gui: list[str] = []

    def seen(conn, cursor, statement, *args):
        if threading.current_thread() is gui:
            on_gui.append(statement.split()[0])

    event.listen(w.c.store.engine, "before_cursor_execute", seen)
    try:
        open_by_scan(qtbot, w)
        press(qtbot, w, K.Key_N)  # refused
        settle(qtbot, w)
        press(qtbot, w, K.Key_I)
        settle(qtbot, w)
        w.gate.tool.setText("CLN-1")
        press(qtbot, w, K.Key_C)
        settle(qtbot, w)
        end = time.monotonic() + 1.2
        while time.monotonic() < end:  # a few status ticks
            qtbot.wait(100)
        w._send_outbox()
        settle(qtbot, w)
    finally:
        event.remove(w.c.store.engine, "before_cursor_execute", seen)
    assert on_gui == []


@pytest.mark.parametrize("top", [1, 2, 3, 7, 12, 250])
def test_the_heat_map_colour_bar_counts_in_whole_numbers(top):
    from qa_station.ui.stats_view import count_ticks

    ticks = count_ticks(top)
    assert ticks[0] == 0 and ticks[-1] == top and len(ticks) <= 7
    assert all(isinstance(t, int) for t in ticks) and ticks == sorted(set(ticks))


def test_the_supervisor_key_signs_a_decision_as_the_dialog_says(qtbot, window, monkeypatch):
    w = window
    open_by_scan(qtbot, w)
    press(qtbot, w, K.Key_I)
    settle(qtbot, w)
    supervisor_signs(monkeypatch, SUPERVISOR, "ferrule chipped at fibre 4, back to polishing")
    press(qtbot, w, K.Key_S)
    settle(qtbot, w)
    assert w.c.session.state.end("A").status == "new"  # released for rework (the default)
    assert [e.kind for e in w.c.store.history(DUSTY_TRUNK)][-1] == "end.released_for_rework"
