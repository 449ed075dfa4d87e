"""``audit verify``: the whole chain, its signatures and checkpoints, every row, every image.

What it checks, in order:

- the station keys registered in the record: each one that signed anything
  must be trusted by this check (``trust.pem``, the station's own certificate,
  or ``--trust``): a key someone added to the database proves nothing;
- every checkpoint (the store's, the bench's witness files, and any the
  caller hands in, e.g. from a certificate): signed by a trusted key, and the
  chain must still extend it (its event there, with its hash, after exactly
  as many events): nothing rewritten, rolled back, truncated or emptied;
- the chain: each event follows the one before, hashes to what it says, is
  signed by its station (every event after the first checkpoint), and no
  station's events go back in time;
- completeness both ways: every row an event seals (inspection with its
  fibres, cleaning, assembly and its ends, image named by an inspection) is
  there and as sealed, and every such row is sealed by an event.

Reports the first broken record by name, because an auditor needs to know
where to look, and keeps going to count the rest.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from grading.projection import fields_dict
from qa_station.store.chain import GENESIS, LEGACY_FORMAT, digest, hash_of, legacy_digest
from qa_station.store.chain import signed_text as event_signed_text
from qa_station.store.checkpoints import Checkpoint, Witness
from qa_station.store.clock import TOLERANCE_S
from qa_station.store.keys import PublicKey, Trust, check_signature, public_of
from qa_station.store.kinds import Kind
from qa_station.store.models import (
    Assembly,
    ChainHead,
    CheckpointRow,
    Cleaning,
    End,
    Event,
    Image,
    ImageRemoval,
    Inspection,
    InspectionFiber,
    Product,
    StationKey,
)
from qa_station.store.records import (
    cleaning_digest,
    inspection_digest,
    removal_digest,
    whole_frames,
)
from qa_station.store.store import Store

# What an event seals about a row: (digest, the event's format, the event as named in problems).
_Sealed = tuple[str, int, str]
# A registered key: (station, public key, trusted by this check).
_KeyInfo = tuple[str, PublicKey, bool]
# A group of image removals: (archive sha256, removed at us).
_RemovalKey = tuple[str, int]
# "serial X end Y" for an assembly id and end label.
_Where = Callable[[int | None, str | None], str]

MAX_SAME = 5  # problems of one sort named one by one; the rest are counted
# The events that seal rows: their payloads name the rows and their digests.
SEALING = (Kind.END_INSPECTED, Kind.END_CLEANED, Kind.ASSEMBLY_REGISTERED, Kind.IMAGES_REMOVED)


@dataclass
class VerifyReport:
    """What a check found; its fields stand in the order ``to_dict`` writes them."""

    events: int = 0
    signed: int = 0  # events whose station signature holds
    checkpoints: int = 0  # checkpoints the chain was checked against
    witnessed: int = 0  # of which from the bench's witness files
    inspections: int = 0
    cleanings: int = 0
    images: int = 0
    archived: int = 0  # image files removed from the bench after a signed archive (retention)
    keys: list[str] = field(default_factory=list)  # the signers, in words
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth knowing, not a break
    since: dict[str, int] | None = None  # an incremental check: the checkpoint it started from

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> str | None:
        return self.problems[0] if self.problems else None

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, **fields_dict(self)}


class _Counted:
    """Problems of one sort: the first few by name, then how many more."""

    def __init__(self, report: VerifyReport) -> None:
        self.report = report
        self.seen: dict[str, int] = defaultdict(int)

    def add(self, sort: str, text: str) -> None:
        self.seen[sort] += 1
        if self.seen[sort] <= MAX_SAME:
            self.report.problems.append(text)

    def close(self) -> None:
        for sort, n in self.seen.items():
            if n > MAX_SAME:
                self.report.problems.append(f"... and {n - MAX_SAME} more events: {sort}")


def verify(
    store: Store,
    batch: int = 5000,
    trust: Trust | None = None,
    witness: Witness | None = None,
    checkpoints: list[Checkpoint] | None = None,
    since_checkpoint: bool = False,
) -> VerifyReport:
    """Check the record. ``trust`` defaults to the station's keys folder; ``witness`` to the
    store's own witness files; ``checkpoints`` are more heads to hold the chain to.

    ``since_checkpoint``: an incremental check from the newest checkpoint whose signature
    holds and is trusted: that checkpoint's event must still be there as signed (its
    content hashes to the signed head) and still be event number ``events`` (none removed
    or added before it), then every event after it is checked in full, with the rows and
    frames they seal, and rows added since without an event. What lies before the
    checkpoint is not read again: the full check (run when that checkpoint was new, and
    now and then) covers it."""
    report = VerifyReport()
    if trust is None:
        from qa_station.paths import station_paths

        trust = Trust.of(store.keys_dir or station_paths().keys_dir)
    witness = witness if witness is not None else store.witness
    counted = _Counted(report)
    with store.read() as s:
        signed_schema = sa_inspect(s.get_bind()).has_table("checkpoints")
        keys = _keys(s, trust) if signed_schema else {}
        held = _checkpoints(s, witness, checkpoints or [], keys, report, signed_schema)
        serials: dict[int | None, str] = dict(s.execute(select(Assembly.id, Assembly.serial)).all())
        ends = {i: label for i, label in s.execute(select(End.id, End.label))}

        def where(assembly_id: int | None, end_label: str | None) -> str:
            serial = serials.get(assembly_id, "?")
            return f"serial {serial} end {end_label}" if end_label else f"serial {serial}"

        signed_from = min((cp.head_id for cp in held), default=None)
        start = _start(s, held, report) if since_checkpoint else None
        wanted: dict[int, list[Checkpoint]] = defaultdict(list)
        for cp in held:
            if cp.head_id == 0 and cp.events == 0 and cp.head_hash == GENESIS:
                continue  # signed over the empty chain: every chain extends it
            if start is not None and cp.head_id <= start.head_id:
                continue  # held by the start's own check
            wanted[cp.head_id].append(cp)
        prev, last_id = GENESIS, 0
        after = Start(0, 0, 0, 0)
        if start is not None:
            prev, last_id, report.events = start.head_hash, start.head_id, start.events
            after = start
        last_time: dict[str, tuple[int, int]] = {}  # station -> (event id, at_us)
        last_mono: dict[str, tuple[int, int]] = {}  # session -> (event id, mono_us)
        inspected: dict[int, _Sealed] = {}
        cleaned: dict[int, _Sealed] = {}
        registered: dict[int, tuple[dict[str, Any], str]] = {}
        removals: dict[_RemovalKey, tuple[str, str]] = {}  # -> (names digest, event)
        tolerance_us = int(TOLERANCE_S * 1e6)
        publics = {k: v[1] for k, v in keys.items()}
        untrusted_used: set[str] = set()
        events = select(Event.__table__).where(Event.id > after.head_id).order_by(Event.id)
        for ev in s.execute(events).yield_per(batch):
            report.events += 1
            last_id = ev.id
            label = f"event {ev.id} ({ev.kind}, {where(ev.assembly_id, ev.end_label)})"
            if ev.prev_hash != prev:
                report.problems.append(
                    f"{label}: does not follow the event before it (one was removed or altered)"
                )
            if hash_of(ev) != ev.hash:
                report.problems.append(f"{label}: its content was changed after it was recorded")
            _signature(ev, label, publics, keys, signed_from, report, counted, untrusted_used)
            _order(ev, label, last_time, last_mono, tolerance_us, counted)
            prev = ev.hash
            for cp in wanted.pop(ev.id, ()):
                if cp.head_hash != ev.hash or cp.events != report.events:
                    report.problems.append(
                        f"{cp.describe()}: the chain no longer holds it (event {ev.id} now "
                        f"{'hashes to ' + ev.hash[:12] if cp.head_hash != ev.hash else 'is event number ' + str(report.events)}"
                        f", signed as {cp.head_hash[:12]}, number {cp.events}): "
                        "the record was rewritten"
                    )
            if ev.kind in SEALING:
                try:
                    payload = json.loads(ev.payload)
                except ValueError:
                    report.problems.append(f"{label}: payload is not JSON")
                    continue
                if ev.kind == Kind.END_INSPECTED:
                    inspected[payload.get("inspection_id")] = (
                        payload.get("digest"),
                        ev.format,
                        label,
                    )
                elif ev.kind == Kind.END_CLEANED:
                    cleaned[payload.get("cleaning_id")] = (payload.get("digest"), ev.format, label)
                elif ev.kind == Kind.IMAGES_REMOVED:
                    key = (payload.get("archive_sha256"), payload.get("removed_us"))
                    removals[key] = (payload.get("names_sha256"), label)
                elif ev.assembly_id is not None:
                    registered[ev.assembly_id] = (payload, label)
        counted.close()
        for key_id in sorted(untrusted_used):
            station, _pub, _ok = keys[key_id]
            report.problems.append(
                f"station {station}'s key {key_id[:12]} signed this record but is not one this "
                "check trusts (give its certificate or your company CA with --trust)"
            )
        head = s.get(ChainHead, 1)
        if head is None or head.last_hash != prev or head.last_event_id != last_id:
            report.problems.append(
                f"the chain ends at event {last_id} but its head records event "
                f"{head.last_event_id if head else '?'}: events were removed from the end"
            )
        for head_id in sorted(wanted):
            cp = wanted[head_id][0]  # the earliest signed of those that name this event
            report.problems.append(
                f"{cp.describe()}, signed {_when(cp.at_us)}: the chain ends at event "
                f"{last_id} ({report.events} events): events were removed "
                "(truncated, rolled back or emptied)"
            )
        if start is None:
            _check_registrations(s, registered, report, batch)
        inspections = _SealedRows("inspection", inspected, where, ends, report)
        cleanings = _SealedRows("cleaning", cleaned, where, ends, report)
        named = _check_inspections(s, inspections, batch, after.inspection)
        _check_cleanings(s, cleanings, batch, after.cleaning)
        archived = _check_removals(s, removals, report)
        _check_images(s, store, named, archived, report, batch, incremental=start is not None)
    return report


@dataclass(frozen=True)
class Start:
    """Where an incremental check starts: a checkpoint's head, and the last inspection and
    cleaning ids sealed up to it (rows above them were added since)."""

    head_id: int
    events: int
    inspection: int
    cleaning: int
    head_hash: str = GENESIS


def _start(s: Session, held: list[Checkpoint], report: VerifyReport) -> Start | None:
    """The newest trusted checkpoint the chain still extends, or None (then: a full check)."""
    for cp in sorted(held, key=lambda c: c.head_id, reverse=True):
        if cp.head_id == 0:
            break
        ev = s.execute(select(Event.__table__).where(Event.id == cp.head_id)).first()
        number = s.execute(select(func.count()).where(Event.id <= cp.head_id)).scalar_one()
        if ev is None or ev.hash != cp.head_hash or hash_of(ev) != ev.hash or number != cp.events:
            report.problems.append(
                f"{cp.describe()}: the chain no longer holds it (the record was rewritten "
                "before it): run a full audit verify"
            )
            return None
        report.since = {"head_id": cp.head_id, "events": cp.events, "at_us": cp.at_us}
        return Start(
            cp.head_id,
            cp.events,
            _last_sealed(s, Kind.END_INSPECTED, "inspection_id", cp.head_id),
            _last_sealed(s, Kind.END_CLEANED, "cleaning_id", cp.head_id),
            cp.head_hash,
        )
    report.notes.append("no signed checkpoint to start from: the whole record was checked")
    return None


def _last_sealed(s: Session, kind: str, key: str, head_id: int) -> int:
    """The id of the newest row of a kind sealed by an event up to ``head_id``."""
    payload = s.execute(
        select(Event.payload)
        .where(Event.kind == kind, Event.id <= head_id)
        .order_by(Event.id.desc())
        .limit(1)
    ).scalar()
    try:
        return int(json.loads(payload).get(key) or 0) if payload else 0
    except (ValueError, TypeError, AttributeError):
        return 0


# -- keys and checkpoints ----------------------------------------------------------------------


def _keys(s: Session, trust: Trust) -> dict[str, _KeyInfo]:
    """key id -> (station, public key, trusted by this check)."""
    out: dict[str, _KeyInfo] = {}
    for row in s.execute(select(StationKey)).scalars():
        try:
            public = public_of(row.certificate)
        except (ValueError, IndexError):
            continue
        out[row.key_id] = (row.station_id, public, trust.trusts(row.certificate))
    return out


def _checkpoints(
    s: Session,
    witness: Witness | None,
    given: list[Checkpoint],
    keys: dict[str, _KeyInfo],
    report: VerifyReport,
    signed_schema: bool,
) -> list[Checkpoint]:
    """The checkpoints whose signatures hold, from the store, the witness and the caller."""
    stored: list[Checkpoint] = []
    if signed_schema:
        for r in s.execute(select(CheckpointRow).order_by(CheckpointRow.id)).scalars():
            stored.append(Checkpoint.of_row(r))
        if not stored:
            report.problems.append(
                "the record holds no signed checkpoint (every signed store has at least the one "
                "made when it was created or first signed): they were removed"
            )
    witnessed: list[Checkpoint] = []
    if witness is not None:
        witnessed, unreadable = witness.read()
        report.problems.extend(unreadable)
    held: list[Checkpoint] = []
    seen: set[tuple[int, int, str]] = set()
    for source, cps in (("the store", stored), ("the witness", witnessed), ("given", given)):
        for cp in cps:
            known = keys.get(cp.key)
            if known is None:
                report.problems.append(
                    f"{cp.describe()} in {source}: signed by key {cp.key[:12]}, which the record "
                    "does not hold (its key was removed, or the checkpoint is forged)"
                )
                continue
            station, public, trusted = known
            if not cp.holds(public):
                report.problems.append(
                    f"{cp.describe()} in {source}: its signature does not hold (altered)"
                )
                continue
            if not trusted:
                report.problems.append(
                    f"{cp.describe()} in {source}: signed by station {station}'s key "
                    f"{cp.key[:12]}, which this check does not trust"
                )
                continue
            if source == "the witness":
                report.witnessed += 1
            if (cp.events, cp.head_id, cp.head_hash) in seen:
                continue  # the same head, signed again or kept in two places
            seen.add((cp.events, cp.head_id, cp.head_hash))
            held.append(cp)
            report.checkpoints += 1
    for key_id, (station, _pub, trusted) in sorted(keys.items()):
        report.keys.append(
            f"station {station}, key {key_id[:12]}" + ("" if trusted else " (NOT trusted)")
        )
    return held


def _signature(
    ev: Row[Any],
    label: str,
    publics: dict[str, PublicKey],
    keys: dict[str, _KeyInfo],
    signed_from: int | None,
    report: VerifyReport,
    counted: _Counted,
    untrusted_used: set[str],
) -> None:
    if ev.format == LEGACY_FORMAT:
        if signed_from is not None and ev.id > signed_from:
            counted.add(
                "unsigned after the record was signed",
                f"{label}: written in the old unsigned format after the record was signed "
                "(forged, or re-hashed without the station's key)",
            )
        return
    public = publics.get(ev.key_id)
    if public is None:
        counted.add(
            "signed by a key the record does not hold",
            f"{label}: signed by key {str(ev.key_id)[:12]}, which the record does not hold",
        )
        return

    if not check_signature(public, ev.signature, event_signed_text(ev.hash)):
        counted.add(
            "signature does not hold",
            f"{label}: its signature does not hold (re-hashed or written without "
            "the station's key)",
        )
        return
    if not keys[ev.key_id][2]:
        untrusted_used.add(ev.key_id)
        return
    report.signed += 1


def _order(
    ev: Row[Any],
    label: str,
    last_time: dict[str, tuple[int, int]],
    last_mono: dict[str, tuple[int, int]],
    tolerance_us: int,
    counted: _Counted,
) -> None:
    """A station's events never go back in time (beyond the tolerance); within a session
    the monotonic clock never goes back at all."""
    before = last_time.get(ev.station_id)
    if before is not None and ev.created_us < before[1] - tolerance_us:
        counted.add(
            "out of order",
            f"{label}: recorded at {_when(ev.created_us)}, before station {ev.station_id}'s "
            f"event {before[0]} ({_when(before[1])}): out of order",
        )
    if before is None or ev.created_us > before[1]:
        last_time[ev.station_id] = (ev.id, ev.created_us)
    if ev.session is not None and ev.mono_us is not None:
        was = last_mono.get(ev.session)
        if was is not None and ev.mono_us < was[1]:
            counted.add(
                "out of order",
                f"{label}: its session clock runs backwards after event {was[0]}: out of order",
            )
        last_mono[ev.session] = (ev.id, ev.mono_us)


def _when(at_us: int) -> str:
    from qa_station.store.store import iso

    return iso(at_us)


# -- the rows events seal, both ways ------------------------------------------------------------


@dataclass
class _SealedRows:
    """The rows of one table checked against the events that seal them, both ways: each row
    sealed by an event and still as sealed, each row an event seals still there."""

    noun: str  # a row as problems name it: "inspection", "cleaning"
    sealed: dict[int, _Sealed]  # row id -> what its event seals
    where: _Where
    ends: dict[int, str]
    report: VerifyReport
    seen: set[int] = field(default_factory=set)

    def label(self, row: Row[Any]) -> str:
        """How problems name the row (and it is seen)."""
        self.seen.add(row.id)
        return f"{self.noun} {row.id} ({self.where(row.assembly_id, self.ends.get(row.end_id))})"

    def check(self, row: Row[Any], label: str, digest_in: Callable[[int], str]) -> None:
        """The row against its event; ``digest_in(format)``: the row's digest now."""
        sealed = self.sealed.get(row.id)
        if sealed is None:
            self.report.problems.append(f"{label}: no event records it (added outside the gate)")
        elif digest_in(sealed[1]) != sealed[0]:
            self.report.problems.append(f"{label}: was changed after it was recorded")

    def missing(self) -> None:
        """Every row an event seals that was not seen."""
        for rid in sorted(set(self.sealed) - self.seen, key=lambda x: (x is None, x or 0)):
            self.report.problems.append(
                f"{self.noun} {rid}, recorded by {self.sealed[rid][2]}: is missing (removed from "
                "the record)"
            )


