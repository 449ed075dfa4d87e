"""Barcode scans arrive whole: real key events with Shift around every capital, at 5 to 80 ms
per key, in every place that takes a scan (the serial, a cleaning tool, a badge at sign-in,
a part number, the bench itself), with and without a scanner prefix."""

from __future__ import annotations

import pytest
from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest

from tests.ui.conftest import put_focus, settle, wait_for_wedge
from tests.ui.keys import K, M, scanner, type_keys

pytestmark = pytest.mark.slow  # a file of tens of seconds: a parallel run starts it first

SPEEDS = [5, 10, 30, 80]  # ms per key: fast scanners, slow ones, a scanner set to its slowest
SERIAL = "T12B-000123"
TOOL = "CLN-0042"
PART = "MTP12-FF-B-SMAPC-005M"
CTRL_B = (K.Key_B, M.ControlModifier)


@pytest.fixture
def bench(app, qtbot):
    """A field and a plain focusable widget (where letters are keys), with the app's wedge."""
    w = QtWidgets.QWidget()
    lay = QtWidgets.QVBoxLayout(w)
    field = QtWidgets.QLineEdit()
    plain = QtWidgets.QPushButton("bench")
    lay.addWidget(field)
    lay.addWidget(plain)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    got: list[str] = []
    broken: list[str] = []
    app.wedge.scanned.connect(got.append)
    app.wedge.broken.connect(broken.append)
    yield field, plain, got, broken
    app.wedge.scanned.disconnect(got.append)
    app.wedge.broken.disconnect(broken.append)
    app.wedge.configure()


@pytest.mark.parametrize("ms", SPEEDS)
def test_a_scan_with_shift_between_the_characters_arrives_whole(qtbot, bench, ms):
    field, _plain, got, broken = bench
    put_focus(qtbot, field)
    scanner(SERIAL, ms)
    wait_for_wedge(qtbot)
    # Fast: the wedge takes it as a scan. Slow: it was typed into the field, whole, and the
    # Enter is the field's. Never a shortened code either way.
    assert got == [SERIAL] or (got == [] and field.text() == SERIAL)
    if ms <= 30:
        assert got == [SERIAL] and field.text() == ""
    assert broken == []


def test_the_bug_this_fixes_a_shift_press_no_longer_cuts_the_burst(qtbot, bench):
    """The wedge used to deliver what it held at every Shift press: T12B-000123 -> B-000123."""
    field, _plain, got, _broken = bench
    put_focus(qtbot, field)
    scanner("CLN-0042", 8)
    wait_for_wedge(qtbot)
    assert got == ["CLN-0042"]  # not "N-0042"


def test_a_slow_start_is_typing_and_the_field_keeps_the_whole_code(qtbot, bench):
    field, _plain, got, broken = bench
    put_focus(qtbot, field)
    type_keys("T1", 120)  # a person starts typing...
    scanner("2B-000123", 5)  # ...and finishes fast: this is not a scan of "2B-000123"
    wait_for_wedge(qtbot)
    assert got == [] and broken == []
    assert field.text() == SERIAL


def test_on_the_bench_a_code_that_arrived_in_pieces_is_said_never_taken_in_part(qtbot, bench):
    _field, plain, got, broken = bench
    put_focus(qtbot, plain)
    type_keys("T1", 200)  # slower than the wedge waits: these went to the bench as keys
    scanner("2B-000123", 5)
    wait_for_wedge(qtbot)
    assert got == []
    assert broken == ["2B-000123"]


@pytest.mark.parametrize("ms", SPEEDS)
def test_a_scan_on_the_bench_is_never_taken_for_gate_keys(qtbot, bench, ms):
    _field, plain, got, broken = bench
    put_focus(qtbot, plain)
    scanner("LCD-0000002", ms)
    wait_for_wedge(qtbot)
    assert got == ["LCD-0000002"] and broken == []


def test_with_a_prefix_a_scan_is_recognised_however_slowly_it_comes(qtbot, app, bench):
    field, plain, got, broken = bench
    app.wedge.configure("Ctrl+B", "Enter")
    put_focus(qtbot, field)
    scanner(SERIAL, 200, prefix=CTRL_B)  # slower than a person types
    wait_for_wedge(qtbot)
    assert got == [SERIAL] and field.text() == ""
    # ...and fast typing without the prefix is typing, never a scan.
    type_keys("Fast Typist", 5)
    scanner("", 5)  # just the Enter
    wait_for_wedge(qtbot)
    assert got == [SERIAL] and field.text() == "Fast Typist"
    put_focus(qtbot, plain)
    scanner(TOOL, 5, prefix=CTRL_B)
    wait_for_wedge(qtbot)
    assert got == [SERIAL, TOOL] and broken == []


