"""The gate's actions at the bench: inspect, clean, connect, a supervisor's decision.

Each runs in a worker through the controller; a refusal comes back in the
operator's words (and refreshes the state in the worker), anything else is a
fault. An accepted assembly's certificate is written the moment it is accepted.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

from PySide6 import QtWidgets

from qa_station import bench_view as bv
from qa_station.gate import AssemblyState, InspectionRecorded
from qa_station.scan import ScanProgress
from qa_station.store.kinds import decision
from qa_station.ui import theme
from qa_station.ui.dialogs import SupervisorDialog
from qa_station.ui.workers import Report, Work


class GateActions:
    """The gate's actions; a part of ``MainWindow``."""

    # -- the gate --------------------------------------------------------------------------
    def _gate_task(self, fn: Work) -> Work:
        """A gate action for a worker; a refusal brings the state on screen up to date there."""

        def work(report: Report) -> Any:
            try:
                return fn(report)
            except bv.EXPECTED:
                if self.c.session is not None:
                    with contextlib.suppress(*bv.EXPECTED):
                        self.c.refresh()
                raise

        return work

    def inspect(self, end: str) -> None:
        if not end or self.runner.busy:
            return
        self.cancel = threading.Event()
        self.scanning = True
        self.frames.paused.set()
        self.gate.set_busy(True, "autofocus")
        self.gate.show_refusal("")
        self._refresh_next()
        cancel = self.cancel
        self.runner.start(
            self._gate_task(lambda report: self.c.inspect(end, progress=report, cancel=cancel)),
            self._inspected,
            self._gate_failed,
            self._scan_progress,
        )

    def _scan_progress(self, p: ScanProgress) -> None:
        self.gate.set_progress(p.done, p.total, p.message)
        if p.result is not None and p.fiber is not None:
            self.map.select(p.fiber)
            states = dict(self.map.states)
            states[p.fiber] = p.result.verdict if p.result.verdict in ("pass", "fail") else "error"
            self.map.set_states(states)

    def _inspected(self, recorded: InspectionRecorded) -> None:
        self.scanning = False
        self.frames.paused.clear()
        self.gate.set_busy(False)
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

        def cleaned(state: AssemblyState) -> None:
            self.gate.remember_tool()
            self._after_action(state)
            self.go_live()  # the failing frame and its marks are history now

        self.runner.start(
            self._gate_task(lambda r: self.c.clean(end, method, tool, adapter)),
            cleaned,
            self._gate_failed,
            label=f"recording the cleaning of end {end}",
        )

    def use_last_tool(self) -> None:
        if self.gate.use_last_tool():
            self.statusBar().showMessage(f"cleaning tool {self.gate.last_tool} again", 4000)
        else:
            self.statusBar().showMessage("no tool used yet at this bench: scan its label", 4000)

    def connect_end(self, end: str, mode: str) -> None:
        if self.scanning:
            return
        self.gate.show_refusal("")
        self.runner.start(
            self._gate_task(lambda r: self.c.connect(end, mode)),
            self._after_action,
            self._gate_failed,
            label=f"recording end {end}",
        )

    def supervisor(self, end: str) -> None:
        if not end or self.c.session is None:
            return
        state = self.c.session.state.end(end)
        dlg = SupervisorDialog(
            end,
            self,
            decision=bv.default_decision(state),
            advice=state.escalation.advice if state.escalation else None,
        )
        if dlg.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            self.focus_bench()
            return
        # Qt may hand the item's data back as the kind's plain string value.
        action = decision(dlg.action.currentData())
        args = (
            dlg.username.text().strip(),
            dlg.password.text(),
            action,
            dlg.reason.toPlainText().strip(),
            end,
        )
        who = args[0]
        said = {
            bv.OVERRIDE: f"supervisor {who} overrode the gate: end {end} connected (a deviation)",
            bv.REWORK: f"supervisor {who} released end {end} for rework: it starts over",
            bv.REJECT: f"supervisor {who} rejected the assembly",
        }[action.label]

        def decided(state: AssemblyState) -> None:
            self.gate.show_refusal("")
            self.statusBar().showMessage(said, 15000)
            self._after_action(state)

        self.focus_bench()
        self.runner.start(
            self._gate_task(lambda r: self.c.supervisor_decision(*args)),
            decided,
            self._gate_failed,
            label="recording the supervisor's decision",
        )

    def _after_action(self, state: AssemblyState) -> None:
        self._show_assembly_status(state)

    def _show_assembly_status(self, state: AssemblyState) -> None:
        self._refresh_end()
        if state.status == "accepted" and self.c.floor.offline:
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
            self._say(f"{state.serial}: {done} of {len(state.ends)} ends released", theme.INK)

    def _issue_certificate(self, serial: str) -> None:
        """The certificate is written the moment the assembly is accepted, in a worker."""
        self.certificates[serial] = ": writing its certificate..."

        def written(path: Path) -> None:
            self.certificates[serial] = f": certificate {path}"
            self._say_if_current(serial, f"{serial} ACCEPTED: certificate {path}", theme.OK)

        def not_written(exc: Exception) -> None:
            if not isinstance(exc, bv.EXPECTED):
                self._fault(exc)
            self.certificates[serial] = f", but its certificate could not be written: {exc}"
            self._say_if_current(
                serial,
                f"{serial} ACCEPTED, but its certificate could not be written: {exc} "
                "(re-issue it from History when that is fixed)",
                theme.ADVICE,
            )

        self.runner.start(
            lambda r: self.c.issue_certificate(serial),
            written,
            not_written,
            label=f"signing and writing the certificate of {serial}",
        )

    def _say_if_current(self, serial: str, text: str, colour: str) -> None:
        if self.c.session is not None and self.c.session.serial == serial:
            self._say(text, colour)

    def cancel_scan(self) -> None:
        self.cancel.set()

    def _gate_failed(self, exc: Exception) -> None:
        self.scanning = False
        self.frames.paused.clear()
        self.gate.set_busy(False)
        if isinstance(exc, bv.EXPECTED):
            self.gate.show_refusal(str(exc))
            self._refresh_end()
        else:
            self._refresh_next()
            self._fault(exc)

    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, bv.EXPECTED):
            self._say(str(exc), theme.REFUSAL)
        else:
            self._fault(exc)
