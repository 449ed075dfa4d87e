"""The bench window: the live end face, the fibre map, the gate, the results, the record.

Everything that touches a device or the store runs in a worker; the window
only shows and asks. Keys: I inspect, C record cleaning, N connect, Space
capture (grade what is in view; a foot pedal that sends a space does it too),
F autofocus, O overlays, L live, E next end, Esc cancel a scan, Ctrl+L sign out,
Ctrl+F the serial field.
"""

from __future__ import annotations

import contextlib
import threading

from PySide6 import QtCore, QtGui, QtWidgets

from grading.results import EndFaceResult
from hardware.probes.base import Frame
from qa_station.accounts import AuthError
from qa_station.catalog import CatalogError
from qa_station.controller import NotSignedIn, StationController
from qa_station.gate import GateRefused
from qa_station.scan import ScanError, ScanProgress
from qa_station.store import StoreError
from qa_station.store.kinds import Kind
from qa_station.ui import theme
from qa_station.ui.dialogs import LoginDialog, SupervisorDialog
from qa_station.ui.fibre_map import FibreMap
from qa_station.ui.gate_panel import GatePanel
from qa_station.ui.history_view import HistoryView
from qa_station.ui.live_view import LiveView
from qa_station.ui.qualification_panel import StationState
from qa_station.ui.results_table import ResultsTable
from qa_station.ui.settings_view import SettingsView
from qa_station.ui.stats_view import StatsView
from qa_station.ui.workers import FrameThread, Runner

# What a refusal or failure says to the operator; anything else is a fault.
LIVE_GRADE_MS = 250
OUTBOX_RETRY_MS = 5000  # how often a bench that lost its floor database tries it again