def test_a_prefixed_scan_that_never_ends_is_reported_not_taken(qtbot, app, bench):
    field, _plain, got, broken = bench
    app.wedge.configure("F12", "Tab")
    put_focus(qtbot, field)
    QTest.keyClick(field, K.Key_F12)
    type_keys("T12B", 5)
    qtbot.waitUntil(lambda: broken == ["T12B"], timeout=4000)
    assert got == [] and field.text() == ""
    scanner(SERIAL, 5, prefix=(K.Key_F12, M.NoModifier), suffix=K.Key_Tab)
    wait_for_wedge(qtbot)
    assert got == [SERIAL]


# -- in the window: every field that takes a scan --------------------------------------------
@pytest.mark.parametrize("ms", SPEEDS)
@pytest.mark.parametrize("where", ["serial", "bench"])
def test_a_scanned_serial_opens_whole_from_the_serial_field_or_the_bench(qtbot, window, where, ms):
    w = window
    put_focus(qtbot, w.serial if where == "serial" else w.view)
    scanner(SERIAL, ms)
    settle(qtbot, w)
    assert w.c.session is not None and w.c.session.serial == SERIAL
    assert w.c.session.state.end("A").status == "new"  # no letter of it pressed a gate key
    assert QtWidgets.QApplication.focusWidget() is w.view  # the keys are the bench's now


@pytest.mark.parametrize("ms", SPEEDS)
def test_a_cleaning_tool_s_label_arrives_whole_in_the_tool_field(qtbot, window, ms):
    w = window
    put_focus(qtbot, w.view)
    scanner(SERIAL, 8)
    settle(qtbot, w)
    put_focus(qtbot, w.gate.tool)
    scanner(TOOL, ms)
    settle(qtbot, w)
    assert w.gate.tool.text() == TOOL
    assert QtWidgets.QApplication.focusWidget() is w.view  # Enter gave the keys back


@pytest.mark.parametrize("ms", SPEEDS)
def test_a_part_number_then_its_serial_open_the_assembly_with_its_part_number(qtbot, window, ms):
    w = window
    put_focus(qtbot, w.serial)
    scanner(PART, ms)
    settle(qtbot, w)
    assert w.part_number == PART and w.c.session is None
    assert "scan the serial of this" in w.next_line.text()
    if QtWidgets.QApplication.focusWidget() is not w.serial:
        put_focus(qtbot, w.serial)
    scanner(SERIAL, ms)
    settle(qtbot, w)
    assert w.c.session.serial == SERIAL
    assert w.c.session.identified.part_number == PART


def test_a_label_with_both_codes_and_a_space_is_one_scan_and_the_space_captures_nothing(
    qtbot, window
):
    w = window
    put_focus(qtbot, w.view)
    scanner(f"{PART} {SERIAL}", 8)
    settle(qtbot, w)
    assert w.c.session.serial == SERIAL and w.c.session.identified.part_number == PART
    assert w.mode != "preview"


@pytest.mark.parametrize("ms", SPEEDS)
def test_a_badge_arrives_whole_at_sign_in(qtbot, bare_window, bare, ms):
    from tests.ui.test_sign_in import when_dialog

    admin = bare.create_first_admin("ada", "admin horse battery staple")
    bare.accounts.add("olga", "operator", admin, "Olga Operator", None, badge="B-7731-0042")
    bare.logout()

    def badge(dlg):
        put_focus(qtbot, dlg.badge_field)
        scanner("B-7731-0042", ms)

    when_dialog(qtbot, badge)
    assert bare_window.sign_in() is True
    assert bare.actor.username == "olga"
    assert bare.session is None  # the badge was not taken for an assembly serial


def test_a_fast_scan_of_a_badge_into_the_password_field_is_the_badge(qtbot, bare_window, bare):
    from tests.ui.test_sign_in import when_dialog

    admin = bare.create_first_admin("ada", "admin horse battery staple")
    bare.accounts.add("olga", "operator", admin, "Olga Operator", None, badge="B-7731-0042")
    bare.logout()

    def badge(dlg):
        put_focus(qtbot, dlg.password)
        scanner("B-7731-0042", 8)

    when_dialog(qtbot, badge)
    assert bare_window.sign_in() is True
    assert bare.actor.username == "olga"


def test_qt_key_constants_used_by_the_prefix_match_qt():
    """scanner_keys matches Qt key codes without importing Qt: they must be Qt's."""
    assert QtCore.Qt.Key.Key_B.value == 0x42
    assert QtCore.Qt.Key.Key_F12.value == 0x01000030 + 11
