"""``qa-station`` with no command opens the bench window (offscreen here), or says why not."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from qa_station.cli import main


def test_no_command_opens_the_bench_window_on_the_simulated_bench(qapp, qtbot):
    seen = {}

    def first_admin():
        dlg = QtWidgets.QApplication.activeModalWidget()
        if dlg is None:
            QtCore.QTimer.singleShot(20, first_admin)
            return
        seen["dialog"] = dlg.windowTitle()
        dlg.username.setText("ada")
        dlg.password.setText("admin horse battery staple")
        dlg.again.setText("admin horse battery staple")
        dlg.accept()
        QtCore.QTimer.singleShot(300, look_and_close)

    def look_and_close():
        from qa_station.ui.main_window import MainWindow

        (window,) = [
            w
            for w in QtWidgets.QApplication.topLevelWidgets()
            if isinstance(w, MainWindow) and w.isVisible()
        ]
        seen["operator"] = window.s_operator.text()
        seen["probe"] = window.s_probe.text()
        seen["store"] = window.s_store.text()
        window.close()

    QtCore.QTimer.singleShot(20, first_admin)
    assert main([]) == 0
    assert seen["dialog"] == "Create the first (admin) account"
    assert seen["operator"] == "operator: ada (admin)"
    assert seen["probe"] == "probe: sim-400x"
    assert seen["store"] == "store: sqlite"


def test_without_a_display_it_says_so_instead_of_aborting(monkeypatch, capsys):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "no display to open the bench window on" in err and "xvfb-run" in err


def test_a_store_that_cannot_open_is_said_and_the_window_does_not_start(
    qapp, monkeypatch, capsys, tmp_path
):
    said = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "critical", lambda *a: said.append(a[2]))
    bad = f"sqlite:///{tmp_path}/no/such/folder/store.sqlite3"
    assert main(["--db", bad]) == 2
    assert said and "cannot start" in capsys.readouterr().err
