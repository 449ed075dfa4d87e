"""One assembly's record, as auditors and certificates need it, read from the store.

The events are the truth; this gathers them with the rows they seal
(inspections, fibres, cleanings) into one object per serial: what was done to
each end, by whom, when, with which tool, against which rule set, and how it
ended. The record hash is the chain hash of the assembly's last event: a
certificate carrying it points at exactly this state of the record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select

from grading.grade import with_zones
from grading.projection import projected
from grading.results import EndFaceResult, FiberResult
from qa_station.catalog import EndDefinition
from qa_station.fibre_regions import in_region
from qa_station.store import Store
from qa_station.store.kinds import Kind
from qa_station.store.models import (
    Assembly,
    Cleaning,
    End,
    Event,
    Inspection,
    InspectionFiber,
    Product,
)
from reports.model import CleaningInfo


class RecordError(LookupError):
    """No such serial, or a record that cannot be read."""


@dataclass(frozen=True)
class CleaningEntry(CleaningInfo):
    """A cleaning as reports print it (when, which end, how, by whom, where), with its row."""

    id: int


@dataclass(frozen=True)
class InspectionEntry:
    id: int
    at_us: int
    verdict: str
    operator: str
    station: str
    probe_id: str
    um_per_px: float | None
    rules: str
    rules_sha256: str | None
    result: EndFaceResult
    fibre_images: dict[int, str]  # fibre -> image sha256 (its graded region, or whole frame)
    focus: dict[int, float]
    overview_sha256: str | None

    @property
    def regions(self) -> dict[str, Any]:
        """Where each stored fibre region (and the overview band) sits in its frame."""
        found = self.result.extra.get("regions")
        return found if isinstance(found, dict) else {}

    @property
    def overview_fibres(self) -> tuple[tuple[float, float, float], ...] | None:
        """Where the fibres are in the stored overview band, as found when it was recorded."""
        found = self.regions.get("overview", {}).get("fibres")
        return tuple((float(x), float(y), float(r)) for x, y, r in found) if found else None

    def fibre_in_image(self, fibre: FiberResult) -> FiberResult:
        """The fibre's grade in the pixels of its stored image (a region is offset)."""
        return in_region(fibre, self.regions.get(str(fibre.index)))

    def result_in_images(self) -> EndFaceResult:
        """The grade with every fibre in the pixels of its stored image: what overlays draw."""
        return replace(
            self.result, fibers=tuple(self.fibre_in_image(f) for f in self.result.fibers)
        )


@dataclass(frozen=True)
class Connection:
    mode: str  # "connected" or "capped"
    at_us: int
    operator: str | None
    deviation: bool
    inspection_id: int | None


@dataclass(frozen=True)
class EndRecord(EndDefinition):
    """An end as its record holds it: defined as it was registered, and what was done to it."""

    inspections: tuple[InspectionEntry, ...]
    cleanings: tuple[CleaningEntry, ...]
    connection: Connection | None
    escalations: tuple[dict[str, Any], ...]
    refusals: int

    @property
    def final(self) -> InspectionEntry | None:
        """The inspection the end was released on (else the latest)."""
        if self.connection and self.connection.inspection_id:
            for i in self.inspections:
                if i.id == self.connection.inspection_id:
                    return i
        return self.inspections[-1] if self.inspections else None

    @property
    def cycles(self) -> int:
        return len(self.cleanings)


@dataclass(frozen=True)
class AssemblyRecord:
    serial: str
    product_id: str
    product_name: str
    product: dict[str, Any]
    part_number: str | None
    registered_us: int
    registered_by: str | None
    station: str
    status: str  # "open", "accepted", "rejected"
    closed_us: int | None
    closed_by: str | None
    reason: str | None
    ends: tuple[EndRecord, ...]
    deviations: tuple[dict[str, Any], ...]
    record_hash: str
    last_event_id: int
    events: int
    operators: tuple[str, ...] = field(default=())
    # Inspections a dirty-probe alarm marked (issue 14): inspection id -> what it said.
    probe_alarms: dict[int, str] = field(default_factory=dict)

    def end(self, label: str) -> EndRecord:
        for e in self.ends:
            if e.label == label:
                return e
        raise RecordError(f"{self.serial} has no end {label!r}")


