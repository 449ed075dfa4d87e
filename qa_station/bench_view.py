"""What the bench window shows, worked out without Qt.

The window renders; this module decides. From the session on the bench (the
assembly's state as the gate folds it, the latest scan of each end) it works
out each fibre's state on the map, the one next step and the key that does
it, the status of the end in words, the escalation advice, the decision a
supervisor is offered first, and where a scanned code belongs (a serial, a
part number, a cleaning tool's label). Headless tests drive all of it.

The next step is never a guess: ``next_step`` always returns one, with its
key (``I``, ``C``, ``N``, ``E``, ``S``...) or, when nothing but a scan moves
the bench on, what to scan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from grading.results import EndFaceResult
from hardware.cleaning import METHODS
from hardware.focus import FocusError
from hardware.probes.base import ProbeError
from hardware.stages.base import FixtureError
from qa_station.accounts import AuthError, NotSignedIn
from qa_station.catalog import Catalog, CatalogError
from qa_station.certificates.errors import CertificateError
from qa_station.gate import GateRefused
from qa_station.gate.state import AssemblyState, EndState, refuse_connect
from qa_station.record import RecordError
from qa_station.scan import ScanError
from qa_station.store import StoreError
from qa_station.store.clock import Instant
from qa_station.store.images import ImageStoreError
from qa_station.store.outbox import OutboxError

# -- keys --------------------------------------------------------------------------------
INSPECT, CLEAN, CONNECT, NEXT_END, SUPERVISOR, LAST_TOOL = "I", "C", "N", "E", "S", "T"
CAPTURE, FOCUS, OVERLAYS, LIVE, CANCEL, SERIAL_FIELD = "Space", "F", "O", "L", "Esc", "Ctrl+F"

# The decisions a supervisor signs (controller.SUPERVISOR_ACTIONS names the same three).
OVERRIDE, REWORK, REJECT = "override connect", "release for rework", "reject assembly"

STATUS_WORDS = {
    "new": "not inspected yet",
    "passed": "passed",
    "failed": "failed: clean it",
    "cleaned": "cleaned: inspect it again",
    "escalated": "escalated: a supervisor decides",
    "connected": "connected",
    "capped": "capped and released",
}
STEP_OF_STATUS = {"new": 0, "passed": 3, "failed": 1, "cleaned": 2}
STEPS = ("Inspect", "Clean", "Inspect again", "Connect")
CONNECT_WORDS = {"connected": "connect end {end}", "capped": "cap and release end {end}"}


# What a refusal or a device's failure raises: shown in the operator's words. Anything
# else (a ValueError or KeyError from a mistake in the code) is a fault, reported as one
# with its traceback, never dressed up as a red refusal.
EXPECTED: tuple[type[Exception], ...] = (
    GateRefused,
    CatalogError,
    AuthError,
    NotSignedIn,
    ScanError,
    StoreError,
    ImageStoreError,
    OutboxError,
    RecordError,
    CertificateError,
    FixtureError,
    ProbeError,
    FocusError,
)


@dataclass(frozen=True)
class NextStep:
    """The one thing to do next: ``key`` does ``action``, once ``first`` is done."""

    key: str  # "I", "C", "N", "E", "S", "Esc"... or "" when only a scan moves the bench on
    action: str
    first: str = ""

    @property
    def text(self) -> str:
        doing = f"{self.key}: {self.action}" if self.key else self.action
        return f"{self.first}, then {doing}" if self.first else doing


@dataclass(frozen=True)
class EndView:
    """One end as the gate panel and the fibre map show it."""

    label: str
    status: str  # the gate's word: new, passed, failed, cleaned, escalated, connected, capped
    words: str
    tone: str  # "ok", "bad" or "plain": how the words are coloured
    step: int  # the step of STEPS to light, -1 for none
    fibres: dict[int, str]  # fibre: its state on the map (see FIBRE_STATES)
    advice: str | None
    required_method: str | None
    decision: str  # what the supervisor dialog offers first


FIBRE_STATES = ("new", "pass", "fail", "error", "cleaned", "escalated", "connected")


def fibre_states(end: EndState, result: EndFaceResult | None) -> dict[int, str]:
    """Each graded fibre's state on the map: its verdict, as the end has moved on since."""
    if result is None:
        return {}
    states = {}
    for f in result.fibers:
        st = f.verdict if f.verdict in ("pass", "fail") else "error"
        if st != "pass" and end.status == "cleaned":
            st = "cleaned"
        if st != "pass" and end.status == "escalated":
            st = "escalated"
        if end.connected:
            st = "connected"
        states[f.index] = st
    return states


def needs_cleaning(e: EndState) -> bool:
    """The end waits for a cleaning: it failed, or its product is cleaned every time."""
    if e.connected or e.status in ("escalated", "cleaned"):
        return False
    if e.status == "failed":
        return True
    return (
        e.status == "passed"
        and e.policy == "always-clean"
        and e.last is not None
        and not e.last.after_full_clean
    )


def default_decision(end: EndState) -> str:
    """What the supervisor dialog offers first: what the advice says, never an override.

    Damage (a scratch, a pit that stays through cleanings) goes back for re-polishing;
    contamination that survives every cleaning is taken off the line to be looked at.
    An override is a deviation: a supervisor chooses it on purpose.
    """
    esc = end.escalation
    if esc is not None and esc.cause == "persistent contamination":
        return REJECT
    return REWORK


