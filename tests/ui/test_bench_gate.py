"""The whole gate, driven through the window as an operator would, on the simulated bench."""

from __future__ import annotations

import math

import pytest
from PySide6 import QtCore, QtWidgets

from tests.ui.conftest import (
    SUPERVISOR,
    gate_key,
    press,
    put_focus,
    scan_barcode,
    settle,
    supervisor_signs,
)

pytestmark = pytest.mark.slow  # a file of tens of seconds: a parallel run starts it first

DUSTY_TRUNK = "T12B-000003"  # the simulated line makes this one dusty: it fails first time
K = QtCore.Qt.Key


def open_by_scan(qtbot, w, serial: str) -> None:
    put_focus(qtbot, w.view)
    scan_barcode(qtbot, w.view, serial)
    settle(qtbot, w)


def test_a_dusty_trunk_goes_through_the_whole_gate(qtbot, window):
    w = window
    open_by_scan(qtbot, w, DUSTY_TRUNK)
    assert w.c.session.serial == DUSTY_TRUNK
    assert DUSTY_TRUNK in w.product.text()
    assert w.serial.text() == ""  # the burst did not land in the serial field as typing
    assert [w.gate.end.itemText(i) for i in range(w.gate.end.count())] == ["A", "B"]

    for end in ("A", "B"):
        w.gate.end.setCurrentText(end)
        settle(qtbot, w)
        gate_key(qtbot, w, K.Key_I)
        state = w.c.session.state.end(end)
        assert state.status in ("passed", "failed")
        result = w.c.session.scans[end].result()
        failing = [f.index for f in result.fibers if f.verdict != "pass"]
        # The map shows every fibre's verdict, and the failing ones in red.
        assert {n for n, s in w.map.states.items() if s == "fail"} == set(failing)
        assert len(w.map.states) == 12
        cycles = 0
        while w.c.session.state.end(end).status != "passed":
            assert w.c.session.state.end(end).status == "failed"
            # Connecting a failed end is refused, in the window.
            press(qtbot, w, K.Key_N)
            settle(qtbot, w)
            assert w.gate.refusal.isVisible()
            assert "failed its last inspection" in w.gate.refusal.text()
            # So is inspecting again before cleaning.
            press(qtbot, w, K.Key_I)
            settle(qtbot, w)
            assert "clean it" in w.gate.refusal.text()
            w.gate.tool.setText("CLETOP-S-0042")
            gate_key(qtbot, w, K.Key_C)
            assert w.c.session.state.end(end).status == "cleaned", w.gate.refusal.text()
            assert not w.gate.refusal.isVisible()
            press(qtbot, w, K.Key_I)
            settle(qtbot, w)
            cycles += 1
            assert cycles <= 3, "the simulated dust should come off in a few cleanings"
        press(qtbot, w, K.Key_N)
        settle(qtbot, w)
        assert w.c.session.state.end(end).connected == "connected"
        assert "connected" in w.gate.status.text()
    assert w.c.session.state.status == "accepted"
    assert "ACCEPTED" in w.banner.text()
    # The certificate is signed and written as the assembly is accepted, and it verifies.
    settle(qtbot, w)
    from qa_station.certificates.verify import verify_file
    from qa_station.paths import station_paths

    (pdf,) = station_paths().certificates_dir.glob(f"{DUSTY_TRUNK}-*.pdf")
    assert f"certificate {pdf}" in w.banner.text()
    outcome = verify_file(pdf, w.c.store, serial=DUSTY_TRUNK)
    assert outcome.ok, outcome.checks
    kinds = [e.kind for e in w.c.store.history(DUSTY_TRUNK)]
    assert kinds[0] == "assembly.registered" and kinds[-2] == "assembly.accepted"
    assert "gate.refused" in kinds  # the refusals the window showed are on the record too
    assert kinds[-1] == "certificate.issued"


