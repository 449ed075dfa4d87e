"""The gate on a floor database that may go down: same rules, actions kept in an outbox.

A bench on the shared PostgreSQL store gets a local outbox. Every action
gets a key first and is tried on the floor database with a receipt carrying
that key. If the database is unreachable, the bench goes offline: the same
rules are checked against the state it last knew of the serial (plus what it
did since), and the action is kept in the outbox under the same key. When
the database answers again the outbox is sent in order through the real
gate, at the times the actions were done; a key already received (a commit
that was in doubt, or a crash after sending) is not sent again. Where the
record refuses what the bench did offline (another bench worked the serial
meanwhile), that is a conflict: recorded in the chain and shown to the
operator, for a supervisor to settle.

Every entry is signed with the bench's key when it is kept; when it is sent,
an entry the key did not sign, or whose actor did not hold that role in the
record at the time it was done, is refused. Offline the gate acts only for a
session this process issued (``accounts.issued_here``): one signed in online
before the outage, or one signed in offline from what the bench remembered
(``Accounts.sign_in_remembered``). An offline sign-in and sign-out are kept
in the outbox like actions, so the record gets them, in order, before what
was done under them; a refused sign-in makes everything done under it a
conflict too.

Supervisor decisions need the floor database; they wait.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from qa_station.accounts import (
    Accounts,
    NotSignedIn,
    ReplayedSession,
    Session,
    forget,
    issued_here,
    record_offline_sign_in,
    record_offline_sign_out,
)
from qa_station.catalog import Catalog, Identified
from qa_station.gate import state as rules
from qa_station.gate.facts import InspectionFacts
from qa_station.gate.gate import (
    Actor,
    Gate,
    GateRefused,
    InspectionRecorded,
    advice_for,
    registration,
    require_complete,
)
from qa_station.gate.state import AssemblyState, Escalation
from qa_station.qualification.policy import Standing
from qa_station.roles import role_at
from qa_station.scan import ScanResult
from qa_station.store import Store, StoreUnavailable
from qa_station.store.chain import canonical
from qa_station.store.clock import Instant
from qa_station.store.keys import check_signature
from qa_station.store.kinds import Kind
from qa_station.store.outbox import CONFLICT, SENT, Entry, Outbox
from qa_station.store.store import Replay, now_us

T = TypeVar("T")

KNOWN_SERIALS = 200  # serials remembered for going on offline (all of them while offline)
HELD_ADVICE = (
    "this end reached its cleaning limit while the floor database is down: the escalation "
    "is decided when it is back; set the end aside"
)


@dataclass(frozen=True)
class Conflict:
    serial: str | None
    end: str | None
    action: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.serial} end {self.end}" if self.end else str(self.serial)
        return f"{where}: {self.action} done offline, refused by the record: {self.reason}"


@dataclass
class ReplayReport:
    sent: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # serials whose certificate is now due
    certificates: list[str] = field(default_factory=list)  # issued for them after sending
    certificate_problems: list[str] = field(default_factory=list)
    pending: int = 0
    problem: str | None = None  # why sending stopped: the database is still (or again) down


class FloorGate:
    """The gate's interface; offline-capable when it has an outbox."""

    def __init__(
        self, gate: Gate, outbox: Outbox | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.gate = gate
        self.outbox = outbox
        self.clock = clock
        self.offline_reason: str | None = None
        # The serials this bench worked lately, to go on with offline (most recent last).
        self._known: OrderedDict[str, AssemblyState] = OrderedDict()
        self._lock = threading.RLock()

    @property
    def store(self) -> Store:
        return self.gate.store

    @property
    def catalog(self) -> Catalog:
        return self.gate.catalog

    @property
    def offline(self) -> bool:
        return self.offline_reason is not None

    def standing(
        self, probe_id: str, scales: Mapping[str, float | tuple[float, float] | None]
    ) -> Standing:
        """The station's qualification (the gate asks the record again when it records)."""
        return self.gate.standing(probe_id, scales)

    def pending(self) -> int:
        return self.outbox.count() if self.outbox is not None else 0

    # -- reading ---------------------------------------------------------------------------
    def state(self, serial: str) -> AssemblyState:
        with self._lock:
            if not self.offline:
                try:
                    return self._remember(self.gate.state(serial))
                except StoreUnavailable as exc:
                    self._go_offline(exc)
            return self._cached(serial)

    # -- the operator's actions ------------------------------------------------------------
    def register(self, label: str, actor: Actor) -> tuple[Identified, AssemblyState]:
        def offline(key: str, at: Instant) -> tuple[Identified, AssemblyState]:
            identified = self.catalog.identify(label)
            known = self._known.get(identified.serial)
            if known is not None:
                if known.product_id != identified.product.id:
                    raise GateRefused(
                        f"serial {identified.serial} was registered as {known.product_id}, "
                        f"not {identified.product.id}"
                    )
                return identified, known
            payload = registration(identified)
            self._keep(key, "register", identified.serial, None, {"label": label}, actor, at)
            fresh = AssemblyState(serial=identified.serial, product_id="")
            state = rules.apply(fresh, Kind.ASSEMBLY_REGISTERED, None, payload, at)
            return identified, self._remember(state)

        return self._act(
            "register", None, actor, lambda g: g.register(label, actor), offline, lambda r: r[1]
        )

    def record_inspection(
        self, serial: str, end: str, scan: ScanResult, actor: Actor, probe_id: str
    ) -> InspectionRecorded:
        require_complete(scan, end)

        def offline(key: str, at: Instant) -> InspectionRecorded:
            a = self._cached(serial)
            self._refuse(key, a, end, actor, "inspect", at, rules.refuse_inspect(a, end))
            images = self.store.images
            facts = InspectionFacts.of_scan(scan, images)
            args = {"facts": facts.to_dict(), "probe": probe_id}
            # The frames travel with the action (the floor store holds every frame).
            frames = {s.sha256: images.read_bytes(s.sha256) for s in facts.stored()}
            entry = self._keep(key, "inspect", serial, end, args, actor, at, frames)
            images.committed(frames)  # kept in the outbox now, not in memory
            verdict = facts.result.verdict
            mark = {"inspection_id": -entry.seq, "verdict": verdict}
            state = rules.apply(a, Kind.END_INSPECTED, end, mark, at)
            e = state.end(end)
            held = None
            if verdict != rules.PASS and e.failed_cycles >= e.max_cycles:
                held = Escalation("held offline", HELD_ADVICE, True)
                payload = {"cause": held.cause, "advice": held.advice, "blocking": True}
                state = rules.apply(state, Kind.END_ESCALATED, end, payload, at)
            self._remember(state)
            return InspectionRecorded(-entry.seq, verdict, state, held, advice_for(state.end(end)))

        return self._act(
            "inspect",
            serial,
            actor,
            lambda g: g.record_inspection(serial, end, scan, actor, probe_id),
            offline,
            lambda r: r.state,
        )

    def record_cleaning(
        self,
        serial: str,
        end: str,
        method: str,
        tool_id: str,
        adapter_cleaned: bool,
        actor: Actor,
    ) -> AssemblyState:
        def offline(key: str, at: Instant) -> AssemblyState:
            a = self._cached(serial)
            self._refuse(
                key, a, end, actor, "clean", at, rules.refuse_clean(a, end, method, tool_id)
            )
            args = {"method": method, "tool": tool_id.strip(), "adapter": bool(adapter_cleaned)}
            self._keep(key, "clean", serial, end, args, actor, at)
            return self._remember(rules.apply(a, Kind.END_CLEANED, end, args, at))

        return self._act(
            "clean",
            serial,
            actor,
            lambda g: g.record_cleaning(serial, end, method, tool_id, adapter_cleaned, actor),
            offline,
            lambda r: r,
        )

    def connect(
        self, serial: str, end: str, actor: Actor, mode: str = "connected"
    ) -> AssemblyState:
        def offline(key: str, at: Instant) -> AssemblyState:
            if mode not in ("connected", "capped"):
                raise GateRefused(f"unknown mode {mode!r}: connected or capped")
            a = self._cached(serial)
            self._refuse(key, a, end, actor, "connect", at, rules.refuse_connect(a, end, at))
            self._keep(key, "connect", serial, end, {"mode": mode}, actor, at)
            state = rules.apply(a, Kind.END_CONNECTED, end, {"mode": mode}, at)
            if state.status == "open" and state.all_released:
                state = rules.apply(state, Kind.ASSEMBLY_ACCEPTED, None, {}, at)
            return self._remember(state)

        return self._act(
            "connect",
            serial,
            actor,
            lambda g: g.connect(serial, end, actor, mode),
            offline,
            lambda r: r,
        )

    def record_refusal(
        self, serial: str, end: str | None, actor: Actor, action: str, reason: str
    ) -> None:
        def offline(key: str, at: Instant) -> None:
            args = {"action": action, "reason": reason}
            self._keep(key, "refusal", serial, end, args, actor, at)

        self._act(
            "refusal",
            serial,
            actor,
            lambda g: g.record_refusal(serial, end, actor, action, reason),
            offline,
            lambda r: None,
        )

    # -- signing in and out while the floor database is down ----------------------------------
    def sign_in_offline(self, issue: Callable[[int], Session], source: str) -> Session:
        """A sign-in while the floor database is down: ``issue`` makes the session at the
        bench's time (``Accounts.sign_in_remembered``); it is kept in the outbox, signed, for
        the record to take or refuse when it is sent."""
        if self.outbox is None:
            raise StoreUnavailable(self.offline_reason or "the floor database is down")
        with self._lock:
            at = self._offline_now()
            session = issue(at.at_us)
            args = {"source": source, "expires_us": session.expires_us}
            self._keep(self.outbox.new_key(), "sign_in", None, None, args, session, at)
            return session

    def sign_out(self, accounts: Accounts, session: Session) -> None:
        """End a session: on the record, or (offline) kept to be sent; here it acts no more
        at once either way."""
        with self._lock:
            known = issued_here(session, now_us(self.clock))  # before anything forgets it
            try:
                if not self.offline:
                    try:
                        accounts.sign_out(session)
                        return
                    except StoreUnavailable as exc:
                        self._go_offline(exc)  # no outbox: raised
                if known:
                    at = self._offline_now()
                    self._keep(self._box.new_key(), "sign_out", None, None, {}, session, at)
            finally:
                forget(session)

    # -- a supervisor's decisions: straight to the record, never offline --------------------
    def override_connect(
        self, serial: str, end: str, supervisor: Actor, reason: str, mode: str = "connected"
    ) -> AssemblyState:
        return self._supervised(
            lambda: self.gate.override_connect(serial, end, supervisor, reason, mode)
        )

    def release_for_rework(
        self, serial: str, end: str, supervisor: Actor, reason: str
    ) -> AssemblyState:
        return self._supervised(
            lambda: self.gate.release_for_rework(serial, end, supervisor, reason)
        )

    def reject(self, serial: str, supervisor: Actor, reason: str) -> AssemblyState:
        return self._supervised(lambda: self.gate.reject(serial, supervisor, reason))

    def _supervised(self, decide: Callable[[], AssemblyState]) -> AssemblyState:
        with self._lock:
            if self.offline:
                raise StoreUnavailable(
                    f"{self.offline_reason}; a supervisor's decision goes straight into the floor "
                    "record: it waits until the database is back"
                )
            try:
                return self._remember(decide())
            except StoreUnavailable as exc:
                if self.outbox is not None:
                    self._go_offline(exc)
                raise

    # -- sending the outbox ----------------------------------------------------------------
    def replay(self) -> ReplayReport:
        """Send what the outbox holds, oldest first; stop at the first sign of the outage."""
        report = ReplayReport()
        if self.outbox is None:
            return report
        with self._lock:
            try:
                self.store.ping()
                entries = self.outbox.pending()
                for entry in entries:
                    self._send(entry, report)
                    report.sent += 1
                if entries:
                    first, last = entries[0], entries[-1]
                    with self.store.write() as w:
                        w.event(
                            Kind.OUTBOX_SENT,
                            {
                                "entries": len(entries),
                                "first_done_us": first.done_at_us,
                                "last_done_us": last.done_at_us,
                                "conflicts": len(report.conflicts),
                            },
                        )
            except StoreUnavailable as exc:
                report.problem = str(exc)
                self._go_offline(exc)
            report.pending = self.outbox.count()
            if report.problem is None and report.pending == 0:
                self.offline_reason = None
                self._known.clear()  # the record knows better now
            return report

    def _send(self, entry: Entry, report: ReplayReport) -> None:
        if self.store.received(entry.key):  # sent before a crash, or its online commit landed
            self._box.settle(entry.seq, SENT, "already in the record", now_us(self.clock))
            return
        replay = Replay(
            entry.key,
            entry.action,
            entry.serial,
            entry.done_at_us,
            session=entry.session,
            mono_us=entry.mono_us,
        )
        sending = self.store.replaying(replay)
        gate = Gate(sending, self.catalog, self.gate.qualification)
        args = entry.args
        actor = ReplayedSession.from_dict(entry.actor)
        try:
            self._authentic(entry)
            if entry.action == "clock":
                with sending.write() as w:
                    w.event(Kind.CLOCK_JUMPED, args)
            elif entry.action == "sign_in":
                with sending.write() as w:
                    record_offline_sign_in(w, actor, args.get("source"), args.get("expires_us"))
            elif entry.action == "sign_out":
                with sending.write() as w:
                    record_offline_sign_out(w, actor)
            elif entry.action == "register":
                serial = _named(entry, entry.serial, "serial")
                with self.store.read() as s:
                    existed = self.store.assembly_id(s, serial) is not None
                if existed:
                    raise GateRefused(
                        f"serial {serial} was registered on the floor before this bench's "
                        "offline registration reached it: the floor record decides"
                    )
                gate.register(args["label"], actor)
            elif entry.action == "refusal":  # an assembly-wide refusal names no end
                serial = _named(entry, entry.serial, "serial")
                gate.record_refusal(serial, entry.end, actor, args["action"], args["reason"])
            elif entry.action in ("inspect", "clean", "connect"):
                serial, end = _named(entry, entry.serial, "serial"), _named(entry, entry.end, "end")
                if entry.action == "inspect":
                    facts = InspectionFacts.from_dict(args["facts"])
                    for sha, data in self._box.frames(entry.seq).items():
                        self.store.images.hold(sha, data)  # a frame not its name: not held
                    gate.record_facts(serial, end, facts, actor, args["probe"])
                elif entry.action == "clean":
                    gate.record_cleaning(
                        serial, end, args["method"], args["tool"], args["adapter"], actor
                    )
                else:
                    state = gate.connect(serial, end, actor, args["mode"])
                    if state.status == "accepted":
                        report.accepted.append(serial)
            else:
                raise GateRefused(f"unknown outbox action {entry.action!r}")
        except (GateRefused, NotSignedIn) as exc:
            reason = exc.reason if isinstance(exc, GateRefused) else str(exc)
            if not self.store.received(entry.key):  # refused before anything was written
                with sending.write() as w:
                    with self.store.read() as s:
                        aid = self.store.assembly_id(s, entry.serial) if entry.serial else None
                    w.event(
                        Kind.OUTBOX_CONFLICT,
                        {"action": entry.action, "reason": reason},
                        aid,
                        entry.end,
                        actor.username or None,
                    )
            conflict = Conflict(entry.serial, entry.end, entry.action, reason)
            report.conflicts.append(conflict)
            self._box.settle(entry.seq, CONFLICT, reason, now_us(self.clock))
            return
        self._box.settle(entry.seq, SENT, None, now_us(self.clock))

    def _authentic(self, entry: Entry) -> None:
        """Refuse an entry this bench did not sign, or whose actor did not hold that role."""
        body = canonical(entry.signed_body(self.store.station_id)).encode("utf-8")
        if not check_signature(self.store.key.public, entry.signature, body):
            raise GateRefused(
                "this outbox entry is not signed by this bench's key (written or changed by "
                "hand): refused"
            )
        if entry.action in ("clock", "sign_out"):  # the bench's own, or ending a sign-in
            return
        who, role = entry.actor.get("username"), entry.actor.get("role")
        held = role_at(self.store, str(who), entry.done_at_us)
        if held is None or held != role:
            raise GateRefused(
                f"{who} held no {role} account in the record when this was done offline: refused"
            )

    # -- the machinery -----------------------------------------------------------------------
    def _act(
        self,
        action: str,
        serial: str | None,
        actor: Actor,
        online: Callable[[Gate], T],
        offline: Callable[[str, Instant], T],
        state_of: Callable[[T], AssemblyState | None],
    ) -> T:
        if self.outbox is None:
            return online(self.gate)
        with self._lock:
            key = self.outbox.new_key()
            if not self.offline:
                done = now_us(self.clock)
                keyed = Gate(
                    self.store.replaying(Replay(key, action, serial, done, offline=False)),
                    self.catalog,
                    self.gate.qualification,
                )
                try:
                    result = online(keyed)
                except StoreUnavailable as exc:
                    self._go_offline(exc)
                else:
                    state = state_of(result)
                    if state is not None:
                        self._remember(state)
                    return result
            at = self._offline_now()
            self._here(actor, at)  # before anything is written (an inspection's frames)
            return offline(key, at)

    def _offline_now(self) -> Instant:
        """The bench's time for an action kept offline; a clock jump is kept first, like an
        action: on the record when the outbox is sent."""
        at, jump = self.store.time.now()
        if jump is not None:
            self._keep(self._box.new_key(), "clock", None, None, jump.payload(), None, at)
        return at

    def _refuse(
        self,
        key: str,
        a: AssemblyState,
        end: str,
        actor: Actor,
        action: str,
        at: Instant,
        reason: str | None,
    ) -> None:
        """As online: a refusal is itself recorded (here: kept to be sent), then raised."""
        if end not in a.ends:
            raise GateRefused(f"{a.serial} has no end {end!r}; its ends are {', '.join(a.ends)}")
        if reason:
            args = {"action": action, "reason": reason}
            self._keep(key, "refusal", a.serial, end, args, actor, at)
            raise GateRefused(reason)

    def _keep(
        self,
        key: str,
        action: str,
        serial: str | None,
        end: str | None,
        args: dict[str, Any],
        actor: Actor | None,
        at: Instant,
        frames: dict[str, bytes] | None = None,
    ) -> Entry:
        """Keep an action in the outbox, signed with the bench's key. Only a session this
        process issued acts offline (the record cannot be asked; a sign-out is checked by its
        caller, before the session is forgotten); ``actor`` is None only for the bench's own
        entries (a clock jump)."""
        who: dict[str, str] = {}
        if action != "sign_out" and (actor is not None or action != "clock"):
            self._here(actor, at)  # raises when there is no session to act for
        if actor is not None:
            who = ReplayedSession.of(actor).to_dict()
        station, record_key = self.store.station_id, self.store.key
        return self._box.add(
            key,
            action,
            serial,
            end,
            args,
            who,
            at.at_us,
            at.session,
            at.mono_us,
            sign=lambda e: record_key.sign(canonical(e.signed_body(station)).encode("utf-8")),
            frames=frames,
        )

    @staticmethod
    def _here(actor: object, at: Instant) -> None:
        if not issued_here(actor, at.at_us):  # the record cannot be asked: this process must know
            raise NotSignedIn(
                "not signed in at this bench (or the sign-in has ended): offline, the gate acts "
                "only for a session this station issued"
            )

    @property
    def _box(self) -> Outbox:
        """The outbox, on the paths only a bench with one reaches (offline, and sending it)."""
        if self.outbox is None:
            raise StoreUnavailable(self.offline_reason or "the floor database is down")
        return self.outbox

    def _go_offline(self, exc: StoreUnavailable) -> None:
        if self.outbox is None:
            raise exc
        self.offline_reason = str(exc)

    def _cached(self, serial: str) -> AssemblyState:
        known = self._known.get(serial)
        if known is None:
            raise StoreUnavailable(
                f"{self.offline_reason}; {serial} was not opened at this bench before the outage, "
                "so its state is unknown here: scan its label again to start it offline, or wait"
            )
        return known

    def start_offline(self, reason: str) -> int:
        """A bench started while the floor database is down: it goes on from what it last
        knew (the states it kept in its outbox file). Returns how many serials it knows."""
        if self.outbox is None:
            raise StoreUnavailable(reason)
        self.offline_reason = reason
        for serial, doc in self.outbox.known().items():
            self._known[serial] = rules.from_dict(doc)
        if not self.store.time.started:  # never behind what this bench did before
            self.store.time.start(self.outbox.latest_us())
        return len(self._known)

    def _remember(self, state: AssemblyState) -> AssemblyState:
        if self.outbox is None:  # never offline: nothing to remember
            return state
        self.outbox.remember(state.serial, rules.to_dict(state), now_us(self.clock))
        self._known[state.serial] = state
        self._known.move_to_end(state.serial)
        while not self.offline and len(self._known) > KNOWN_SERIALS:  # a station runs for weeks
            self._known.popitem(last=False)
        return state


def _named(entry: Entry, value: str | None, what: str) -> str:
    """The serial or end an outbox entry acts on; an entry without one is refused."""
    if value is None:
        raise GateRefused(f"this outbox entry ({entry.action}) names no {what}: refused")
    return value