def load_record(store: Store, serial: str) -> AssemblyRecord:
    with store.read() as s:
        asm = s.execute(select(Assembly).where(Assembly.serial == serial)).scalar()
        if asm is None:
            raise RecordError(f"no assembly with serial {serial!r} in the record")
        product = s.get(Product, asm.product_id)
        ends = (
            s.execute(select(End).where(End.assembly_id == asm.id).order_by(End.id)).scalars().all()
        )
        by_end_id = {e.id: e.label for e in ends}
        end_rules = {e.id: e.rules for e in ends}  # a house table: its file's path
        events = (
            s.execute(select(Event).where(Event.assembly_id == asm.id).order_by(Event.id))
            .scalars()
            .all()
        )
        inspections = (
            s.execute(
                select(Inspection).where(Inspection.assembly_id == asm.id).order_by(Inspection.id)
            )
            .scalars()
            .all()
        )
        ids = [i.id for i in inspections]
        fibres: dict[int, list[InspectionFiber]] = {}
        if ids:
            for f in s.execute(
                select(InspectionFiber).where(InspectionFiber.inspection_id.in_(ids))
            ).scalars():
                fibres.setdefault(f.inspection_id, []).append(f)
        cleanings = (
            s.execute(select(Cleaning).where(Cleaning.assembly_id == asm.id).order_by(Cleaning.id))
            .scalars()
            .all()
        )
    definition = json.loads(product.definition) if product else {}
    end_defs = {e["label"]: e for e in definition.get("ends", [])}
    per_end_insp: dict[str, list[InspectionEntry]] = {e.label: [] for e in ends}
    for i in inspections:
        fs = fibres.get(i.id, [])
        per_end_insp[by_end_id[i.end_id]].append(
            projected(  # the row's id, verdict, operator, probe, scale and rules
                InspectionEntry,
                i,
                at_us=i.created_us,
                station=i.station_id,
                result=with_zones(
                    EndFaceResult.from_dict(json.loads(i.result)), end_rules[i.end_id]
                ),
                fibre_images={f.fiber: f.image_sha256 for f in fs if f.image_sha256},
                focus={f.fiber: f.focus_score for f in fs if f.focus_score is not None},
            )
        )
    per_end_clean: dict[str, list[CleaningEntry]] = {e.label: [] for e in ends}
    for c in cleanings:
        per_end_clean[by_end_id[c.end_id]].append(
            projected(  # its id, method and operator as the row has them
                CleaningEntry,
                c,
                at_us=c.created_us,
                end=by_end_id[c.end_id],
                tool=c.tool_id,
                adapter=c.adapter_cleaned,
                station=c.station_id,
            )
        )
    connections: dict[str, Connection] = {}
    escalations: dict[str, list[dict]] = {e.label: [] for e in ends}
    refusals: dict[str, int] = {e.label: 0 for e in ends}
    deviations: list[dict] = []
    status, closed_us, closed_by, reason, registered_by = "open", None, None, None, None
    operators: list[str] = []
    for ev in events:
        p = json.loads(ev.payload)
        if ev.operator and ev.operator not in operators:
            operators.append(ev.operator)
        if ev.kind == Kind.ASSEMBLY_REGISTERED:
            registered_by = ev.operator
        elif ev.kind == Kind.END_CONNECTED:
            connections[ev.end_label] = Connection(
                p["mode"],
                ev.created_us,
                ev.operator,
                bool(p.get("deviation")),
                p.get("inspection_id"),
            )
        elif ev.kind == Kind.END_ESCALATED:
            escalations[ev.end_label].append({**p, "at_us": ev.created_us})
        elif ev.kind == Kind.GATE_REFUSED and ev.end_label in refusals:
            refusals[ev.end_label] += 1
        elif ev.kind == Kind.END_OVERRIDE:
            deviations.append({**p, "end": ev.end_label, "at_us": ev.created_us})
        elif ev.kind == Kind.END_RELEASED_FOR_REWORK:
            deviations.append(
                {"action": "release for rework", **p, "end": ev.end_label, "at_us": ev.created_us}
            )
        elif ev.kind in (Kind.ASSEMBLY_ACCEPTED, Kind.ASSEMBLY_REJECTED):
            status = ev.kind.split(".")[1]
            closed_us, closed_by, reason = ev.created_us, ev.operator, p.get("reason")
    last = events[-1]
    return AssemblyRecord(
        serial=asm.serial,
        product_id=asm.product_id,
        product_name=product.name if product else asm.product_id,
        product=definition,
        part_number=asm.part_number,
        registered_us=asm.created_us,
        registered_by=registered_by,
        station=asm.station_id,
        status=status,
        closed_us=closed_us,
        closed_by=closed_by,
        reason=reason,
        ends=tuple(
            EndRecord(
                label=e.label,
                connector=e.connector,
                fiber=end_defs.get(e.label, {}).get("fiber", ""),
                gender=end_defs.get(e.label, {}).get("gender"),
                rules=e.rules,
                inspections=tuple(per_end_insp[e.label]),
                cleanings=tuple(per_end_clean[e.label]),
                connection=connections.get(e.label),
                escalations=tuple(escalations[e.label]),
                refusals=refusals[e.label],
            )
            for e in ends
        ),
        deviations=tuple(deviations),
        record_hash=last.hash,
        last_event_id=last.id,
        events=len(events),
        operators=tuple(operators),
    )


