"""The gate as a pure state machine: state from events, and the rules as checks.

inspect -> clean -> inspect again -> connect, per end (seed 000 made
executable). Nothing here touches a database or a clock: the state of a
serial is rebuilt by folding its events, which is also how it survives a
crash, and each check returns the refusal in the operator's words, or None.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from hardware.cleaning import METHODS
from qa_station.store.clock import Instant, elapsed_s
from qa_station.store.kinds import Kind
from qa_station.store.kinds import kind as registered_kind

PASS, FAIL = "pass", "fail"
CLOSED = ("accepted", "rejected")


@dataclass(frozen=True)
class Escalation:
    cause: str  # "damage", "residue", "persistent contamination"
    advice: str
    blocking: bool  # only a supervisor can move the end on
    require_method: str | None = None  # the next cleaning must be this (residue: wet-to-dry)


@dataclass(frozen=True)
class InspectionMark:
    id: int
    at: Instant
    verdict: str
    after_full_clean: bool  # connector and adapter were cleaned after an earlier inspection

    @property
    def at_us(self) -> int:
        return self.at.at_us


@dataclass(frozen=True)
class EndState:
    label: str
    policy: str = "clean-if-fail"
    exposure_limit_s: float = 300.0
    max_cycles: int = 3
    inspections: int = 0
    last: InspectionMark | None = None
    cleanings: int = 0
    cleaned_since_inspection: bool = False
    methods_since_pass: tuple[str, ...] = ()
    full_clean_pending: bool = False  # connector + adapter cleaned after a first inspection
    failed_cycles: int = 0  # failed inspections that followed a cleaning, since the last pass
    escalation: Escalation | None = None
    connected: str | None = None  # "connected" or "capped" (released)
    deviation: bool = False  # connected by a supervisor's override

    @property
    def status(self) -> str:
        """One word for the operator and the fibre map."""
        if self.connected:
            return self.connected
        if self.escalation and self.escalation.blocking:
            return "escalated"
        if self.cleaned_since_inspection:
            return "cleaned"
        if self.last is None:
            return "new"
        return "passed" if self.last.verdict == PASS else "failed"


@dataclass(frozen=True)
class AssemblyState:
    serial: str
    product_id: str
    ends: dict[str, EndState] = field(default_factory=dict)
    status: str = "open"  # "open", "accepted", "rejected"
    reason: str | None = None

    def end(self, label: str) -> EndState:
        try:
            return self.ends[label]
        except KeyError:
            raise KeyError(f"{self.serial} has no end {label!r}") from None

    @property
    def all_released(self) -> bool:
        return bool(self.ends) and all(e.connected for e in self.ends.values())


def apply(
    state: AssemblyState, kind: str, end: str | None, payload: dict[str, Any], at: Instant
) -> AssemblyState:
    """The state after one event. A kind the registry does not know is refused
    (``UnknownEventKind``): skipping it would fold a state nobody can vouch for."""
    kind = registered_kind(kind)
    if kind == Kind.ASSEMBLY_REGISTERED:
        ends = {
            e["label"]: EndState(
                label=e["label"],
                policy=payload.get("policy", "clean-if-fail"),
                exposure_limit_s=float(payload.get("exposure_limit_s", 300.0)),
                max_cycles=int(payload.get("max_clean_cycles", 3)),
            )
            for e in payload["ends"]
        }
        return replace(state, product_id=payload["product"], ends=ends)
    if kind == Kind.ASSEMBLY_ACCEPTED:
        return replace(state, status="accepted")
    if kind == Kind.ASSEMBLY_REJECTED:
        return replace(state, status="rejected", reason=payload.get("reason"))
    if end is None or end not in state.ends:
        return state
    e = state.ends[end]
    if kind == Kind.END_INSPECTED:
        verdict = payload["verdict"]
        cycles = e.failed_cycles
        if verdict == PASS:
            cycles = 0
        elif e.cleaned_since_inspection:
            cycles += 1
        e = replace(
            e,
            inspections=e.inspections + 1,
            last=InspectionMark(payload["inspection_id"], at, verdict, e.full_clean_pending),
            cleaned_since_inspection=False,
            full_clean_pending=False,
            failed_cycles=cycles,
            methods_since_pass=() if verdict == PASS else e.methods_since_pass,
        )
        # A passing inspection settles a residue escalation (the advice worked).
        if verdict == PASS and e.escalation and not e.escalation.blocking:
            e = replace(e, escalation=None)
    elif kind == Kind.END_CLEANED:
        e = replace(
            e,
            cleanings=e.cleanings + 1,
            cleaned_since_inspection=True,
            methods_since_pass=(*e.methods_since_pass, payload["method"]),
            full_clean_pending=e.full_clean_pending or (payload["adapter"] and e.inspections > 0),
        )
    elif kind == Kind.END_ESCALATED:
        e = replace(
            e,
            escalation=Escalation(
                payload["cause"],
                payload["advice"],
                payload["blocking"],
                payload.get("require_method"),
            ),
        )
    elif kind == Kind.END_CONNECTED:
        e = replace(e, connected=payload["mode"], deviation=bool(payload.get("deviation")))
    elif kind == Kind.END_RELEASED_FOR_REWORK:
        e = replace(e, escalation=None, failed_cycles=0, last=None, cleaned_since_inspection=False)
    return replace(state, ends={**state.ends, end: e})


def to_dict(a: AssemblyState) -> dict[str, Any]:
    """A state as plain JSON (what a bench keeps to start from when the record is away)."""
    return asdict(a)


def from_dict(d: dict[str, Any]) -> AssemblyState:
    def end(e: dict[str, Any]) -> EndState:
        last = e.get("last")
        esc = e.get("escalation")
        return EndState(
            **{
                **e,
                "last": InspectionMark(**{**last, "at": Instant(**last["at"])}) if last else None,
                "escalation": Escalation(**esc) if esc else None,
                "methods_since_pass": tuple(e.get("methods_since_pass", ())),
            }
        )

    return AssemblyState(
        serial=d["serial"],
        product_id=d["product_id"],
        ends={label: end(e) for label, e in d.get("ends", {}).items()},
        status=d.get("status", "open"),
        reason=d.get("reason"),
    )


# -- the rules ---------------------------------------------------------------------------


def _closed(a: AssemblyState) -> str | None:
    """Every action is refused on an accepted or rejected assembly."""
    if a.status in CLOSED:
        return f"assembly {a.serial} is {a.status}: nothing more can be done to it"
    return None


def _end_done_or_blocked(a: AssemblyState, label: str) -> str | None:
    """An end already connected, or escalated with a blocking cause, takes no more actions."""
    e = a.end(label)
    if e.connected:
        return f"end {label} is already {e.connected}"
    if e.escalation and e.escalation.blocking:
        return f"end {label} is escalated ({e.escalation.cause}): {e.escalation.advice}"
    return None


def refuse_inspect(a: AssemblyState, label: str) -> str | None:
    reason = _closed(a) or _end_done_or_blocked(a, label)
    if reason:
        return reason
    e = a.end(label)
    if e.last and e.last.verdict == FAIL and not e.cleaned_since_inspection:
        return f"end {label} failed its last inspection: clean it (and its adapter) before inspecting again"
    return None


def refuse_clean(a: AssemblyState, label: str, method: str, tool_id: str) -> str | None:
    reason = _closed(a)
    if reason:
        return reason
    if method not in METHODS:
        return f"unknown cleaning method {method!r}: use {', '.join(METHODS)}"
    if not tool_id.strip() or len(tool_id) > 64 or not tool_id.isprintable():
        return (
            "the cleaning tool's id is needed (scan or type the label on the cleaner or cassette)"
        )
    reason = _end_done_or_blocked(a, label)
    if reason:
        return reason
    e = a.end(label)
    if e.escalation and e.escalation.require_method and method != e.escalation.require_method:
        return f"end {label}: {e.escalation.advice} (not {method})"
    return None


def refuse_connect(a: AssemblyState, label: str, now: Instant) -> str | None:
    reason = _closed(a) or _end_done_or_blocked(a, label)
    if reason:
        return reason
    e = a.end(label)
    if e.last is None:
        return f"end {label} has not been inspected: inspect it before connecting"
    if e.cleaned_since_inspection:
        return (
            f"end {label} was cleaned after its last inspection: inspect it again before connecting"
        )
    if e.last.verdict != PASS:
        return f"end {label} failed its last inspection: clean it and inspect again"
    age_s = elapsed_s(e.last.at, now)
    if age_s is None:
        return (
            f"end {label} was inspected before this station's clock was set back: its age "
            "cannot be told, inspect it again"
        )
    if age_s > e.exposure_limit_s:
        return (
            f"end {label} was inspected {_duration(age_s)} ago (limit {_duration(e.exposure_limit_s)}): "
            "an open face collects dust, inspect it again"
        )
    if e.policy == "always-clean" and not e.last.after_full_clean:
        return (
            f"end {label}: this product is cleaned every time (policy always-clean): clean the "
            "connector and its adapter, then inspect again"
        )
    return None


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"
