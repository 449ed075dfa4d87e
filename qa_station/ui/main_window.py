"""The bench window: the live end face, the fibre map, the gate, the results, the record.

Everything that touches a device or the store runs in a worker; the window
only shows and asks. What it shows (each fibre's state, the next step and its
key, the advice, the supervisor's first choice, where a scan belongs) comes
from ``qa_station.bench_view``. Keys: I inspect, C record cleaning, N connect,
S supervisor decision, T the last cleaning tool again, Space capture (a
preview, recorded nowhere; a foot pedal that sends a space does it too), F
autofocus, O overlays, L live, E next end, Esc cancel a scan (or leave a
field), Ctrl+L sign out, Ctrl+F the serial field.
"""

from __future__ import annotations

import contextlib
import sys
import threading

from PySide6 import QtCore, QtGui, QtWidgets

from grading.results import EndFaceResult
from hardware.probes.base import Frame
from qa_station import bench_view as bv
from qa_station.accounts import AuthError
from qa_station.controller import StationController
from qa_station.text import shown
from qa_station.ui import theme
from qa_station.ui.bench_gate import GateActions
from qa_station.ui.bench_layout import PAGE_TITLES, BenchLayout
from qa_station.ui.bench_picture import PictureActions
from qa_station.ui.dialogs import LoginDialog
from qa_station.ui.wedge import takes_text
from qa_station.ui.workers import FrameThread, Runner

LIVE_GRADE_MS = 250
OUTBOX_RETRY_MS = 5000  # how often a bench that lost its floor database tries it again
K = QtCore.Qt.Key


