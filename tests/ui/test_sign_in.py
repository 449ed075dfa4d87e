"""Signing in at the bench: the first admin, a password, a badge scan, and what goes wrong."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from tests.ui.conftest import OPERATOR, put_focus, scan_barcode


def when_dialog(qtbot, act):
    """Run ``act(dialog)`` as soon as the modal dialog is up (sign_in blocks in exec)."""

    def poll():
        dlg = QtWidgets.QApplication.activeModalWidget()
        if dlg is None:
            QtCore.QTimer.singleShot(20, poll)
            return
        act(dlg)

    QtCore.QTimer.singleShot(20, poll)


def test_the_first_start_creates_the_admin(qtbot, bare_window, bare):
    def fill(dlg):
        assert dlg.first and "first (admin)" in dlg.windowTitle()
        dlg.username.setText("ada")
        dlg.name.setText("Ada Admin")
        dlg.password.setText("admin horse battery staple")
        dlg.again.setText("admin horse battery staple")
        dlg.accept()

    when_dialog(qtbot, fill)
    assert bare_window.sign_in() is True
    assert bare.actor.username == "ada" and bare.actor.role == "admin"
    assert "Ada Admin (admin)" in bare_window.s_operator.text()


def test_a_mismatched_password_is_said_and_asked_again(qtbot, bare_window, bare, monkeypatch):
    said = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a: said.append(a[2]))
    attempts = iter(["typo horse battery staple", "admin horse battery staple"])

    def fill(dlg):
        dlg.username.setText("ada")
        dlg.password.setText("admin horse battery staple")
        dlg.again.setText(next(attempts))
        dlg.accept()
        if not said:
            when_dialog(qtbot, fill)  # the dialog comes back after the warning

    when_dialog(qtbot, fill)
    assert bare_window.sign_in() is True
    assert said == ["the two passwords differ"]
    assert bare.accounts.count() == 1


def test_a_badge_scan_signs_in_wherever_the_focus_is(qtbot, app, bare_window, bare):
    admin = bare.create_first_admin("ada", "admin horse battery staple")
    bare.accounts.add("olga", "operator", admin, "Olga Operator", None, badge="B-7731-0042")
    bare.logout()

    def badge(dlg):
        assert not dlg.first
        put_focus(qtbot, dlg.password)
        scan_barcode(qtbot, dlg.password, "B-7731-0042")

    when_dialog(qtbot, badge)
    assert bare_window.sign_in() is True  # the window takes the wedge's scans itself
    assert bare.actor.username == "olga"
    qtbot.wait(200)
    assert bare.session is None  # the badge was not taken for an assembly serial
    assert bare_window.banner.text() == ""


def test_a_wrong_password_is_refused_and_cancel_leaves(qtbot, bare_window, bare, monkeypatch):
    admin = bare.create_first_admin("ada", "admin horse battery staple")
    bare.accounts.add(OPERATOR[0], "operator", admin, "Olga Operator", OPERATOR[1])
    bare.logout()
    said = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a: said.append(a[2]))

    def wrong(dlg):
        dlg.username.setText(OPERATOR[0])
        dlg.password.setText("not the password")
        dlg.accept()
        when_dialog(qtbot, lambda d: d.reject())

    when_dialog(qtbot, wrong)
    assert bare_window.sign_in() is False
    assert said and "password" in said[0].lower()
    assert bare.actor is None
    assert bare_window.s_operator.text() == "not signed in"


def test_nothing_happens_at_the_bench_signed_out(qtbot, window):
    w = window
    w.c.logout()
    w.open_serial("T12B-000003")
    qtbot.waitUntil(lambda: not w.runner.busy, timeout=10000)
    assert w.c.session is None
    assert "sign in first" in w.banner.text()
