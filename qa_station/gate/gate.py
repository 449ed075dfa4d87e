"""The gate at the bench: every action checked against the rules, then recorded.

Each action runs in one store transaction that holds the chain lock: the
serial's state is rebuilt from its events inside it, the rule is checked, and
the action (or the refusal) is appended. Two benches working the same serial
therefore see each other's actions, and a restarted station knows where every
serial stands without any state of its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, overload

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from grading.geometry import connector
from grading.rules import RuleFileError, load_rules
from grading.verdict import failures
from qa_station.accounts import SUPERVISING, ReplayedSession, Session, signed_in
from qa_station.catalog import Catalog, Identified, Product
from qa_station.config import tip_for
from qa_station.gate import state as rules
from qa_station.gate.escalation import escalate
from qa_station.gate.facts import InspectionFacts
from qa_station.gate.state import AssemblyState, Escalation
from qa_station.qualification import dirty_probe
from qa_station.qualification.policy import QualificationPolicy, Standing, standing
from qa_station.scan import ScanResult
from qa_station.store import Store, Writer
from qa_station.store.chain import canonical, digest
from qa_station.store.clock import Instant, elapsed_s
from qa_station.store.images import ImageStore
from qa_station.store.kinds import Kind
from qa_station.store.models import (
    Assembly,
    Cleaning,
    End,
    Event,
    Inspection,
    InspectionFiber,
    Operator,
)
from qa_station.store.models import Product as ProductRow
from qa_station.store.records import cleaning_digest, inspection_digest, whole_frames

MODES = ("connected", "capped")
MIN_REASON = 5

# Who acts: a sign-in at this bench, or one replayed from a bench's outbox.
Actor = Session | ReplayedSession


class GateRefused(Exception):
    """The rules do not allow this action now; the message says why, for the operator."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class InspectionRecorded:
    inspection_id: int
    verdict: str
    state: AssemblyState
    escalation: Escalation | None
    advice: str | None  # what to do next, in words
    probe_alarm: str | None = None  # this inspection set off the dirty-probe alarm: what to do