def _check_inspections(
    s: Session, inspections: _SealedRows, batch: int, above: int = 0
) -> dict[str, str]:
    """Inspections against their events; returns the images they name (sha -> who).

    Inspections and their fibres are read as two streams in inspection order, so a year
    of a busy floor (millions of fibre rows) is never held in memory at once."""
    fibre_rows = iter(
        s.execute(
            select(InspectionFiber.__table__)
            .where(InspectionFiber.inspection_id > above)
            .order_by(InspectionFiber.inspection_id, InspectionFiber.fiber)
        ).yield_per(batch)
    )
    pending = next(fibre_rows, None)
    named: dict[str, str] = {}
    rows = s.execute(
        select(Inspection.__table__).where(Inspection.id > above).order_by(Inspection.id)
    ).yield_per(batch)
    for row in rows:
        inspections.report.inspections += 1
        label = inspections.label(row)
        while pending is not None and pending.inspection_id < row.id:
            pending = next(fibre_rows, None)  # fibres of an inspection that is not there
        mine: list[Row[Any]] = []
        while pending is not None and pending.inspection_id == row.id:
            mine.append(pending)
            pending = next(fibre_rows, None)
        for f in mine:
            if f.image_sha256:
                named.setdefault(f.image_sha256, f"{label} fibre {f.fiber}")
        if row.overview_sha256:
            named.setdefault(row.overview_sha256, f"{label} overview")
        for sha in whole_frames(row.result):  # kept whole by the image policy
            named.setdefault(sha, f"{label} whole frame")
        inspections.check(row, label, partial(inspection_digest, row, mine))
    inspections.missing()
    return named