class MainWindow(BenchLayout, GateActions, PictureActions, QtWidgets.QMainWindow):
    def __init__(self, controller: StationController, live: bool = True) -> None:
        super().__init__()
        self.c = controller
        self.setWindowTitle("qa-station: MPO / fibre end-face inspection bench")
        self.runner = Runner(self)
        self.cancel = threading.Event()
        self.mode = "live"  # "live", "review" (an inspection's frame) or "preview" (a capture)
        self.scanning = False
        self._live_caption = ""
        self.certificates: dict[str, str] = {}  # serial: what became of its certificate
        self.end: str | None = None
        self.part_number: str | None = None  # scanned alone, waiting for its serial
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
        self.activity.watch(self.floor_runner)
        self.outbox_timer = QtCore.QTimer(self)
        self.outbox_timer.timeout.connect(self._send_outbox)
        self.outbox_timer.start(OUTBOX_RETRY_MS)
        # What the first certificate needs is loaded meanwhile, so it is as fast as the rest.
        self.warm_runner = Runner(self)
        self.warm_runner.start(lambda r: controller.warm_up(), None, lambda exc: None)
        app = QtWidgets.QApplication.instance()
        app.focusChanged.connect(self._focus_moved)
        self.wedge = getattr(app, "wedge", None)
        if self.wedge is not None:  # a wedge scanner's codes come here, wherever the focus is
            self.wedge.configure(controller.config.scanner_prefix, controller.config.scanner_suffix)
            self.wedge.scanned.connect(self.scanned)
            self.wedge.broken.connect(self.scan_broken)
        self._update_status()
        self._refresh_next()
        if controller.signing_problem:
            self._say(controller.signing_problem, theme.ADVICE)
        if controller.last_replay is not None:
            self._replayed(controller.last_replay)

    # -- the other pages, built when first shown -------------------------------------------
    def page(self, name: str) -> QtWidgets.QWidget:
        """The History, Statistics or Settings page (built now if it was not yet)."""
        if name not in self._pages:
            if name == "history":
                from qa_station.ui.history_view import HistoryView

                widget = HistoryView(self.c, self.runner)
            elif name == "stats":
                from qa_station.ui.stats_view import StatsView

                widget = StatsView(self.c, self.runner)
            else:
                from qa_station.ui.settings_view import SettingsView

                widget = SettingsView(self.c, self.runner, self)
                widget.scanner_keys_saved.connect(self._scanner_keys_changed)
            self._pages[name] = widget
            index = list(PAGE_TITLES).index(name) + 1
            current = self.tabs.currentIndex()
            self.tabs.blockSignals(True)  # the placeholder goes, the page takes its place
            placeholder = self.tabs.widget(index)
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, widget, PAGE_TITLES[name])
            self.tabs.setCurrentIndex(current)
            self.tabs.blockSignals(False)
            placeholder.deleteLater()
        return self._pages[name]

    @property
    def history(self):
        return self.page("history")

    @property
    def stats(self):
        return self.page("stats")

    @property
    def settings(self):
        return self.page("settings")

    def show_page(self, name: str) -> None:
        self.tabs.setCurrentIndex({"bench": 0, "history": 1, "stats": 2, "settings": 3}[name])

    def _tab_shown(self, index: int) -> None:
        name = {1: "history", 2: "stats", 3: "settings"}.get(index)
        if name is None:
            self.focus_bench()
            return
        page = self.page(name)
        if name == "history":
            page.search()  # what happened at the bench since it was last open
        if name == "stats":
            page.take_focus()

    def _scanner_keys_changed(self, prefix: str, suffix: str) -> None:
        wedge = getattr(QtWidgets.QApplication.instance(), "wedge", None)
        if wedge is not None:
            wedge.configure(prefix, suffix)

    # -- keys ------------------------------------------------------------------------------
    def _shortcuts(self) -> None:
        # Space and Esc are shortcuts. The letters are read in keyPressEvent instead: a
        # QShortcut fires before the wedge filter can tell a person's key from the first
        # key of a barcode burst, so scanning "LCD-..." would press Live and Clean.
        keys = {"Space": self.capture, "Esc": self.escape, "Ctrl+F": self.focus_serial}
        self._keys = {}
        for key, fn in keys.items():
            sc = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            sc.setContext(QtCore.Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(lambda fn=fn: self._when_bench(fn))
            self._keys[key] = sc
        self._letters = {
            K.Key_I: lambda: self.inspect(self.gate.current_end()),
            K.Key_C: self.gate.request_clean,
            K.Key_N: self.gate.request_connect,
            K.Key_S: lambda: self.supervisor(self.gate.current_end()),
            K.Key_T: self.use_last_tool,
            K.Key_F: self.autofocus,
            K.Key_O: self.overlay_box.toggle,
            K.Key_L: self.go_live,
            K.Key_E: self.gate.next_end,
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

    def focus_bench(self) -> None:
        """The gate keys go to the bench (the live view holds the focus)."""
        if self.tabs.currentIndex() == 0 and QtWidgets.QApplication.activeModalWidget() is None:
            self.view.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)

    def escape(self) -> None:
        """Esc: cancel the scan; otherwise leave the field being typed in for the bench."""
        if self.scanning:
            self.cancel_scan()
        elif takes_text(QtWidgets.QApplication.focusWidget()):
            self.focus_bench()

    def _when_bench(self, fn) -> None:
        # Gate keys act only on the bench page and not while typing in a field.
        # (bound methods are made anew on each access: compare them with ==, not "is")
        focus = QtWidgets.QApplication.focusWidget()
        typing = takes_text(focus)
        if fn != self.focus_serial and (
            self.tabs.currentIndex() != 0 or (typing and fn != self.escape)
        ):
            return
        if self.scanning and fn not in (self.escape, self.overlay_box.toggle):
            self.statusBar().showMessage("a scan is running: wait for it, or Esc to cancel", 3000)
            return
        fn()

    def _focus_moved(self, _old, new: QtWidgets.QWidget | None) -> None:
        """Say where typed keys go: the window always shows it."""
        if new is None or new.window() is not self:
            return
        if new is self.view:
            text = "keys: the bench (I, C, N, E... act)"
            style = "color:#1e8449; font-weight:bold;"
        elif takes_text(new):
            name = {
                self.serial: "the serial field",
                self.gate.tool: "the tool field",
            }.get(new, "a text field")
            text = f"keys: typing into {name} (Enter or Esc: back to the bench)"
            style = f"color:{theme.ADVICE}; font-weight:bold;"
        else:
            text = "keys: the bench"
            style = "color:#1e8449; font-weight:bold;"
        self.keys_to.setText(text)
        self.keys_to.setStyleSheet(style)

    # -- who -------------------------------------------------------------------------------
    def sign_in(self) -> bool:
        """Ask until someone signs in (or the dialog is cancelled: then False)."""
        username = ""
        while True:
            first = self.c.needs_first_admin()
            dlg = LoginDialog(self, first=first, username=username)
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
            username = dlg.username.text().strip()
            try:
                if first:
                    if dlg.password.text() != dlg.again.text():
                        raise AuthError("the two passwords differ")
                    self.c.create_first_admin(
                        username, dlg.password.text(), dlg.name.text().strip() or None
                    )
                elif dlg.badge:
                    self.c.login_badge(dlg.badge)
                else:
                    self.c.login(username, dlg.password.text())
            except AuthError as exc:
                QtWidgets.QMessageBox.warning(self, "Sign in", str(exc))
                continue
            self._update_status()
            self._refresh_next()
            self.focus_bench()
            return True

    def sign_out(self) -> None:
        self.c.logout()
        self._clear_bench()
        self._update_status()
        if not self.sign_in():
            self.close()

    def _clear_bench(self) -> None:
        """Nothing of the last assembly stays on screen once its operator has gone."""
        self.end = None
        self.part_number = None
        self.mode = "live"
        self.product.setText("no assembly on the bench")
        self.serial.clear()
        self.gate.set_ends([])
        self.gate.show_end(None)
        self.gate.show_refusal("")
        self.gate.reset_choices()
        self.gate.set_enabled(False)
        for b in self.view_buttons:
            b.setEnabled(False)
        self.map.set_connector(None)
        self.table.set_result(None)
        self.detail.setText("")
        self.view.set_result(None)
        self.view.set_preview(False)
        self.view.image.clear()
        self.view.set_caption("scan or type an assembly's serial to begin (Ctrl+F)")
        self._say("")
        self._refresh_next()

    # -- the scanner -------------------------------------------------------------------------
    def scanned(self, code: str) -> None:
        """A barcode scan from a wedge scanner, wherever the focus was."""
        if QtWidgets.QApplication.activeModalWidget() is not None:
            return  # a dialog is up (a badge at sign-in): the scan is the dialog's
        focus = QtWidgets.QApplication.focusWidget()
        if isinstance(focus, QtWidgets.QLineEdit) and focus not in (self.serial, self.gate.tool):
            focus.insert(code)  # a search box, a settings field: the code is typed there
            return
        self._take_code(code, tool_field=focus is self.gate.tool, typed=focus is self.serial)

    def _take_code(self, code: str, tool_field: bool = False, typed: bool = False) -> None:
        """A code, scanned or typed into the serial field: a serial, a part number or a tool."""
        state, end = self._state_and_end()
        awaiting = (
            not typed
            and state is not None
            and end is not None
            and state.status == "open"
            and bv.needs_cleaning(state.end(end))
        )
        routed = bv.route_scan(
            code,
            self.c.catalog,
            tool_field=tool_field,
            awaiting_clean=awaiting,
            part_number=self.part_number,
        )
        self.tabs.setCurrentIndex(0)
        self.serial.clear()
        if routed.kind == "tool":
            self.gate.tool.setText(routed.text)
            self.statusBar().showMessage(f"cleaning tool {routed.text} scanned", 5000)
        elif routed.kind == "part":
            self.part_number = routed.text
            self.product.setText(f"part number <b>{routed.text}</b>: now scan the serial")
        else:
            self.part_number = None
            self.open_serial(routed.text)
        self.focus_bench()
        self._refresh_next()

    def scan_broken(self, partial: str) -> None:
        """A scan that did not arrive whole is said, never taken in part."""
        got = f" ({partial!r} arrived)" if partial else ""
        self._say(
            f"a barcode scan arrived in pieces and was not taken{got}: scan it again; if this "
            "repeats, set the scanner's prefix (Settings, Devices)",
            theme.REFUSAL,
        )

    # -- the assembly ----------------------------------------------------------------------
    def _serial_entered(self) -> None:
        text = self.serial.text()
        if text.strip():
            self._take_code(text, typed=True)

    def open_serial(self, label: str) -> None:
        if not label.strip():
            return
        self._say("")
        self.runner.start(
            lambda report: self.c.open_serial(label),
            self._opened,
            self._failed,
            label=f"opening {label.strip()}",
        )

    def _opened(self, session) -> None:
        p = session.identified.product
        part = session.identified.part_number or "part number not scanned"
        self.product.setText(
            f"<b>{session.serial}</b> &nbsp; {p.name}<br>{part} &middot; policy {p.policy}"
        )
        self.serial.clear()
        self.part_number = None
        self.gate.reset_choices()  # nothing chosen for this assembly yet
        self.gate.show_refusal("")
        self.gate.set_enabled(True)
        for b in self.view_buttons:
            b.setEnabled(True)
        self.gate.set_ends([e.label for e in session.ends])
        self._show_assembly_status(session.state)
        self.focus_bench()

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

        self.runner.start(
            work, self._focused_on_end, self._failed, label=f"moving to end {end} and focusing"
        )

    def _focused_on_end(self, position: int) -> None:
        self.statusBar().showMessage(f"end {self.end}: focused at motor step {position}", 4000)
        self.go_live()

    def _state_and_end(self):
        s = self.c.session
        if s is None:
            return None, None
        return s.state, self.end

    def _bench(self) -> bv.Bench:
        return bv.Bench(
            signed_in=self.c.actor is not None,
            scanning=self.scanning,
            tool_id=self.gate.tool.text(),
            last_tool=self.gate.last_tool,
            method=self.gate.method.currentData() or "",
            mode=self.gate.mode.currentData() or "connected",
            part_number=self.part_number,
        )

    def _refresh_next(self) -> None:
        state, end = self._state_and_end()
        step = bv.next_step(state, end, self._bench(), self.c.store.time.peek())
        self.next_step = step
        key = (
            f"<span style='background:#f1c40f; color:#1a1a1a; padding:0 4px;'>&nbsp;{step.key}"
            "&nbsp;</span> "
            if step.key
            else ""
        )
        first = f"{step.first}, then " if step.first else ""
        self.next_line.setText(f"Next: {first}{key}{step.action}")
        self.next_line.setToolTip(step.text)

    def _refresh_end(self) -> None:
        s = self.c.session
        if s is None or self.end is None:
            self._refresh_next()
            return
        result = self._last_result(self.end)
        view = bv.end_view(s.state, self.end, result)
        self.gate.show_end(view)
        self.table.set_result(result)
        self.detail.setText("")
        self.map.set_states(view.fibres)
        self._refresh_next()

    def _last_result(self, end: str) -> EndFaceResult | None:
        s = self.c.session
        scan = s.scans.get(end) if s else None
        if scan is not None:
            return scan.result()
        return None

    def _fault(self, exc: Exception) -> None:
        """A mistake in the station, not a refusal: said as one, with what to send along."""
        trace = getattr(exc, "__traceback_text__", "") or f"{type(exc).__name__}: {exc}"
        print(f"qa-station: internal error:\n{trace}", file=sys.stderr)
        box = QtWidgets.QMessageBox(self)
        box.setIcon(QtWidgets.QMessageBox.Icon.Critical)
        box.setWindowTitle("qa-station: internal error")
        box.setText(
            f"Something went wrong inside the station ({type(exc).__name__}: {exc}). Nothing "
            "was recorded for this action. Please report it with the details."
        )
        box.setDetailedText(trace)
        box.exec()

    def _say(self, text: str, colour: str = theme.INK) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))
        self.banner.setStyleSheet(
            f"background:{colour}; color:white; padding:6px; border-radius:4px; font-weight:bold;"
        )

    def _update_status(self) -> None:
        """The status bar and the floor notice, from what the bench already knows: no query."""
        a = self.c.actor
        who = f"operator: {shown(a.display_name, 64)} ({a.role})" if a else "not signed in"
        self.s_operator.setText(who)  # a plain-text label: a name cannot carry markup
        info = self.c.bench.probe.info
        self.s_probe.setText(f"probe: {info.probe_id}")
        self.s_fixture.setText(f"fixture: {self.c.bench.fixture_source}")
        self.s_focus.setText(
            f"focus: {self.focus_score:.1f}" if self.focus_score is not None else "focus: -"
        )
        self.s_fps.setText(f"{self.c.frame_rate:.0f} fps")
        floor = self.c.floor
        if floor.offline:
            self.s_store.setText(
                f"store: {self.c.store.dialect} DOWN, {floor.pending} in the outbox"
            )
            self.s_store.setStyleSheet(f"color:{theme.REFUSAL}; font-weight:bold;")
            self.floor_notice.setText(
                f"The floor database is down ({floor.reason}). The bench keeps working: "
                f"{floor.pending} action(s) kept in this bench's outbox, sent in order when "
                "the database is back. Sign-ins and supervisor decisions wait."
            )
        else:
            self.s_store.setText(f"store: {self.c.store.dialect}")
            self.s_store.setStyleSheet("")
        self.floor_notice.setVisible(floor.offline)
        self._refresh_next()  # a pass grows old: connect turns into inspect again

    # -- the floor database ----------------------------------------------------------------
    def _send_outbox(self) -> None:
        if self.floor_runner.busy or not (self.c.floor.offline or self.c.floor.pending):
            return
        self.floor_runner.start(
            lambda r: self.c.replay_outbox(),
            self._replayed,
            self._failed,
            label="sending the outbox to the floor database",
        )

    def _replayed(self, report) -> None:
        self._update_status()
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
        if self.c.session is not None:
            self._refresh_end()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.cancel.set()
        self.live_grading.stop()
        self.status_timer.stop()
        self.outbox_timer.stop()
        self.frames.stop()
        app = QtWidgets.QApplication.instance()
        with contextlib.suppress(RuntimeError, TypeError):
            app.focusChanged.disconnect(self._focus_moved)
        if self.wedge is not None:
            with contextlib.suppress(RuntimeError, TypeError):
                self.wedge.scanned.disconnect(self.scanned)
                self.wedge.broken.disconnect(self.scan_broken)
            self.wedge = None
        self.runner.wait(10000)
        self.live_runner.wait(5000)
        self.floor_runner.wait(10000)
        self.warm_runner.wait(30000)
        super().closeEvent(event)