EXPECTED = (GateRefused, CatalogError, AuthError, NotSignedIn, ScanError, StoreError, ValueError)


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, controller: StationController, live: bool = True) -> None:
        super().__init__()
        self.c = controller
        self.setWindowTitle("qa-station: MPO / fibre end-face inspection bench")
        self.runner = Runner(self)
        self.cancel = threading.Event()
        self.mode = "live"  # "live" or "review"
        self.scanning = False
        self._live_caption = ""
        self.certificates: dict[str, str] = {}  # serial: what became of its certificate
        self.end: str | None = None
        self.last_frame: Frame | None = None
        self.focus_score: float | None = None
        self._build()
        self._shortcuts()
        self.frames = FrameThread(controller, self)
        self.frames.frame.connect(self._on_frame, QtCore.Qt.ConnectionType.QueuedConnection)
        self.frames.focus.connect(self._on_focus)
        self.frames.problem.connect(self._on_device_problem)
        if live:
            self.frames.start()
        self.status_timer = QtCore.QTimer(self)
        self.status_timer.timeout.connect(self._update_status)
        self.status_timer.start(500)
        # Live grading: the newest frame is graded in the background a few times a second
        # and its overlay laid over the live picture, so the operator sees the verdict
        # while positioning. It has its own worker so it never holds up a gate action.
        self.live_runner = Runner(self)
        self.live_grading = QtCore.QTimer(self)
        self.live_grading.timeout.connect(self._grade_live)
        self.live_grading.start(LIVE_GRADE_MS)
        # The floor database: while it is down the gate keeps actions in the outbox; this
        # timer sends them (in a worker of its own) as soon as the database answers again.
        self.floor_runner = Runner(self)
        self.outbox_timer = QtCore.QTimer(self)
        self.outbox_timer.timeout.connect(self._send_outbox)
        self.outbox_timer.start(OUTBOX_RETRY_MS)
        self._update_status()
        if controller.signing_problem:
            self._say(controller.signing_problem, theme.ADVICE)
        if controller.last_replay is not None:
            self._replayed(controller.last_replay)

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.tabs = QtWidgets.QTabWidget()
        self.setCentralWidget(self.tabs)
        bench = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        left = QtWidgets.QWidget()
        lv = QtWidgets.QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        bar = QtWidgets.QHBoxLayout()
        self.live_btn = QtWidgets.QPushButton("Live (L)")
        self.live_btn.clicked.connect(self.go_live)
        self.capture_btn = QtWidgets.QPushButton("Capture (Space)")
        self.capture_btn.clicked.connect(self.capture)
        self.focus_btn = QtWidgets.QPushButton("Autofocus (F)")
        self.focus_btn.clicked.connect(self.autofocus)
        self.overlay_box = QtWidgets.QCheckBox("Overlays (O)")
        self.overlay_box.setChecked(True)
        self.overlay_box.toggled.connect(lambda on: self.view.set_overlays(on))
        self.overview_btn = QtWidgets.QPushButton("Whole ferrule")
        self.overview_btn.clicked.connect(lambda: self.show_fibre(None))
        for w in (
            self.live_btn,
            self.capture_btn,
            self.focus_btn,
            self.overview_btn,
            self.overlay_box,
        ):
            bar.addWidget(w)
        bar.addStretch(1)
        lv.addLayout(bar)
        self.view = LiveView()
        self.view.set_caption("scan or type an assembly's serial to begin (Ctrl+F)")
        self.view_buttons = (self.live_btn, self.capture_btn, self.focus_btn, self.overview_btn)
        for b in self.view_buttons:
            b.setEnabled(False)  # they act on an assembly's end: none yet
        self.view.frame_drawn.connect(
            lambda: self.frames.taken() if hasattr(self, "frames") else None
        )
        lv.addWidget(self.view, 1)
        bench.addWidget(left)
        right = QtWidgets.QWidget()
        rv = QtWidgets.QVBoxLayout(right)
        row = QtWidgets.QHBoxLayout()
        self.serial = QtWidgets.QLineEdit()
        self.serial.setPlaceholderText("scan or type the assembly's serial, Enter")
        self.serial.returnPressed.connect(lambda: self.open_serial(self.serial.text()))
        open_btn = QtWidgets.QPushButton("Open")
        open_btn.clicked.connect(lambda: self.open_serial(self.serial.text()))
        row.addWidget(self.serial, 1)
        row.addWidget(open_btn)
        rv.addLayout(row)
        self.product = QtWidgets.QLabel("no assembly on the bench")
        self.product.setWordWrap(True)
        self.product.setObjectName("product")
        rv.addWidget(self.product)
        self.banner = QtWidgets.QLabel("")
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        rv.addWidget(self.banner)
        # Stays up for as long as the floor database is down (the banner above changes with
        # every action; this must not scroll away).
        self.floor_notice = QtWidgets.QLabel("")
        self.floor_notice.setObjectName("floorNotice")
        self.floor_notice.setWordWrap(True)
        self.floor_notice.setVisible(False)
        self.floor_notice.setStyleSheet(
            f"background:{theme.ADVICE}; color:white; padding:6px; border-radius:4px;"
        )
        rv.addWidget(self.floor_notice)
        self.gate = GatePanel()
        self.gate.end_changed.connect(self.select_end)
        self.gate.inspect_requested.connect(self.inspect)
        self.gate.clean_requested.connect(self.record_cleaning)
        self.gate.connect_requested.connect(self.connect_end)
        self.gate.supervisor_requested.connect(self.supervisor)
        self.gate.cancel_requested.connect(self.cancel_scan)
        rv.addWidget(self.gate)
        self.map = FibreMap()
        self.map.fibre_clicked.connect(self.show_fibre)
        rv.addWidget(self.map)
        self.table = ResultsTable()
        self.table.fibre_clicked.connect(self.show_fibre)
        rv.addWidget(self.table, 1)
        self.detail = QtWidgets.QLabel("")
        self.detail.setObjectName("fibreDetail")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        rv.addWidget(self.detail)
        bench.addWidget(right)
        bench.setStretchFactor(0, 3)
        bench.setStretchFactor(1, 2)
        self.tabs.addTab(bench, "Bench")
        self.history = HistoryView(self.c, self.runner)
        self.tabs.currentChanged.connect(self._tab_shown)
        self.tabs.addTab(self.history, "History && audit")
        self.stats = StatsView(self.c, self.runner)
        self.tabs.addTab(self.stats, "Statistics")
        self.settings = SettingsView(self.c, self.runner, self)
        self.tabs.addTab(self.settings, "Settings")
        self.s_operator = QtWidgets.QLabel()
        self.s_probe = QtWidgets.QLabel()
        self.s_fixture = QtWidgets.QLabel()
        self.s_focus = QtWidgets.QLabel()
        self.s_fps = QtWidgets.QLabel()
        self.s_store = QtWidgets.QLabel()
        self.s_qualified = StationState(self.c, self)
        for w in (
            self.s_qualified,
            self.s_operator,
            self.s_probe,
            self.s_fixture,
            self.s_focus,
            self.s_fps,
            self.s_store,
        ):
            self.statusBar().addPermanentWidget(w)
        signout = self.menuBar().addMenu("&Station")
        act = signout.addAction("Sign out")
        act.setShortcut(QtGui.QKeySequence("Ctrl+L"))
        act.triggered.connect(self.sign_out)
        quit_act = signout.addAction("Quit")
        quit_act.setShortcut(QtGui.QKeySequence("Ctrl+Q"))
        quit_act.triggered.connect(self.close)

    def _shortcuts(self) -> None:
        # Space and Esc are shortcuts. The letters are read in keyPressEvent instead: a
        # QShortcut fires before the wedge filter can tell a person's key from the first
        # key of a barcode burst, so scanning "LCD-..." would press Live and Clean.
        keys = {
            "Space": self.capture,
            "Esc": self.cancel_scan,
            "Ctrl+F": self.focus_serial,
        }
        self._keys = {}
        for key, fn in keys.items():
            sc = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            sc.setContext(QtCore.Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(lambda fn=fn: self._when_bench(fn))
            self._keys[key] = sc
        self._letters = {
            QtCore.Qt.Key.Key_I: lambda: self.inspect(self.gate.current_end()),
            QtCore.Qt.Key.Key_C: self.gate.request_clean,
            QtCore.Qt.Key.Key_N: self.gate.request_connect,
            QtCore.Qt.Key.Key_F: self.autofocus,
            QtCore.Qt.Key.Key_O: self.overlay_box.toggle,
            QtCore.Qt.Key.Key_L: self.go_live,
            QtCore.Qt.Key.Key_E: self.gate.next_end,
        }

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        # Reaches the window only when the focused widget did not want the key (not a field).
        fn = self._letters.get(event.key())
        if fn is not None and event.modifiers() == QtCore.Qt.KeyboardModifier.NoModifier:
            self._when_bench(fn)
            event.accept()
            return
        super().keyPressEvent(event)

    def focus_serial(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.serial.setFocus()
        self.serial.selectAll()

    def _when_bench(self, fn) -> None:
        # Gate keys act only on the bench page and not while typing in a field.
        focus = QtWidgets.QApplication.focusWidget()
        typing = isinstance(focus, QtWidgets.QLineEdit | QtWidgets.QPlainTextEdit)
        if fn is not self.focus_serial and (
            self.tabs.currentIndex() != 0 or (typing and fn is not self.cancel_scan)
        ):
            return
        if self.scanning and fn not in (self.cancel_scan, self.overlay_box.toggle):
            self.statusBar().showMessage("a scan is running: wait for it, or Esc to cancel", 3000)
            return
        fn()

    def _tab_shown(self, index: int) -> None:
        if self.tabs.widget(index) is self.history:
            self.history.search()  # what happened at the bench since it was last open

    # -- who -------------------------------------------------------------------------------
    def sign_in(self) -> bool:
        """Ask until someone signs in (or the dialog is cancelled: then False)."""
        while True:
            first = self.c.needs_first_admin()
            dlg = LoginDialog(self, first=first)
            app = QtWidgets.QApplication.instance()
            wedge = getattr(app, "wedge", None)
            if wedge is not None and not first:
                wedge.scanned.connect(dlg.take_badge)
            try:
                if dlg.exec() != QtWidgets.QDialog.DialogCode.Accepted:
                    return False
            finally:
                if wedge is not None and not first:
                    wedge.scanned.disconnect(dlg.take_badge)
            try:
                if first:
                    if dlg.password.text() != dlg.again.text():
                        raise AuthError("the two passwords differ")
                    self.c.create_first_admin(
                        dlg.username.text().strip(),
                        dlg.password.text(),
                        dlg.name.text().strip() or None,
                    )
                elif dlg.badge:
                    self.c.login_badge(dlg.badge)
                else:
                    self.c.login(dlg.username.text().strip(), dlg.password.text())
            except AuthError as exc:
                QtWidgets.QMessageBox.warning(self, "Sign in", str(exc))
                continue
            self._update_status()
            return True

    def sign_out(self) -> None:
        self.c.logout()
        self._update_status()
        if not self.sign_in():
            self.close()

    # -- the scanner -------------------------------------------------------------------------
    def scanned(self, code: str) -> None:
        """A barcode burst from a wedge scanner, wherever the focus was."""
        if QtWidgets.QApplication.activeModalWidget() is not None:
            return  # a dialog is up (a badge at sign-in): the scan is the dialog's
        if self.gate.tool.hasFocus():
            self.gate.tool.setText(code)  # the cleaning tool's label
            return
        self.serial.setText(code)
        self.open_serial(code)

    # -- the assembly ----------------------------------------------------------------------
    def open_serial(self, label: str) -> None:
        if not label.strip():
            return
        self._say("")
        self.runner.start(lambda report: self.c.open_serial(label), self._opened, self._failed)

    def _opened(self, session) -> None:
        p = session.identified.product
        part = session.identified.part_number or "part number not scanned"
        self.product.setText(
            f"<b>{session.serial}</b> &nbsp; {p.name}<br>{part} &middot; policy {p.policy}"
        )
        self.serial.clear()
        self.gate.set_enabled(True)
        for b in self.view_buttons:
            b.setEnabled(True)
        self.gate.set_ends([e.label for e in session.ends])
        self._show_assembly_status(session.state)

    def select_end(self, end: str) -> None:
        if not end or self.c.session is None:
            return
        self.end = end
        definition = self.c.session.identified.product.end(end)
        self.map.set_connector(definition.geometry)
        self._refresh_end()
        first = 1 if definition.geometry.fiber_count else None

        def work(report):
            # A new end sits at a new height: move to it and focus before the operator looks.
            self.c.show(end, first)
            return self.c.focus()

        self.runner.start(work, self._focused_on_end, self._failed)

    def _focused_on_end(self, position: int) -> None:
        self.statusBar().showMessage(f"end {self.end}: focused at motor step {position}", 4000)
        self.go_live()

    def _refresh_end(self) -> None:
        s = self.c.session
        if s is None or self.end is None:
            return
        state = s.state.end(self.end)
        self.gate.show_state(state)
        result = self._last_result(self.end)
        self.table.set_result(result)
        self.detail.setText("")
        states = {}
        if result is not None:
            for f in result.fibers:
                st = f.verdict if f.verdict in ("pass", "fail") else "error"
                if st != "pass" and state.status == "cleaned":
                    st = "cleaned"
                if st != "pass" and state.status == "escalated":
                    st = "escalated"
                if state.connected:
                    st = "connected"
                states[f.index] = st
        self.map.set_states(states)

    def _last_result(self, end: str) -> EndFaceResult | None:
        s = self.c.session
        scan = s.scans.get(end) if s else None
        if scan is not None:
            return scan.result()
        return None

    # -- the gate --------------------------------------------------------------------------
    def inspect(self, end: str) -> None:
        if not end or self.runner.busy:
            return
        self.cancel = threading.Event()
        self.scanning = True
        self.frames.paused.set()
        self.gate.set_busy(True, "autofocus")
        self.gate.show_refusal("")

        def work(report):
            return self.c.inspect(end, progress=report, cancel=self.cancel)

        self.runner.start(work, self._inspected, self._gate_failed, self._scan_progress)

    def _scan_progress(self, p: ScanProgress) -> None:
        self.gate.set_progress(p.done, p.total, p.message)
        if p.result is not None and p.fiber is not None:
            self.map.select(p.fiber)
            states = dict(self.map.states)
            states[p.fiber] = p.result.verdict if p.result.verdict in ("pass", "fail") else "error"
            self.map.set_states(states)

    def _inspected(self, recorded) -> None:
        self.scanning = False
        self.frames.paused.clear()
        self.gate.set_busy(False)
        self.gate.show_advice(recorded.advice if recorded.verdict != "pass" else None)
        if recorded.probe_alarm:  # the dirty-probe alarm: stop and clean the probe tip
            self.gate.show_refusal(recorded.probe_alarm)
            self.s_qualified.refresh()
        self._show_assembly_status(recorded.state)
        scan = self.c.session.scans.get(self.end)
        failing = [f.index for f in scan.result().fibers if f.verdict != "pass"] if scan else []
        self.show_fibre(failing[0] if failing else 1)

    def record_cleaning(self, end: str, method: str, tool: str, adapter: bool) -> None:
        if self.scanning:
            return
        self.gate.show_refusal("")
        self.runner.start(
            lambda r: self.c.clean(end, method, tool, adapter),
            self._after_action,
            self._gate_failed,
        )

    def connect_end(self, end: str, mode: str) -> None:
        if self.scanning:
            return
        self.gate.show_refusal("")
        self.runner.start(
            lambda r: self.c.connect(end, mode), self._after_action, self._gate_failed
        )

    def supervisor(self, end: str) -> None:
        dlg = SupervisorDialog(end, self)
        if dlg.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return
        args = (
            dlg.username.text().strip(),
            dlg.password.text(),
            dlg.action.currentData(),
            dlg.reason.toPlainText().strip(),
            end,
        )
        who, _, action, _, _ = args
        said = {
            Kind.END_OVERRIDE: f"supervisor {who} overrode the gate: end {end} connected (a deviation)",
            Kind.END_RELEASED_FOR_REWORK: f"supervisor {who} released end {end} for rework: it starts over",
            Kind.ASSEMBLY_REJECTED: f"supervisor {who} rejected the assembly",
        }[action]

        def decided(state) -> None:
            self.gate.show_refusal("")
            self.statusBar().showMessage(said, 15000)
            self._after_action(state)

        self.runner.start(lambda r: self.c.supervisor_decision(*args), decided, self._gate_failed)

    def _after_action(self, state) -> None:
        self._show_assembly_status(state)

    def _show_assembly_status(self, state) -> None:
        self._refresh_end()
        if state.status == "accepted" and self.c.offline:
            self._say(
                f"{state.serial} ACCEPTED at this bench while the floor database is down: it is "
                "recorded, and its certificate issued, when the database is back",
                theme.ADVICE,
            )
        elif state.status == "accepted":
            known = self.certificates.get(state.serial)
            self._say(f"{state.serial} ACCEPTED: every end released" + (known or ""), theme.OK)
            if known is None:
                self._issue_certificate(state.serial)
        elif state.status == "rejected":
            self._say(f"{state.serial} REJECTED: {state.reason or ''}", theme.REFUSAL)
        else:
            done = sum(1 for e in state.ends.values() if e.connected)
            self._say(f"{state.serial}: {done} of {len(state.ends)} ends released", "#34495e")

    def _issue_certificate(self, serial: str) -> None:
        """The certificate is written the moment the assembly is accepted, in a worker."""
        self.certificates[serial] = ": writing its certificate..."

        def written(path) -> None:
            self.certificates[serial] = f": certificate {path}"
            self._say_if_current(serial, f"{serial} ACCEPTED: certificate {path}", theme.OK)

        def not_written(exc: Exception) -> None:
            self.certificates[serial] = f", but its certificate could not be written: {exc}"
            self._say_if_current(
                serial,
                f"{serial} ACCEPTED, but its certificate could not be written: {exc} "
                "(re-issue it from History when that is fixed)",
                theme.ADVICE,
            )

        self.runner.start(lambda r: self.c.issue_certificate(serial), written, not_written)

    def _say_if_current(self, serial: str, text: str, colour: str) -> None:
        if self.c.session is not None and self.c.session.serial == serial:
            self._say(text, colour)

    def cancel_scan(self) -> None:
        self.cancel.set()

    def _gate_failed(self, exc: Exception) -> None:
        self.scanning = False
        self.frames.paused.clear()
        self.gate.set_busy(False)
        if isinstance(exc, EXPECTED):
            self.gate.show_refusal(str(exc))
            if self.c.session is not None:
                with contextlib.suppress(*EXPECTED):
                    self.c.refresh()
                self._refresh_end()
        else:
            self._fault(exc)

    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, EXPECTED):
            self._say(str(exc), theme.REFUSAL)
        else:
            self._fault(exc)

    def _fault(self, exc: Exception) -> None:
        QtWidgets.QMessageBox.critical(self, "Something went wrong", f"{type(exc).__name__}: {exc}")

    def _say(self, text: str, colour: str = "#34495e") -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))
        self.banner.setStyleSheet(
            f"background:{colour}; color:white; padding:6px; border-radius:4px; font-weight:bold;"
        )

    # -- the view --------------------------------------------------------------------------
    def _on_frame(self, frame: Frame) -> None:
        self.last_frame = frame
        if self.mode == "live":
            self.view.set_frame(frame.image)
            where = f"fibre {frame.fiber}" if frame.fiber else "whole ferrule"
            caption = f"LIVE  end {frame.end or '-'}  {where}"
            if self._live_caption != caption and not self._live_caption.startswith(caption + "  "):
                # A new place: the last live verdict belonged to the old one.
                self._live_caption = caption
                self.view.set_caption(caption)
                self.view.set_result(None)
        else:
            self.frames.taken()

    def _on_focus(self, score: float) -> None:
        self.focus_score = score

    def _on_device_problem(self, text: str) -> None:
        if text:
            self._say(text, theme.REFUSAL)
        else:
            self._say("")

    def go_live(self) -> None:
        """Back to the probe's picture, at the fibre the operator was looking at."""
        self.mode = "live"
        self.view.set_result(None)
        self._live_caption = ""
        self.view.set_caption(f"LIVE  end {self.end or '-'}")
        fibre, frame = self.map.selected, self.last_frame
        if self.end is not None:
            self.table.set_result(self._last_result(self.end))  # not a capture's any more
            if fibre:
                self.table.select_fibre(fibre)
        if self.end and fibre and frame is not None and frame.fiber != fibre and not self.scanning:
            end = self.end
            self.runner.start(lambda r: self.c.show(end, fibre), None, self._failed)

    def show_fibre(self, fibre: int | None) -> None:
        """A fibre's frame from the last inspection, with its overlay (or move the live view)."""
        s = self.c.session
        if s is None or self.end is None:
            return
        scan = s.scans.get(self.end)
        if fibre is not None and scan is not None and fibre in scan.frames:
            f = scan.fibers[fibre]
            result = EndFaceResult(
                verdict=f.verdict,
                um_per_px=scan.um_per_px,
                rules=scan.rules,
                connector=scan.connector,
                fibers=(f,),
                rules_sha256=scan.rules_sha256,
            )
            self.mode = "review"
            self.view.set_frame(scan.frames[fibre].image)
            self.view.set_result(result)
            self.view.set_caption(f"INSPECTION  end {self.end}  fibre {fibre}: {f.verdict.upper()}")
            self.map.select(fibre)
            self.table.select_fibre(fibre)
            self._say_fibre(f)
            return
        end = self.end
        self.map.select(fibre)
        self.runner.start(lambda r: self.c.show(end, fibre), lambda _: self.go_live(), self._failed)

    def _say_fibre(self, f) -> None:
        """The selected fibre's verdict and every limit it broke, in full."""
        words = f"<b>fibre {f.index}: {f.verdict.upper()}</b>"
        if f.failures:
            words += "<br>" + "<br>".join(f.failures)
        elif f.error:
            words += f"<br>{f.error}"
        else:
            words += f" &middot; {len(f.defects)} defect(s) within the limits"
        self.detail.setText(words)

    def _grade_live(self) -> None:
        frame, end = self.last_frame, self.end
        if (
            self.mode != "live"
            or not self.overlay_box.isChecked()
            or self.scanning
            or self.live_runner.busy
            or frame is None
            or end is None
            or frame.view != "fiber"
            or frame.end != end
            or self.c.session is None
        ):
            return

        def work(report):
            return frame, self.c.grade_frame(frame, end)

        self.live_runner.start(work, self._live_graded, lambda exc: None)

    def _live_graded(self, out) -> None:
        frame, result = out
        now = self.last_frame
        if self.mode != "live" or now is None or now.fiber != frame.fiber or now.end != frame.end:
            return  # the view moved on while it was graded
        self.view.set_result(result)
        verdict = result.verdict.upper() + (f": {result.error}" if result.error else "")
        self._live_caption = f"LIVE  end {frame.end}  fibre {frame.fiber}  {verdict}"
        self.view.set_caption(self._live_caption)

    def capture(self) -> None:
        frame, end = self.last_frame, self.end
        if frame is None or end is None:
            return

        def work(report):
            return frame, self.c.grade_frame(frame, end)

        self.runner.start(work, self._captured, self._failed)

    def _captured(self, out) -> None:
        frame, result = out
        if self.c.session is not None:
            self._show_assembly_status(self.c.session.state)
        self.mode = "review"
        self.view.set_frame(frame.image)
        self.view.set_result(result)
        where = f"fibre {frame.fiber}" if frame.fiber else "overview"
        self.view.set_caption(
            f"CAPTURE  end {frame.end} {where}: {result.verdict.upper()}"
            + (f" ({result.error})" if result.error else "")
        )
        self.table.set_result(result)
        if result.fibers:
            worst = [f for f in result.fibers if f.verdict != "pass"] or list(result.fibers)
            self._say_fibre(worst[0])
        else:
            self.detail.setText(f"<b>not judged</b><br>{result.error or ''}")

    def autofocus(self) -> None:
        self.runner.start(
            lambda r: self.c.focus(),
            lambda pos: self.statusBar().showMessage(f"focused at {pos}", 3000),
            self._failed,
        )

    def _update_status(self) -> None:
        a = self.c.actor
        self.s_operator.setText(f"operator: {a.display_name} ({a.role})" if a else "not signed in")
        info = self.c.bench.probe.info
        self.s_probe.setText(f"probe: {info.probe_id}")
        self.s_fixture.setText(f"fixture: {self.c.bench.fixture_source}")
        self.s_focus.setText(
            f"focus: {self.focus_score:.1f}" if self.focus_score is not None else "focus: -"
        )
        self.s_fps.setText(f"{self.c.frame_rate:.0f} fps")
        if self.c.offline:
            n = self.c.outbox_pending()
            self.s_store.setText(f"store: {self.c.store.dialect} DOWN, {n} in the outbox")
            self.s_store.setStyleSheet(f"color:{theme.REFUSAL}; font-weight:bold;")
        else:
            self.s_store.setText(f"store: {self.c.store.dialect}")
            self.s_store.setStyleSheet("")
        if self.c.offline:
            self.floor_notice.setText(
                f"The floor database is down ({self.c.gate.offline_reason}). The bench keeps "
                f"working: {self.c.outbox_pending()} action(s) kept in this bench's outbox, sent "
                "in order when the database is back. Sign-ins and supervisor decisions wait."
            )
        self.floor_notice.setVisible(self.c.offline)

    # -- the floor database ----------------------------------------------------------------
    def _send_outbox(self) -> None:
        if self.floor_runner.busy or not (self.c.offline or self.c.outbox_pending()):
            return
        self.floor_runner.start(lambda r: self.c.replay_outbox(), self._replayed, self._failed)

    def _replayed(self, report) -> None:
        if report.problem is not None or not report.sent:
            return
        for serial, path in zip(report.accepted, report.certificates, strict=False):
            self.certificates[serial] = f": certificate {path}"
        lines = [f"The floor database is back: {report.sent} action(s) kept offline were sent."]
        lines += [str(x) for x in report.conflicts]
        lines += report.certificate_problems
        if report.conflicts:
            lines.append("A supervisor must settle each refused action (History shows them).")
        colour = theme.REFUSAL if report.conflicts else theme.OK
        self._say("\n".join(lines), colour if not report.certificate_problems else theme.ADVICE)
        self._update_status()
        if self.c.session is not None:
            self._refresh_end()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.cancel.set()
        self.live_grading.stop()
        self.status_timer.stop()
        self.outbox_timer.stop()
        self.frames.stop()
        self.runner.wait(10000)
        self.live_runner.wait(5000)
        self.floor_runner.wait(10000)
        super().closeEvent(event)