def _check_cleanings(s: Session, cleanings: _SealedRows, batch: int, above: int = 0) -> None:
    rows = select(Cleaning.__table__).where(Cleaning.id > above).order_by(Cleaning.id)
    for row in s.execute(rows).yield_per(batch):
        cleanings.report.cleanings += 1
        label = cleanings.label(row)
        cleanings.check(row, label, partial(cleaning_digest, row))
    cleanings.missing()


def _check_images(
    s: Session,
    store: Store,
    named: dict[str, str],
    archived: set[str],
    report: VerifyReport,
    batch: int,
    incremental: bool = False,
) -> None:
    """Every image an inspection names has its row and its file (or a sealed removal: it was
    archived off the bench); every row is named. Incremental: the images the inspections
    checked name, only."""
    rows: set[str] = set()
    unnamed = 0
    images = store.images
    listed = select(Image.sha256, Image.relpath).order_by(Image.created_us)
    if incremental:
        listed = listed.where(Image.sha256.in_(sorted(named)))
    for part in s.execute(listed).yield_per(batch).partitions(min(batch, 500)):
        found = images.problems(s, [sha for sha, _ in part])
        for sha, relpath in part:
            report.images += 1
            rows.add(sha)
            problem = found[sha]
            if problem == images.missing and sha in archived:
                report.archived += 1  # off the bench, in a signed archive the record names
                problem = None
            if problem:
                report.problems.append(f"image {sha[:12]} ({relpath}): {problem}")
            elif sha not in named:
                unnamed += 1
                if unnamed <= MAX_SAME:
                    report.problems.append(
                        f"image {sha[:12]} ({relpath}): no inspection names it "
                        "(added outside the gate, or its inspection was removed)"
                    )
    if unnamed > MAX_SAME:
        report.problems.append(f"... and {unnamed - MAX_SAME} more images no inspection names")
    for sha in sorted(set(named) - rows):
        problem = store.images.check(sha)
        state = "its file is gone too" if problem else "its file is still there"
        report.problems.append(
            f"image {sha[:12]} of {named[sha]}: its row is missing ({state}): removed from the record"
        )
    stray = 0 if incremental else images.stray(s, rows | set(named))
    if stray:
        report.notes.append(
            f"{stray} image file(s) in {images.where} are named by no row (left by an "
            "action interrupted before it was recorded, or rows removed from the record)"
        )
        if report.events == 0:
            report.problems.append(
                f"the record is empty but its {images.kind} holds {stray} image file(s): the "
                "record was emptied"
            )