def end_view(state: AssemblyState, end: str, result: EndFaceResult | None) -> EndView:
    e = state.end(end)
    st = e.status
    words = STATUS_WORDS.get(st, st)
    step = STEP_OF_STATUS.get(st, -1)
    if st == "passed" and e.policy == "always-clean" and e.last and not e.last.after_full_clean:
        words, step = "passed: this product is cleaned every time", 1
    tone = "ok" if st in ("passed", "connected", "capped") else "plain"
    if st in ("failed", "escalated"):
        tone = "bad"
    return EndView(
        label=end,
        status=st,
        words=words,
        tone=tone,
        step=step,
        fibres=fibre_states(e, result),
        advice=e.escalation.advice if e.escalation else None,
        required_method=e.escalation.require_method if e.escalation else None,
        decision=default_decision(e),
    )


def one_fibre(result: EndFaceResult, index: int) -> EndFaceResult | None:
    """The result narrowed to one fibre (what a fibre's own picture is drawn with)."""
    f = next((x for x in result.fibers if x.index == index), None)
    if f is None:
        return None
    return replace(result, verdict=f.verdict, fibers=(f,), error=f.error)


@dataclass(frozen=True)
class Bench:
    """What the window knows beyond the session: who, what is typed, what is going on."""

    signed_in: bool = True
    scanning: bool = False
    tool_id: str = ""
    last_tool: str | None = None
    method: str = METHODS[0]
    mode: str = "connected"  # or "capped"
    part_number: str | None = None  # a part number scanned alone, waiting for its serial


def next_step(
    state: AssemblyState | None,
    end: str | None,
    bench: Bench,
    now: Instant | None = None,
) -> NextStep:
    """The one next step at the bench, and its key (``now``: the station's time, to tell
    a pass too old to connect; None when the session has not begun)."""
    if not bench.signed_in:
        return NextStep("", "sign in (name and password, or scan your badge)")
    if bench.scanning:
        return NextStep(CANCEL, "cancel the scan (the fibres graded are kept)")
    if bench.part_number:
        return NextStep("", f"scan the serial of this {bench.part_number} assembly")
    if state is None or end is None:
        return NextStep("", f"scan the assembly's serial ({SERIAL_FIELD}: type it)")
    if state.status == "accepted":
        return NextStep("", f"{state.serial} is accepted: scan the next assembly's serial")
    if state.status == "rejected":
        return NextStep("", f"{state.serial} is rejected: scan the next assembly's serial")
    e = state.end(end)
    st = e.status
    if e.connected:
        todo = [x for x, s in state.ends.items() if not s.connected]
        return NextStep(NEXT_END, f"next end ({todo[0]})" if todo else "next end")
    if st == "escalated":
        return NextStep(SUPERVISOR, f"supervisor decision for end {end} ({default_decision(e)})")
    if st == "new":
        return NextStep(INSPECT, f"inspect end {end}")
    if st == "cleaned":
        return NextStep(INSPECT, f"inspect end {end} again")
    method = (e.escalation and e.escalation.require_method) or bench.method
    if needs_cleaning(e):
        first = ""
        if not bench.tool_id.strip():
            first = "scan the cleaning tool's label"
            if bench.last_tool:
                first += f" (or {LAST_TOOL}: {bench.last_tool} again)"
        return NextStep(CLEAN, f"record the cleaning of end {end}, {method}", first)
    if now is not None and refuse_connect(state, end, now):
        return NextStep(INSPECT, f"inspect end {end} again (its pass is too old to connect)")
    return NextStep(
        CONNECT, CONNECT_WORDS.get(bench.mode, CONNECT_WORDS["connected"]).format(end=end)
    )


# -- scanned codes -----------------------------------------------------------------------
@dataclass(frozen=True)
class Routed:
    kind: str  # "serial", "part" or "tool"
    text: str  # what to open (the part number and serial joined), keep or fill in


def route_scan(
    code: str,
    catalog: Catalog,
    *,
    tool_field: bool,
    awaiting_clean: bool,
    part_number: str | None = None,
) -> Routed:
    """Where a scanned code belongs.

    In the tool field it is the tool's label. A part number alone waits for its
    serial (the label of a cord often carries both as separate barcodes). While
    the end on the bench waits for its cleaning, a code no product knows as a
    serial is the cleaning tool's label. Anything else is opened as a serial, so
    an unknown code gets the catalog's own words for what is wrong with it.
    """
    text = code.strip()
    if tool_field:
        return Routed("tool", text)
    if part_number:
        return Routed("serial", f"{part_number} {text}")
    products = catalog.products
    is_part = " " not in text and any(p.matches_part(text) for p in products)
    if is_part and not any(p.serial_ok(text) for p in products):
        return Routed("part", text)
    if awaiting_clean:
        try:
            catalog.identify(text)
        except CatalogError:
            return Routed("tool", text)
    return Routed("serial", text)


# -- the whole-ferrule view --------------------------------------------------------------
@dataclass(frozen=True)
class FibreMark:
    """A fibre found on the whole-ferrule picture: where, how big, its number and state."""

    index: int
    x_px: float
    y_px: float
    r_px: float
    state: str


def locate_fibres(
    image: np.ndarray, connector_name: str
) -> list[tuple[float, float, float]] | None:
    """The fibres of an MT overview (x, y, r px), in fibre order; None unless all are found.

    Grading's one locator finds them (the same that grades a fibre view).
    """
    from grading.geometry import connector
    from grading.locate import locate_overview

    found = locate_overview(image, connector(connector_name).fiber_count)
    return [(c.cx, c.cy, c.r) for c in found] if found else None


def overview_marks(
    image: np.ndarray, connector_name: str, states: Mapping[int, str]
) -> list[FibreMark]:
    """Numbered rings for the whole-ferrule picture, each in its fibre's state."""
    found = locate_fibres(image, connector_name)
    if not found:
        return []
    return [
        FibreMark(n, x, y, r, states.get(n, "new")) for n, (x, y, r) in enumerate(found, start=1)
    ]