class Gate:
    def __init__(
        self, store: Store, catalog: Catalog, qualification: QualificationPolicy | None = None
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.qualification = qualification or QualificationPolicy()

    # -- reading ---------------------------------------------------------------------------
    def state(self, serial: str) -> AssemblyState:
        with self.store.read() as s:
            return _load(s, serial)

    def standing(
        self, probe_id: str, scales: Mapping[str, float | tuple[float, float] | None]
    ) -> Standing:
        """Whether this station may inspect with the probe at these scales (tip -> scale):
        the gate checks it again when it records (this answer is for asking early)."""
        with self.store.read() as s:
            now = round(self.store.clock() * 1e6)
            return standing(
                s, self.store.station_id, probe_id, dict(scales), now, self.qualification
            )

    # -- registering ----------------------------------------------------------------------
    def register(self, label: str, actor: Actor) -> tuple[Identified, AssemblyState]:
        """Identify a scanned label; the first time a serial is seen, register it."""
        identified = self.catalog.identify(label)
        with self.store.write() as w:
            signed_in(w, actor)
            s = w.session
            row = s.execute(select(Assembly).where(Assembly.serial == identified.serial)).scalar()
            if row is None:
                _register(w, identified, actor)
            elif row.product_id != identified.product.id:
                raise GateRefused(
                    f"serial {identified.serial} was registered as {row.product_id}, not {identified.product.id}"
                )
            return identified, _load(s, identified.serial)

    # -- the operator's actions ------------------------------------------------------------
    def record_inspection(
        self, serial: str, end: str, scan: ScanResult, actor: Actor, probe_id: str
    ) -> InspectionRecorded:
        require_complete(scan, end)
        facts = InspectionFacts.of_scan(scan, self.store.images)
        return self.record_facts(serial, end, facts, actor, probe_id)

    def record_facts(
        self, serial: str, end: str, facts: InspectionFacts, actor: Actor, probe_id: str
    ) -> InspectionRecorded:
        """Record an inspection whose frames are already on disk (a scan, or the outbox)."""
        with self.store.write() as w:
            signed_in(w, actor)
            a, aid, end_row = self._target(w, serial, end)
            qualified = self._standing(w, facts, probe_id)
            reason = (
                rules.refuse_inspect(a, end)
                or qualified.reason
                or _not_as_registered(w.session, aid, end_row, facts)
                or _not_whole(end_row, facts, self.store.images)
            )
            if reason:
                _refused(w, aid, end, actor, "inspect", reason)
            else:
                recorded = self._inspection(w, a, aid, end_row, facts, actor, probe_id, qualified)
        if reason:
            raise GateRefused(reason)
        return recorded

    def _standing(self, w: Writer, facts: InspectionFacts, probe_id: str) -> Standing:
        """The station's qualification for this inspection's probe, tip and scale."""
        result = facts.result
        scale = None
        if result.um_per_px:
            scale = (result.um_per_px, result.um_per_px_y or result.um_per_px)
        tips: dict[str, float | tuple[float, float] | None] = {tip_for(result.connector): scale}
        return standing(
            w.session, self.store.station_id, probe_id, tips, w.at.at_us, self.qualification
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
        with self.store.write() as w:
            signed_in(w, actor)
            a, aid, end_row = self._target(w, serial, end)
            reason = rules.refuse_clean(a, end, method, tool_id)
            if reason:
                _refused(w, aid, end, actor, "clean", reason)
            else:
                at = w.now_us()
                row = Cleaning(
                    id=w.next_id(Cleaning),  # known first: the digest covers it
                    assembly_id=aid,
                    end_id=end_row.id,
                    method=method,
                    tool_id=tool_id.strip(),
                    adapter_cleaned=bool(adapter_cleaned),
                    station_id=self.store.station_id,
                    operator=actor.username,
                    created_us=at,
                )
                row.digest = cleaning_digest(row)  # before the insert: never updated
                w.session.add(row)
                w.session.flush()
                w.event(
                    Kind.END_CLEANED,
                    {
                        "cleaning_id": row.id,
                        "digest": row.digest,
                        "method": method,
                        "tool": row.tool_id,
                        "adapter": bool(adapter_cleaned),
                    },
                    aid,
                    end,
                    actor.username,
                    at,
                )
                state = _load(w.session, serial)
        if reason:
            raise GateRefused(reason)
        return state

    def connect(
        self, serial: str, end: str, actor: Actor, mode: str = "connected"
    ) -> AssemblyState:
        if mode not in MODES:
            raise GateRefused(f"unknown mode {mode!r}: {' or '.join(MODES)}")
        with self.store.write() as w:
            signed_in(w, actor)
            a, aid, _ = self._target(w, serial, end)
            reason = rules.refuse_connect(a, end, w.at)
            if reason:
                _refused(w, aid, end, actor, "connect", reason)
            else:
                last = a.end(end).last
                assert last is not None  # refuse_connect allows only an inspected end
                age_s = elapsed_s(last.at, w.at)
                assert age_s is not None  # ... whose age can be told
                w.event(
                    Kind.END_CONNECTED,
                    {
                        "mode": mode,
                        "inspection_id": last.id,
                        "inspection_age_s": round(age_s, 1),
                        "deviation": False,
                    },
                    aid,
                    end,
                    actor.username,
                )
                state = _accept_if_done(w, serial, aid, actor)
        if reason:
            raise GateRefused(reason)
        return state

    def record_refusal(
        self, serial: str, end: str | None, actor: Actor, action: str, reason: str
    ) -> None:
        """Record a refusal decided before the action started (a scan not worth starting)."""
        with self.store.write() as w:
            signed_in(w, actor)
            aid = self.store.assembly_id(w.session, serial)
            if aid is not None:
                _refused(w, aid, end, actor, action, reason)

    # -- a supervisor's decisions ---------------------------------------------------------
    def override_connect(
        self, serial: str, end: str, supervisor: Actor, reason: str, mode: str = "connected"
    ) -> AssemblyState:
        """Connect an end the rules refuse: logged, and a deviation on the certificate."""
        with self.store.write() as w:
            _supervising(signed_in(w, supervisor), reason)
            a, aid, _ = self._target(w, serial, end)
            if a.status in rules.CLOSED:
                raise GateRefused(f"assembly {serial} is {a.status}")
            if a.end(end).connected:
                raise GateRefused(f"end {end} is already {a.end(end).connected}")
            overridden = rules.refuse_connect(a, end, w.at) or "nothing (the rules allowed it)"
            w.event(
                Kind.END_OVERRIDE,
                {
                    "action": "connect",
                    "reason": reason.strip(),
                    "supervisor": supervisor.username,
                    "overriding": overridden,
                },
                aid,
                end,
                supervisor.username,
            )
            last = a.end(end).last
            w.event(
                Kind.END_CONNECTED,
                {"mode": mode, "inspection_id": last.id if last else None, "deviation": True},
                aid,
                end,
                supervisor.username,
            )
            return _accept_if_done(w, serial, aid, supervisor)

    def release_for_rework(
        self, serial: str, end: str, supervisor: Actor, reason: str
    ) -> AssemblyState:
        """After re-polishing (or a decision that the cause is gone): the end starts over."""
        return self._supervisor_decides(
            Kind.END_RELEASED_FOR_REWORK, serial, end, supervisor, reason, "is"
        )

    def reject(self, serial: str, supervisor: Actor, reason: str) -> AssemblyState:
        return self._supervisor_decides(
            Kind.ASSEMBLY_REJECTED, serial, None, supervisor, reason, "is already"
        )

    def _supervisor_decides(
        self,
        kind: Kind,
        serial: str,
        end: str | None,
        supervisor: Actor,
        reason: str,
        closed_words: str,
    ) -> AssemblyState:
        """Record a supervisor's reasoned decision on an open assembly (or one of its ends).

        Releasing an end for rework and rejecting an assembly check the same things and
        record the same payload; a closed assembly is refused as "assembly S <closed_words>
        <status>".
        """
        with self.store.write() as w:
            _supervising(signed_in(w, supervisor), reason)
            a, aid, _ = self._target(w, serial, end)
            if a.status in rules.CLOSED:
                raise GateRefused(f"assembly {serial} {closed_words} {a.status}")
            w.event(
                kind,
                {"reason": reason.strip(), "supervisor": supervisor.username},
                aid,
                end,
                supervisor.username,
            )
            return _load(w.session, serial)

    # -- inside a transaction ---------------------------------------------------------------
    @overload
    def _target(self, w: Writer, serial: str, end: str) -> tuple[AssemblyState, int, End]: ...

    @overload
    def _target(self, w: Writer, serial: str, end: None) -> tuple[AssemblyState, int, None]: ...

    def _target(
        self, w: Writer, serial: str, end: str | None
    ) -> tuple[AssemblyState, int, End | None]:
        s = w.session
        aid = self.store.assembly_id(s, serial)
        if aid is None:
            raise GateRefused(f"serial {serial} is not registered: scan its label first")
        a = _load(s, serial)
        end_row = None
        if end is not None:
            if end not in a.ends:
                raise GateRefused(f"{serial} has no end {end!r}; its ends are {', '.join(a.ends)}")
            end_row = s.execute(
                select(End).where(End.assembly_id == aid, End.label == end)
            ).scalar_one()
        return a, aid, end_row

    def _inspection(
        self,
        w: Writer,
        a: AssemblyState,
        aid: int,
        end_row: End,
        facts: InspectionFacts,
        actor: Actor,
        probe_id: str,
        qualified: Standing,
    ) -> InspectionRecorded:
        s = w.session
        at = w.now_us()
        result = facts.result
        overview = w.image_row(facts.overview) if facts.overview is not None else None
        shas = {n: w.image_row(stored) for n, stored in facts.images.items()}
        for stored in facts.whole:  # whole frames the image policy keeps (named in the result)
            w.image_row(stored)
        doc = result.to_dict()
        row = Inspection(
            id=w.next_id(Inspection),  # known first: the digest covers it
            assembly_id=aid,
            end_id=end_row.id,
            verdict=result.verdict,
            rules=result.rules,
            rules_sha256=result.rules_sha256,
            um_per_px=result.um_per_px,
            probe_id=probe_id,
            result=canonical(doc),
            overview_sha256=overview,
            station_id=self.store.station_id,
            operator=actor.username,
            created_us=at,
        )
        fibres = [
            InspectionFiber(
                inspection_id=row.id,
                fiber=f.index,
                verdict=f.verdict,
                image_sha256=shas.get(f.index),
                focus_score=round(float(facts.focus_scores[f.index]), 4)
                if f.index in facts.focus_scores
                else None,
            )
            for f in result.fibers
        ]
        row.digest = inspection_digest(row, fibres)  # before the insert: never updated
        s.add(row)
        s.flush()
        s.add_all(fibres)
        s.flush()
        failing = [f.index for f in result.fibers if f.verdict != "pass"]
        w.event(
            Kind.END_INSPECTED,
            {
                "inspection_id": row.id,
                "digest": row.digest,
                "verdict": result.verdict,
                "failed_fibers": failing,
                "failures": [x for f in result.fibers for x in f.failures][:6],
                "rules": result.rules,
                "probe": probe_id,
                "qualification": qualified.event_id,
            },
            aid,
            end_row.label,
            actor.username,
            at,
        )
        alarm = dirty_probe.check(w, self.store.station_id, row, end_row.label)
        state = _load(s, a.serial)
        e = state.end(end_row.label)
        escalation = None
        if result.verdict != "pass" and e.failed_cycles >= e.max_cycles:
            before, after = self._last_two_failed(s, end_row.id)
            escalation = escalate(before, after, e.methods_since_pass) if before else None
            if escalation and escalation != e.escalation:
                w.event(
                    Kind.END_ESCALATED,
                    {
                        "cause": escalation.cause,
                        "advice": escalation.advice,
                        "blocking": escalation.blocking,
                        "require_method": escalation.require_method,
                        "cycles": e.failed_cycles,
                    },
                    aid,
                    end_row.label,
                    actor.username,
                )
                state = _load(s, a.serial)
        return InspectionRecorded(
            row.id,
            result.verdict,
            state,
            escalation,
            advice_for(state.end(end_row.label)),
            alarm["message"] if alarm else None,
        )

    def _last_two_failed(
        self, s: OrmSession, end_id: int
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        rows = (
            s.execute(
                select(Inspection.result)
                .where(Inspection.end_id == end_id, Inspection.verdict != "pass")
                .order_by(Inspection.id.desc())
                .limit(2)
            )
            .scalars()
            .all()
        )
        after = json.loads(rows[0])
        before = json.loads(rows[1]) if len(rows) > 1 else None
        return before, after


def _register(w: Writer, identified: Identified, actor: Actor) -> None:
    s = w.session
    p = identified.product
    definition = _product_doc(p)
    sha = digest(definition)
    row = s.get(ProductRow, p.id)
    if row is None:
        s.add(ProductRow(id=p.id, name=p.name, definition=canonical(definition), sha256=sha))
        s.flush()  # before the assembly that refers to it
    at = w.now_us()
    asm = Assembly(
        serial=identified.serial,
        product_id=p.id,
        part_number=identified.part_number,
        station_id=w.store.station_id,
        created_us=at,
    )
    s.add(asm)
    s.flush()
    for e in p.ends:
        s.add(End(assembly_id=asm.id, label=e.label, connector=e.connector, rules=e.rules))
    w.event(Kind.ASSEMBLY_REGISTERED, registration(identified), asm.id, None, actor.username, at)


def registration(identified: Identified) -> dict[str, Any]:
    """The payload of ``assembly.registered``: the product as it is registered, for good."""
    p = identified.product
    definition = _product_doc(p)
    return {
        "serial": identified.serial,
        "product": p.id,
        "product_sha256": digest(definition),
        "part_number": identified.part_number,
        "policy": p.policy,
        "exposure_limit_s": p.exposure_limit_s,
        "max_clean_cycles": p.max_clean_cycles,
        "ends": definition["ends"],
    }


def _not_as_registered(s: OrmSession, aid: int, end_row: End, facts: InspectionFacts) -> str | None:
    """Why this grade is not of the end as registered: its connector and its rule table."""
    result, label = facts.result, end_row.label
    if result.connector != end_row.connector:
        return (
            f"end {label} is registered as {end_row.connector}, not {result.connector}: "
            "grade it as the connector it is"
        )
    registered = _registered_end(s, aid, label)
    sha = registered.get("rules_sha256")
    if sha is None:  # registered before rule digests were recorded: the name decides
        if result.rules != end_row.rules:
            return f"end {label} is graded against {end_row.rules}, not {result.rules}"
        return None
    if result.rules not in (end_row.rules, registered.get("rules_name")):
        return f"end {label} is graded against {end_row.rules}, not {result.rules}"
    if result.rules_sha256 == sha:
        return None
    return (
        f"end {label} is graded against {end_row.rules} as it was at registration (sha256 "
        f"{sha[:12]}); that rule file has changed since (now {str(result.rules_sha256)[:12]}): "
        "restore it, or a supervisor decides"
    )


def _not_whole(end_row: End, facts: InspectionFacts, images: ImageStore) -> str | None:
    """Why this grade is not a whole inspection of the end: one result per fibre position of
    its connector, each with its stored frame, and no pass the registered rule table fails.
    (Called after ``_not_as_registered``: the rule file is the registered one by then.)"""
    result, label = facts.result, end_row.label
    geometry = connector(end_row.connector)
    positions = list(range(1, geometry.fiber_count + 1))
    got = sorted(f.index for f in result.fibers)
    if got != positions:
        return (
            f"end {label} is a {end_row.connector} with {len(positions)} fibre(s); this result "
            f"has fibre(s) {_fibres(got) or 'none'}: every fibre is graded, once"
        )
    no_image = [n for n in positions if n not in facts.images]
    if no_image:
        return f"end {label}: fibre(s) {_fibres(no_image)} have no stored frame: inspect again"
    for n in positions:
        problem = images.check(facts.images[n].sha256)
        if problem:
            return f"end {label}: the frame of fibre {n} is not in the image store ({problem})"
    named, kept = whole_frames(result.to_dict()), {w.sha256 for w in facts.whole}
    for sha in sorted(set(named) ^ kept):  # each whole frame kept is the one a region names
        how = "kept but named by no region" if sha in kept else "named but not kept"
        return f"end {label}: the whole frame {sha[:12]} is {how}: inspect again"
    for sha in named:
        problem = images.check(sha)
        if problem:
            return f"end {label}: the whole frame {sha[:12]} is not in the image store ({problem})"
    if result.verdict not in (rules.PASS, rules.FAIL, "error"):
        return f"end {label}: {str(result.verdict)[:20]!r} is not a verdict"
    try:
        zones = load_rules(end_row.rules).zones_for(geometry.is_multi_fiber)
    except RuleFileError as exc:
        return f"end {label}: its rule table cannot be read now ({exc})"
    for f in result.fibers:
        if f.verdict != rules.PASS:
            continue
        broken = list(f.failures) or ([f.error] if f.error else []) or failures(f.defects, zones)
        if broken:
            return (
                f"end {label}: fibre {f.index} is marked pass, but {end_row.rules} fails it "
                f"({broken[0]})"
            )
    if result.verdict == rules.PASS and any(f.verdict != rules.PASS for f in result.fibers):
        bad = [f.index for f in result.fibers if f.verdict != rules.PASS]
        return f"end {label} is marked pass, but fibre(s) {_fibres(bad)} are not"
    return None


def _fibres(ns: list[int]) -> str:
    return ", ".join(str(n) for n in ns[:12]) + (" ..." if len(ns) > 12 else "")


def _registered_end(s: OrmSession, aid: int, label: str) -> dict[str, Any]:
    payload = s.execute(
        select(Event.payload).where(
            Event.assembly_id == aid, Event.kind == Kind.ASSEMBLY_REGISTERED
        )
    ).scalar()
    ends = json.loads(payload).get("ends", []) if payload else []
    return next((e for e in ends if e.get("label") == label), {})


def _product_doc(p: Product) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "policy": p.policy,
        "polarity": p.polarity,
        "exposure_limit_s": p.exposure_limit_s,
        "max_clean_cycles": p.max_clean_cycles,
        "ends": [
            {
                "label": e.label,
                "connector": e.connector,
                "fiber": e.fiber,
                "gender": e.gender,
                "rules": e.rules,
                # The table itself, as it was: a rule file edited later grades nothing here.
                "rules_name": (ruleset := e.ruleset()).name,
                "rules_sha256": ruleset.sha256,
            }
            for e in p.ends
        ],
    }


def _load(s: OrmSession, serial: str) -> AssemblyState:
    aid = s.execute(select(Assembly.id).where(Assembly.serial == serial)).scalar()
    if aid is None:
        raise GateRefused(f"serial {serial} is not registered: scan its label first")
    state = AssemblyState(serial=serial, product_id="")
    for kind, end, payload, at, session, mono in s.execute(
        select(
            Event.kind,
            Event.end_label,
            Event.payload,
            Event.created_us,
            Event.session,
            Event.mono_us,
        )
        .where(Event.assembly_id == aid)
        .order_by(Event.id)
    ):
        state = rules.apply(state, kind, end, json.loads(payload), Instant(at, session, mono))
    return state


def _accept_if_done(w: Writer, serial: str, aid: int, actor: Actor) -> AssemblyState:
    state = _load(w.session, serial)
    if state.status == "open" and state.all_released:
        w.event(
            Kind.ASSEMBLY_ACCEPTED,
            {"ends": {k: v.connected for k, v in state.ends.items()}},
            aid,
            None,
            None,
        )
        state = _load(w.session, serial)
    return state


def _refused(w: Writer, aid: int, end: str | None, actor: Actor, action: str, reason: str) -> None:
    w.event(Kind.GATE_REFUSED, {"action": action, "reason": reason}, aid, end, actor.username)


def supervisor_refusal(username: str, role: str, reason: str | None) -> str | None:
    """Why a supervisor's decision cannot be taken (None: it can): the one rule for who
    signs it and that it says why, for the gate and for the window's sign-in."""
    if role not in SUPERVISING:
        return f"{username} is an {role}: only a supervisor can decide this"
    if not reason or len(reason.strip()) < MIN_REASON:
        return "a supervisor's decision needs a reason (a few words at least)"
    return None


def _supervising(actor: Operator, reason: str) -> None:
    refusal = supervisor_refusal(actor.username, actor.role, reason)
    if refusal:
        raise GateRefused(refusal)


def require_complete(scan: ScanResult, end: str) -> None:
    """Only a whole scan is recorded (online or kept offline)."""
    if not scan.complete:
        raise GateRefused(f"the scan of end {end} is incomplete: finish it before recording")


def advice_for(e: rules.EndState) -> str | None:
    """What to do next with an end, in words (shown after each inspection)."""
    if e.escalation:
        return e.escalation.advice
    if e.last and e.last.verdict != "pass":
        return "clean the end and its adapter (dry first), then inspect again"
    if e.policy == "always-clean" and e.last and not e.last.after_full_clean:
        return "clean the connector and its adapter, then inspect again"
    if e.last and e.last.verdict == "pass":
        return "connect now, or cap it: an open face collects dust"
    return None