def _check_removals(
    s: Session, removals: dict[_RemovalKey, tuple[str, str]], report: VerifyReport
) -> set[str]:
    """The images taken off the bench (retention), each group of removal rows sealed by its
    images.removed event; returns the images whose removal holds."""
    groups: dict[_RemovalKey, list[str]] = defaultdict(list)
    for r in s.execute(select(ImageRemoval)).scalars():
        groups[(r.archive_sha256, r.removed_us)].append(r.sha256)
    archived: set[str] = set()
    for key, shas in groups.items():
        sealed = removals.get(key)
        if sealed is None or sealed[0] != removal_digest(shas):
            report.problems.append(
                f"image removals of archive {str(key[0])[:12]}: not the ones its images.removed "
                "event sealed (rows added or changed outside the retention step)"
            )
            continue
        archived.update(shas)
    for key in sorted(set(removals) - set(groups), key=str):
        report.problems.append(
            f"image removals of archive {str(key[0])[:12]}, sealed by {removals[key][1]}: "
            "its rows were deleted"
        )
    return archived


def _check_registrations(
    s: Session, registered: dict[int, tuple[dict[str, Any], str]], report: VerifyReport, batch: int
) -> None:
    """Assemblies, their ends and products are what their registration events say."""
    ends: dict[int, list[End]] = {}
    for e in s.execute(select(End)).scalars().yield_per(batch):
        ends.setdefault(e.assembly_id, []).append(e)
    seen: set[int] = set()
    products = {p.id: p for p in s.execute(select(Product)).scalars()}
    for a in s.execute(select(Assembly).order_by(Assembly.id)).scalars().yield_per(batch):
        seen.add(a.id)
        label = f"assembly {a.id} (serial {a.serial})"
        sealed = registered.get(a.id)
        if sealed is None:
            report.problems.append(f"{label}: no event registers it (added outside the gate)")
            continue
        p = sealed[0]
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
        prod = products.get(a.product_id)
        sha = p.get("product_sha256")
        if prod is not None and sha is not None and prod.sha256 != sha:
            report.problems.append(
                f"{label}: its product {a.product_id} is not the one it was registered under"
            )
    for aid in sorted(set(registered) - seen):
        payload, label = registered[aid]
        report.problems.append(
            f"assembly {aid} (serial {payload.get('serial')}), registered by {label}: is "
            "missing (removed from the record)"
        )
    for prod in products.values():
        try:
            definition = json.loads(prod.definition)
            same = prod.sha256 in (digest(definition), legacy_digest(definition))
        except ValueError:
            same = False
        if not same:
            report.problems.append(
                f"product {prod.id}: its definition was changed after it was recorded"
            )