def test_failing_fibres_show_on_the_map_and_the_overlay_sits_on_the_fibre(qtbot, window):
    w = window
    open_by_scan(qtbot, w, DUSTY_TRUNK)
    gate_key(qtbot, w, K.Key_I)
    scan = w.c.session.scans["A"]
    failing = [f for f in scan.result().fibers if f.verdict == "fail"]
    assert failing, "the dusty trunk fails its first inspection"
    # After the scan the window shows the first failing fibre as it was graded.
    first = failing[0]
    assert w.map.selected == first.index
    assert f"fibre {first.index}: FAIL" in w.view.caption.toPlainText()
    assert w.table.rowCount() == 12
    row = next(r for r in range(12) if w.table.item(r, 0).text() == str(first.index))
    assert w.table.item(row, 1).text() == "fail"
    assert w.table.item(row, w.table.columnCount() - 1).text().startswith("zone ")
    assert first.failures[0] in w.detail.text()
    # The drawn zone circles are centred on the grading result's fibre centre, in image pixels.
    centres = w.view.overlay_centres()
    assert len(centres) == 1
    assert math.dist(centres[0], first.center_px) < 0.5
    assert w.view.image.transform().isIdentity() and w.view.image.pos() == QtCore.QPointF(0, 0)
    # Defects are outlined in the fail colour, and clicking another fibre shows that one.
    assert "fail" in w.view._paths
    other = next(f for f in scan.result().fibers if f.index != first.index)
    spot = next(c for n, c, _ in w.map._layout() if n == other.index)
    qtbot.mouseClick(w.map, QtCore.Qt.MouseButton.LeftButton, pos=spot.toPoint())
    settle(qtbot, w)
    assert w.map.selected == other.index
    assert f"fibre {other.index}:" in w.view.caption.toPlainText()
    (c,) = w.view.overlay_centres()
    assert math.dist(c, other.center_px) < 0.5
    # O hides the overlay and brings it back.
    press(qtbot, w, K.Key_O)
    assert w.view.overlay_centres() == [] and not w.overlay_box.isChecked()
    press(qtbot, w, K.Key_O)
    assert len(w.view.overlay_centres()) == 1


def test_refusals_appear_in_the_window(qtbot, window):
    w = window
    open_by_scan(qtbot, w, DUSTY_TRUNK)
    gate_key(qtbot, w, K.Key_N)
    assert w.gate.refusal.isVisible()
    assert w.gate.refusal.text() == "end A has not been inspected: inspect it before connecting"
    press(qtbot, w, K.Key_C)  # no tool id
    settle(qtbot, w)
    assert "cleaning tool's id is needed" in w.gate.refusal.text()
    # An unknown serial says what was wrong with it, and the assembly on the bench stays.
    open_by_scan(qtbot, w, "ZZ-NOT-A-SERIAL")
    assert w.banner.isVisible() and "ZZ-NOT-A-SERIAL" in w.banner.text()
    assert w.c.session.serial == DUSTY_TRUNK


def test_a_supervisor_override_is_signed_and_shown(qtbot, window, monkeypatch):
    w = window
    open_by_scan(qtbot, w, DUSTY_TRUNK)
    gate_key(qtbot, w, K.Key_I)
    assert w.c.session.state.end("A").status == "failed"
    reason = "ferrule chipped at fibre 4, back to polishing"
    supervisor_signs(monkeypatch, SUPERVISOR, reason, "release for rework")
    w.gate.supervisor_btn.click()
    settle(qtbot, w)
    # Released for rework: the end starts over, and the window says so.
    a = w.c.session.state.end("A")
    assert a.last is None and a.status == "new" and a.escalation is None
    assert "not inspected yet" in w.gate.status.text()
    assert "released end A for rework" in w.statusBar().currentMessage()
    kinds = [e.kind for e in w.c.store.history(DUSTY_TRUNK)]
    assert kinds[-1] == "end.released_for_rework"
    assert not w.gate.refusal.isVisible()

    # An operator cannot sign a supervisor's decision.
    supervisor_signs(monkeypatch, ("olga", "correct horse battery staple"), "x", "reject assembly")
    w.gate.supervisor_btn.click()
    settle(qtbot, w)
    assert "only a supervisor can decide this" in w.gate.refusal.text()


