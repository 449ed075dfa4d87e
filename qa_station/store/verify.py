"""``audit verify``: the whole chain, every recorded row, every image file.

Reports the first broken record by name, because an auditor needs to know
where to look, and keeps going to count the rest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import select

from qa_station.store.chain import GENESIS, digest, event_hash
from qa_station.store.models import (
    Assembly,
    ChainHead,
    Cleaning,
    End,
    Event,
    Image,
    ImageRemoval,
    Inspection,
    InspectionFiber,
    Product,
)
from qa_station.store.records import cleaning_digest, inspection_digest, removal_digest
from qa_station.store.store import Store


@dataclass
class VerifyReport:
    events: int = 0
    inspections: int = 0
    cleanings: int = 0
    images: int = 0
    archived: int = 0  # image files removed from the bench after a signed archive (retention)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> str | None:
        return self.problems[0] if self.problems else None


def verify(store: Store, batch: int = 2000) -> VerifyReport:
    report = VerifyReport()
    with store.read() as s:
        serials = dict(s.execute(select(Assembly.id, Assembly.serial)).all())
        ends = {e.id: e.label for e in s.execute(select(End)).scalars()}

        def where(assembly_id, end_label) -> str:
            serial = serials.get(assembly_id, "?")
            return f"serial {serial} end {end_label}" if end_label else f"serial {serial}"

        prev = GENESIS
        last_id = 0
        inspected: dict[int, str] = {}
        cleaned: dict[int, str] = {}
        registered: dict[int, dict] = {}
        removals: dict[tuple, str] = {}  # (archive, when) -> digest of the names it removed
        for ev in s.execute(select(Event).order_by(Event.id)).scalars().yield_per(batch):
            report.events += 1
            last_id = ev.id
            label = f"event {ev.id} ({ev.kind}, {where(ev.assembly_id, ev.end_label)})"
            if ev.prev_hash != prev:
                report.problems.append(
                    f"{label}: does not follow the event before it (one was removed or altered)"
                )
            expected = event_hash(
                ev.prev_hash,
                ev.id,
                ev.kind,
                ev.assembly_id,
                ev.end_label,
                ev.payload,
                ev.operator,
                ev.station_id,
                ev.created_us,
            )
            if expected != ev.hash:
                report.problems.append(f"{label}: its content was changed after it was recorded")
            prev = ev.hash
            try:
                payload = json.loads(ev.payload)
            except ValueError:
                report.problems.append(f"{label}: payload is not JSON")
                continue
            if ev.kind == "end.inspected":
                inspected[payload.get("inspection_id")] = payload.get("digest")
            elif ev.kind == "end.cleaned":
                cleaned[payload.get("cleaning_id")] = payload.get("digest")
            elif ev.kind == "assembly.registered" and ev.assembly_id is not None:
                registered[ev.assembly_id] = payload
            elif ev.kind == "images.removed":
                key = (payload.get("archive_sha256"), payload.get("removed_us"))
                removals[key] = payload.get("names_sha256")
        head = s.get(ChainHead, 1)
        if head is None or head.last_hash != prev or head.last_event_id != last_id:
            report.problems.append(
                f"the chain ends at event {last_id} but its head records event "
                f"{head.last_event_id if head else '?'}: events were removed from the end"
            )
        _check_registrations(s, registered, report, batch)
        fibres: dict[int, list[InspectionFiber]] = {}
        for f in s.execute(select(InspectionFiber)).scalars().yield_per(batch):
            fibres.setdefault(f.inspection_id, []).append(f)
        for row in s.execute(select(Inspection).order_by(Inspection.id)).scalars().yield_per(batch):
            report.inspections += 1
            label = f"inspection {row.id} ({where(row.assembly_id, ends.get(row.end_id))})"
            if row.id not in inspected:
                report.problems.append(f"{label}: no event records it (added outside the gate)")
            elif inspection_digest(row, fibres.get(row.id, [])) != inspected[row.id]:
                report.problems.append(f"{label}: was changed after it was recorded")
        for row in s.execute(select(Cleaning).order_by(Cleaning.id)).scalars().yield_per(batch):
            report.cleanings += 1
            label = f"cleaning {row.id} ({where(row.assembly_id, ends.get(row.end_id))})"
            if row.id not in cleaned:
                report.problems.append(f"{label}: no event records it (added outside the gate)")
            elif cleaning_digest(row) != cleaned[row.id]:
                report.problems.append(f"{label}: was changed after it was recorded")
        archived = _check_removals(s, removals, report)
        for img in s.execute(select(Image).order_by(Image.created_us)).scalars().yield_per(batch):
            report.images += 1
            problem = store.images.check(img.sha256)
            if problem == "file missing" and img.sha256 in archived:
                report.archived += 1  # off the bench, in a signed archive the record names
            elif problem:
                report.problems.append(f"image {img.sha256[:12]} ({img.relpath}): {problem}")
    return report


def _check_removals(s, removals: dict[tuple, str], report: VerifyReport) -> set[str]:
    """The images taken off the bench, each group sealed by its images.removed event."""
    groups: dict[tuple, list[str]] = {}
    for r in s.execute(select(ImageRemoval)).scalars():
        groups.setdefault((r.archive_sha256, r.removed_us), []).append(r.sha256)
    archived: set[str] = set()
    for key, shas in groups.items():
        if removals.get(key) != removal_digest(shas):
            report.problems.append(
                f"image removals of archive {str(key[0])[:12]}: not the ones its images.removed "
                "event sealed (rows added or changed outside the retention step)"
            )
            continue
        archived.update(shas)
    for key in set(removals) - set(groups):
        report.problems.append(
            f"image removals of archive {str(key[0])[:12]}: its rows were deleted"
        )
    return archived


def _check_registrations(s, registered: dict[int, dict], report: VerifyReport, batch: int) -> None:
    """Assemblies, their ends and products are what their registration events say."""
    ends: dict[int, list[End]] = {}
    for e in s.execute(select(End)).scalars().yield_per(batch):
        ends.setdefault(e.assembly_id, []).append(e)
    for a in s.execute(select(Assembly).order_by(Assembly.id)).scalars().yield_per(batch):
        label = f"assembly {a.id} (serial {a.serial})"
        p = registered.get(a.id)
        if p is None:
            report.problems.append(f"{label}: no event registers it (added outside the gate)")
            continue
        kept = (a.serial, a.product_id, a.part_number)
        said = (p.get("serial"), p.get("product"), p.get("part_number"))
        if kept != said:
            report.problems.append(
                f"{label}: was changed after it was registered (registered as serial "
                f"{said[0]}, product {said[1]}, part number {said[2]})"
            )
        rows = sorted((e.label, e.connector, e.rules) for e in ends.get(a.id, []))
        wanted = sorted((e["label"], e["connector"], e["rules"]) for e in p.get("ends", []))
        if rows != wanted:
            report.problems.append(
                f"{label}: its ends were changed after it was registered "
                f"(registered {wanted}, now {rows})"
            )
    for prod in s.execute(select(Product)).scalars():
        try:
            same = digest(json.loads(prod.definition)) == prod.sha256
        except ValueError:
            same = False
        if not same:
            report.problems.append(
                f"product {prod.id}: its definition was changed after it was recorded"
            )
