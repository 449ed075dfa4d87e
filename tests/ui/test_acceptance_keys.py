"""Acceptance: one MPO-12 assembly from a scanned serial to its signed certificate with the
keyboard and a wedge scanner only: no mouse, Shift in every code, 8 ms per key. The
technician does only what the next-step line says, pressing the key it names."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest

from tests.ui.conftest import settle, wait_for_wedge
from tests.ui.keys import scanner

DUSTY_TRUNK = "T12B-000003"  # MPO-12; dusty on the simulated line: it needs cleaning
TOOL = "CLN-0042"
MS_PER_KEY = 8
KEYS = {
    "I": QtCore.Qt.Key.Key_I,
    "C": QtCore.Qt.Key.Key_C,
    "N": QtCore.Qt.Key.Key_N,
    "E": QtCore.Qt.Key.Key_E,
}


class Mice(QtCore.QObject):
    """Counts every mouse press anywhere in the application."""

    def __init__(self) -> None:
        super().__init__()
        self.presses = 0

    def eventFilter(self, obj, event) -> bool:
        if event.type() in (
            QtCore.QEvent.Type.MouseButtonPress,
            QtCore.QEvent.Type.MouseButtonDblClick,
        ):
            self.presses += 1
        return False


def key(qtbot, k: QtCore.Qt.Key, modifier=QtCore.Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(QtWidgets.QApplication.focusWidget(), k, modifier)
    wait_for_wedge(qtbot)


def test_an_mpo12_assembly_from_its_scanned_serial_to_its_certificate_by_keys_alone(
    qtbot, app, window
):
    w = window
    mice = Mice()
    app.installEventFilter(mice)
    try:
        w.activateWindow()
        w.focus_bench()
        qtbot.waitUntil(lambda: QtWidgets.QApplication.focusWidget() is w.view, timeout=3000)
        assert "scan the assembly's serial" in w.next_line.text()
        key(qtbot, QtCore.Qt.Key.Key_F, QtCore.Qt.KeyboardModifier.ControlModifier)
        assert QtWidgets.QApplication.focusWidget() is w.serial
        scanner(DUSTY_TRUNK, MS_PER_KEY)
        settle(qtbot, w)
        assert w.c.session.serial == DUSTY_TRUNK
        assert w.c.session.identified.product.end("A").geometry.fiber_count == 12
        assert QtWidgets.QApplication.focusWidget() is w.view

        done: list[str] = []
        for _ in range(40):
            if w.c.session.state.status == "accepted":
                break
            step = w.next_step
            assert step.key in KEYS, f"the next step is not a key of the gate: {step.text}"
            if step.first.startswith("scan the cleaning tool's label"):
                qtbot.wait(350)  # picks up the scanner
                scanner(TOOL, MS_PER_KEY)
                settle(qtbot, w)
                assert w.gate.tool.text() == TOOL
                assert w.next_step.first == "" and w.next_step.key == "C"
                done.append("scan tool")
                continue
            key(qtbot, KEYS[step.key])
            settle(qtbot, w)
            done.append(step.key)
            assert not w.gate.refusal.isVisible(), (step.text, w.gate.refusal.text())
        assert w.c.session.state.status == "accepted", done
        assert "scan tool" in done and "C" in done  # the dusty trunk needed a cleaning
        assert done.count("N") == 2 and "E" in done
        qtbot.waitUntil(lambda: "certificate /" in w.banner.text(), timeout=60000)
    finally:
        app.removeEventFilter(mice)
    assert mice.presses == 0
    from qa_station.certificates.verify import verify_file
    from qa_station.paths import station_paths

    (pdf,) = station_paths().certificates_dir.glob(f"{DUSTY_TRUNK}-*.pdf")
    assert verify_file(pdf, w.c.store, serial=DUSTY_TRUNK).ok
    cleanings = [e for e in w.c.store.history(DUSTY_TRUNK) if e.kind == "end.cleaned"]
    assert cleanings and all(e.payload["tool"] == TOOL for e in cleanings)  # never shortened
    assert "next assembly" in w.next_line.text()