def test_gate_keys_do_nothing_while_typing_in_a_field(qtbot, window):
    w = window
    open_by_scan(qtbot, w, DUSTY_TRUNK)
    put_focus(qtbot, w.gate.tool)
    for key in (K.Key_I, K.Key_N, K.Key_C):
        press(qtbot, w, key)
    settle(qtbot, w)
    assert w.c.session.state.end("A").status == "new"
    assert not w.gate.refusal.isVisible()
    assert w.gate.tool.text() == "inc"


@pytest.mark.parametrize("where", ["view", "serial"])
def test_a_scan_is_taken_wherever_the_focus_is(qtbot, window, where):
    w = window
    target = w.view if where == "view" else w.serial
    put_focus(qtbot, target)
    scan_barcode(qtbot, target, "LCD-0000002")  # L and C are gate keys: a scan must not press them
    settle(qtbot, w)
    assert w.c.session.serial == "LCD-0000002"
    assert w.c.session.state.end(w.gate.current_end()).status == "new"
    assert w.serial.text() == ""
    assert w.mode == "live"


def test_a_person_typing_in_the_serial_field_is_not_a_scan(qtbot, window):
    w = window
    put_focus(qtbot, w.serial)
    from PySide6.QtTest import QTest

    QTest.keyClicks(w.serial, "T12B-0", delay=90)  # a person: a key every 90 ms
    qtbot.wait(150)
    assert w.serial.text() == "T12B-0"
    assert w.c.session is None
    QTest.keyClicks(w.serial, "00003", delay=90)
    qtbot.wait(150)
    QTest.keyClick(w.serial, K.Key_Return)  # Enter after typing by hand opens it too
    settle(qtbot, w)
    assert w.c.session.serial == DUSTY_TRUNK


def test_a_scan_can_be_cancelled_and_keeps_the_gate_where_it_was(qtbot, window):
    w = window
    open_by_scan(qtbot, w, DUSTY_TRUNK)
    put_focus(qtbot, w.view)
    press(qtbot, w, K.Key_I)
    qtbot.waitUntil(lambda: w.scanning and w.gate.progress.isVisible(), timeout=5000)
    assert not w.gate.inspect_btn.isEnabled()
    press(qtbot, w, K.Key_N)  # refused while scanning, without asking the gate
    escape(qtbot, w)
    settle(qtbot, w)
    assert not w.scanning
    assert "cancelled" in w.gate.refusal.text()
    assert w.c.session.state.end("A").status == "new"
    assert w.gate.inspect_btn.isEnabled()
    kinds = [e.kind for e in w.c.store.history(DUSTY_TRUNK)]
    assert "end.connected" not in kinds and "end.inspected" not in kinds


def escape(qtbot, w) -> None:
    qtbot.keyClick(QtWidgets.QApplication.focusWidget() or w, K.Key_Escape)


def test_probe_unplugged_mid_scan_says_so_and_the_window_survives(qtbot, window):
    w = window
    open_by_scan(qtbot, w, DUSTY_TRUNK)
    put_focus(qtbot, w.view)
    sim = w.c.bench.simulated
    seen = []
    original = w._scan_progress

    def unplug_after_three(p):
        original(p)
        seen.append(p)
        if sum(1 for x in seen if x.result is not None) == 3:
            sim.probe_plugged = False

    w._scan_progress = unplug_after_three
    w.runner_progress_hook = unplug_after_three
    press(qtbot, w, K.Key_I)
    settle(qtbot, w)
    assert "unplugged" in w.gate.refusal.text()
    assert w.c.session.state.end("A").status == "new"
    sim.probe_plugged = True
    qtbot.waitUntil(lambda: "unplugged" not in w.banner.text(), timeout=5000)
    # Inspecting again goes on from the fibre where it stopped; the record has all twelve.
    assert "inspect again to go on" in w.gate.refusal.text()
    graded_before = sum(1 for x in seen if x.result is not None)
    seen.clear()
    w._scan_progress = lambda p: (original(p), seen.append(p))
    gate_key(qtbot, w, K.Key_I)
    assert w.c.session.state.end("A").status in ("passed", "failed")
    regraded = {x.fiber for x in seen if x.result is not None}
    assert len(regraded) == 12 - graded_before and min(regraded) > 3
    assert len(w.c.session.scans["A"].result().fibers) == 12
