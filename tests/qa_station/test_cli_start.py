"""``qa-station`` with no command opens the bench window (offscreen here), or says why not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
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


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_help_imports_no_command_nor_the_database_code():
    """`qa-station --help` lists every command from the CLI's table, importing none of them."""
    out = _run(
        "import sys, json\n"
        "from qa_station.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    assert out.returncode == 0, out.stderr
    modules = json.loads(out.stdout.strip().splitlines()[-1])
    heavy = ("sqlalchemy", "alembic", "numpy", "cv2", "PySide6", "reportlab", "pyhanko")
    assert not [m for m in modules if m.split(".")[0] in heavy]
    assert not [m for m in modules if m.startswith("qa_station.commands.") and m != START]
    from qa_station.cli import COMMANDS

    for name in COMMANDS:
        assert f"    {name}" in out.stdout


START = "qa_station.commands.start"


def test_a_command_imports_only_itself(capsys):
    out = _run(
        "import sys, json\n"
        "from qa_station.cli import main\n"
        "try:\n    main(['history', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('qa_station.commands.'))))"
    )
    assert out.returncode == 0, out.stderr
    assert "usage: qa-station history" in out.stdout
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(loaded) <= {START, "qa_station.commands.history", "qa_station.commands.common"}


def test_an_up_to_date_store_opens_without_importing_alembic(tmp_path):
    from qa_station.config import StationConfig
    from qa_station.store.store import open_store

    open_store(StationConfig()).close()  # the first start creates the schema (Alembic runs)
    out = _run(
        "import sys\n"
        "from qa_station.config import StationConfig\n"
        "from qa_station.store.store import open_store\n"
        "open_store(StationConfig()).close()\n"
        "print('alembic' in sys.modules)"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"


def broken_library_dir(tmp_path: Path) -> Path:
    """A folder where a library Qt's xcb plugin needs is there but cannot load (as when a
    package is half installed); first on the loader's path."""
    libs = tmp_path / "libs"
    libs.mkdir()
    (libs / "libxcb-icccm.so.4").write_bytes(b"not a library")
    return libs


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt's xcb plugin is Linux's")
@pytest.mark.parametrize("plugin_path", ["", "/no/such/qt/plugins"])
def test_when_the_qt_platform_plugin_cannot_load_the_package_line_is_printed(tmp_path, plugin_path):
    from qa_station.commands.start import QT_SYSTEM_PACKAGES

    env = {
        "DISPLAY": ":97",
        "QT_QPA_PLATFORM": "",
        "QT_QPA_PLATFORM_PLUGIN_PATH": plugin_path,
        "LD_LIBRARY_PATH": str(broken_library_dir(tmp_path)),
    }
    out = _run("from qa_station.cli import main; raise SystemExit(main([]))", **env)
    assert out.returncode == 2
    assert 'the Qt platform plugin "xcb" cannot load' in out.stderr
    assert "libxcb-icccm.so.4" in out.stderr
    assert QT_SYSTEM_PACKAGES in out.stderr
    assert "Aborted" not in out.stderr and "core dumped" not in out.stderr
    assert "xcb-cursor0 or libxcb-cursor0 is needed" not in out.stderr  # Qt's misleading one


def test_a_platform_qt_does_not_have_is_said_too(tmp_path):
    out = _run(
        "from qa_station.cli import main; raise SystemExit(main([]))",
        QT_QPA_PLATFORM="no-such-platform",
        QT_QPA_PLATFORM_PLUGIN_PATH="/no/such/qt/plugins",
    )
    assert out.returncode == 2
    assert 'the Qt platform plugin "no-such-platform" is not installed' in out.stderr
    assert "/no/such/qt/plugins" in out.stderr


def test_the_readme_gives_the_same_package_line_next_to_the_first_command():
    from qa_station.commands.start import QT_SYSTEM_PACKAGES

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    first = readme.index("# 1. install and start the station")
    assert QT_SYSTEM_PACKAGES in readme[first - 800 : first + 1200]