def describe_event(kind: str, p: dict[str, Any]) -> str:
    """One line for an event, as an operator or auditor would say it."""
    text = _describe(kind, p)
    if p.get("outbox"):  # done at the bench while the floor database was down, sent later
        text = (text + " " if text else "") + "[done offline, sent from the bench's outbox]"
    return text


def _describe(kind: str, p: dict[str, Any]) -> str:
    if kind == Kind.OUTBOX_CONFLICT:
        return f"{p['action']} done offline, refused by the record: {p['reason']}"
    if kind == Kind.CLOCK_JUMPED:
        when = "when the station started" if p.get("at_start") else "while it ran"
        return (
            f"the wall clock was {p.get('by_s', 0):+.1f} s off the station's time {when}: "
            "recorded, not trusted"
        )
    if kind == Kind.OUTBOX_SENT:
        return f"{p['entries']} action(s) kept offline sent, {p['conflicts']} refused by the record"
    if kind == Kind.STATION_CALIBRATED:
        was = p.get("previous_um_per_px")
        return (
            f"probe {p['probe']}, {p['tip']} tip: {p['um_per_px']} um/px"
            + (f" (was {was})" if was else " (first calibration)")
            + f", min focus {p['min_focus_score']}"
        )
    if kind == Kind.STATION_CONFIGURED:
        return (
            f"station {p['station_id']}: probe {p['probe']}, fixture {p['fixture']}, "
            f"scanner {p['scanner']}, store {p['store']}"
        )
    if kind == Kind.END_INSPECTED:
        s = p["verdict"]
        return s + (
            f" (fibres {p['failed_fibers']}: {p['failures'][0]})" if p.get("failures") else ""
        )
    if kind == Kind.END_CLEANED:
        return f"{p['method']} with {p['tool']}" + (", adapter too" if p["adapter"] else "")
    if kind == Kind.END_CONNECTED:
        return p["mode"] + (" BY OVERRIDE" if p.get("deviation") else "")
    if kind in (Kind.GATE_REFUSED,):
        return f"{p['action']} refused: {p['reason']}"
    if kind == Kind.END_ESCALATED:
        return f"{p['cause']}: {p['advice']}"
    if kind in (Kind.END_OVERRIDE, Kind.ASSEMBLY_REJECTED, Kind.END_RELEASED_FOR_REWORK):
        return f"{p.get('supervisor')}: {p.get('reason')}"
    if kind == Kind.ASSEMBLY_REGISTERED:
        return f"{p['product']} ({p.get('part_number') or 'part number not scanned'})"
    if kind == Kind.CERTIFICATE_ISSUED:
        return f"certificate {p.get('certificate_id')} (sha256 {str(p.get('sha256'))[:16]}...)"
    return ""