# -- one assembly, one checkpoint (for certificates) ---------------------------------------------


def check_assembly(store: Store, serial: str) -> list[str]:
    """What is broken in one assembly's record: its events (hash, signature) and every row and
    image they seal. A certificate is issued, and verifies, only when this is empty."""
    problems: list[str] = []
    with store.read() as s:
        aid = store.assembly_id(s, serial)
        if aid is None:
            return [f"serial {serial} is not in the record"]
        keys = {r.key_id: public_of(r.certificate) for r in s.execute(select(StationKey)).scalars()}
        inspected: dict[int, _Sealed] = {}
        cleaned: dict[int, _Sealed] = {}
        for ev in s.execute(
            select(Event).where(Event.assembly_id == aid).order_by(Event.id)
        ).scalars():
            label = f"event {ev.id} ({ev.kind}, serial {serial})"
            if hash_of(ev) != ev.hash:
                problems.append(f"{label}: its content was changed after it was recorded")
            if ev.format != LEGACY_FORMAT:
                public = keys.get(ev.key_id) if ev.key_id else None
                if public is None or not check_signature(
                    public, ev.signature, event_signed_text(ev.hash)
                ):
                    problems.append(f"{label}: its signature does not hold")
            if ev.kind == Kind.END_INSPECTED:
                p = json.loads(ev.payload)
                inspected[p.get("inspection_id")] = (p.get("digest"), ev.format, label)
            elif ev.kind == Kind.END_CLEANED:
                p = json.loads(ev.payload)
                cleaned[p.get("cleaning_id")] = (p.get("digest"), ev.format, label)
        rows = {
            r.id: r
            for r in s.execute(select(Inspection).where(Inspection.assembly_id == aid)).scalars()
        }
        fibres: dict[int, list[InspectionFiber]] = defaultdict(list)
        if rows:
            for f in s.execute(
                select(InspectionFiber).where(InspectionFiber.inspection_id.in_(list(rows)))
            ).scalars():
                fibres[f.inspection_id].append(f)
        for iid, (want, fmt, label) in inspected.items():
            row = rows.get(iid)
            if row is None:
                problems.append(f"inspection {iid}, recorded by {label}: is missing")
                continue
            if inspection_digest(row, fibres[iid], fmt) != want:
                problems.append(f"inspection {iid} ({serial}): was changed after it was recorded")
            shas = [f.image_sha256 for f in fibres[iid] if f.image_sha256]
            shas += [row.overview_sha256] if row.overview_sha256 else []
            shas += whole_frames(row.result)
            have = {i for (i,) in s.execute(select(Image.sha256).where(Image.sha256.in_(shas)))}
            found = {
                sha: store.images.check(sha) if sha in have else "its row is missing"
                for sha in shas
            }
            gone = [sha for sha, problem in found.items() if problem == store.images.missing]
            archived = _archived(s, gone, keys)
            for sha, problem in found.items():
                if problem and sha not in archived:
                    problems.append(f"image {sha[:12]} of inspection {iid}: {problem}")
        for iid in sorted(set(rows) - set(inspected)):
            problems.append(f"inspection {iid} ({serial}): no event records it")
        kept = {
            r.id: r
            for r in s.execute(select(Cleaning).where(Cleaning.assembly_id == aid)).scalars()
        }
        for cid, (want, fmt, label) in cleaned.items():
            cleaning = kept.get(cid)
            if cleaning is None:
                problems.append(f"cleaning {cid}, recorded by {label}: is missing")
            elif cleaning_digest(cleaning, fmt) != want:
                problems.append(f"cleaning {cid} ({serial}): was changed after it was recorded")
        for cid in sorted(set(kept) - set(cleaned)):
            problems.append(f"cleaning {cid} ({serial}): no event records it")
    return problems


def _archived(s: Session, shas: list[str], keys: dict[str, PublicKey]) -> set[str]:
    """Of ``shas`` (files missing from the bench), those archived away: a removal row each,
    its group as its images.removed event sealed it, and that event intact and signed."""
    if not shas:
        return set()
    rows = s.execute(select(ImageRemoval).where(ImageRemoval.sha256.in_(shas))).scalars().all()
    sealed: dict[_RemovalKey, str] = {}
    for ev in s.execute(select(Event).where(Event.kind == Kind.IMAGES_REMOVED)).scalars():
        public = keys.get(ev.key_id) if ev.key_id else None
        if hash_of(ev) != ev.hash or public is None:
            continue
        if check_signature(public, ev.signature, event_signed_text(ev.hash)):
            p = json.loads(ev.payload)
            sealed[(p.get("archive_sha256"), p.get("removed_us"))] = p.get("names_sha256")
    out: set[str] = set()
    for key in {(r.archive_sha256, r.removed_us) for r in rows}:
        group = s.execute(
            select(ImageRemoval.sha256).where(
                ImageRemoval.archive_sha256 == key[0], ImageRemoval.removed_us == key[1]
            )
        ).scalars()
        members = list(group)
        if sealed.get(key) == removal_digest(members):
            out.update(members)
    return out


def extends(store: Store, cp: Checkpoint) -> str | None:
    """None when the chain still extends ``cp`` (its event, hash and count), else why not."""
    from sqlalchemy import func

    if cp.head_id == 0 and cp.events == 0:
        return None
    with store.read() as s:
        ev = s.get(Event, cp.head_id)
        count = s.execute(select(func.count(Event.id)).where(Event.id <= cp.head_id)).scalar_one()
    if ev is None:
        return f"the record no longer holds event {cp.head_id} of the {cp.describe()}: events were removed"
    if ev.hash != cp.head_hash or hash_of(ev) != ev.hash:
        return f"event {cp.head_id} is not the one the {cp.describe()} signed: the record was rewritten"
    if count != cp.events:
        return (
            f"the record holds {count} events up to event {cp.head_id}, the {cp.describe()} "
            f"signed {cp.events}: events were removed or added"
        )
    return None
