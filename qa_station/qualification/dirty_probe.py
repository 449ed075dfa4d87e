"""The dirty-probe alarm: the same "defect" at the same place in the frame on different glass.

Dirt on a connector is fixed to its fibre; the fixture lands every fibre a few
micrometres differently, so two fibres' dirt almost never sits at one pixel
of the frame. A smudge on the probe's lens or tip window does: it is at the
same pixel in every frame, whatever fibre is under it, at the same size.

After every recorded inspection, in the same transaction, the marks (region
defects: where in the frame, how big) of the station's last inspections
since the probe was last cleaned are compared with the new one's. A spot is
marks within ``SPOT_PX`` of one another and of like size. It is a dirty
probe when it is on at least ``MIN_SURFACES`` distinct fibres spanning at
least ``MIN_ENDS`` connector ends (consecutive inspections of different
ends, or serials), or on ``ONE_END_SURFACES`` fibres of one end (one MPO
inspection): the same speck on four different fibres of one connector at one
pixel is not dirt on the glass. And the fibres under it must have landed in
different places (their centres at least ``MOVED_PX`` apart): a spot fixed to
the fibre as well as to the frame is something on the connectors themselves
(a batch polished with the same flaw), not on the probe. Then a ``probe.dirty`` event names every
inspection since the last cleaning that shows the spot, and the gate refuses
inspections ("clean the probe tip") until ``probe.cleaned`` is recorded.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from qa_station.accounts import Session, signed_in
from qa_station.store import Store, Writer
from qa_station.store.kinds import Kind
from qa_station.store.models import Assembly, Event, Inspection

WINDOW = 3  # the new inspection and the two before it, at this station
SPOT_PX = 3.0  # a smudge does not move in the frame; dirt lands ~10 px differently per fibre
MIN_SURFACES = 3
MIN_ENDS = 2
ONE_END_SURFACES = 4
SIZE_MATCH_UM = 0.6  # like size: within this, or SIZE_MATCH_SHARE of the size
SIZE_MATCH_SHARE = 0.2
LOOK_BACK = 200  # inspections searched for the spot when the alarm fires
MOVED_PX = 6.0  # the fibres under a lens smudge landed at least this far apart


@dataclass(frozen=True)
class Mark:
    inspection_id: int
    assembly_id: int
    end: str
    fibre: int
    x: float
    y: float
    size_um: float
    fibre_x: float = 0.0  # the centre of the fibre it was on, in its frame
    fibre_y: float = 0.0

    @property
    def surface(self) -> tuple[int, str, int]:
        return self.assembly_id, self.end, self.fibre

    def near(self, other: Mark) -> bool:
        size = max(SIZE_MATCH_UM, SIZE_MATCH_SHARE * max(self.size_um, other.size_um))
        return (
            math.hypot(self.x - other.x, self.y - other.y) <= SPOT_PX
            and abs(self.size_um - other.size_um) <= size
        )


@dataclass(frozen=True)
class Spot:
    x: float
    y: float
    size_um: float
    marks: tuple[Mark, ...]

    @property
    def surfaces(self) -> int:
        return len({m.surface for m in self.marks})

    @property
    def ends(self) -> int:
        return len({m.surface[:2] for m in self.marks})

    @property
    def fibres_moved_px(self) -> float:
        """How far apart the fibres under the spot landed (the widest pair)."""
        pts = [(m.fibre_x, m.fibre_y) for m in self.marks]
        return max((math.dist(a, b) for a in pts for b in pts), default=0.0)


def marks(inspection_id: int, assembly_id: int, end: str, result_json: str) -> list[Mark]:
    """The region defects of an inspection, where they are in their frames."""
    doc = json.loads(result_json)
    out = []
    for f in doc.get("fibers", []):
        centre = f.get("center_px") or [0.0, 0.0]
        for d in f.get("defects", []):
            at = d.get("center_px")
            if d.get("kind") != "defect" or not isinstance(at, list) or len(at) != 2:
                continue
            out.append(
                Mark(
                    inspection_id,
                    assembly_id,
                    end,
                    int(f.get("index", 0)),
                    float(at[0]),
                    float(at[1]),
                    float(d.get("size_um", 0.0)),
                    float(centre[0]),
                    float(centre[1]),
                )
            )
    return out


def find_spot(newest: list[Mark], before: list[Mark]) -> Spot | None:
    """A spot of the newest inspection's marks that is a dirty probe, or None."""
    pool = newest + before
    for m in newest:
        hits = [o for o in pool if m.near(o)]
        spot = Spot(
            x=sum(o.x for o in hits) / len(hits),
            y=sum(o.y for o in hits) / len(hits),
            size_um=sorted(o.size_um for o in hits)[len(hits) // 2],
            marks=tuple(hits),
        )
        enough = (spot.surfaces >= MIN_SURFACES and spot.ends >= MIN_ENDS) or (
            spot.surfaces >= ONE_END_SURFACES
        )
        if enough and spot.fibres_moved_px >= MOVED_PX:
            return spot
    return None


def check(w: Writer, station_id: str, inspection: Inspection, end: str) -> dict[str, Any] | None:
    """After an inspection is added (in its transaction): record the alarm if it fires."""
    s = w.session
    since = _last_cleaned(s, station_id)
    recent = _inspections(s, station_id, since, WINDOW, before_id=inspection.id + 1)
    newest = marks(inspection.id, inspection.assembly_id, end, inspection.result)
    if not newest:
        return None
    before = [m for row in recent if row.id != inspection.id for m in _marks_of(s, row)]
    spot = find_spot(newest, before)
    if spot is None:
        return None
    affected = _affected(s, station_id, since, spot, inspection.id)
    serials = dict(
        s.execute(
            select(Assembly.id, Assembly.serial).where(Assembly.id.in_({a for a, _, _ in affected}))
        ).all()
    )
    message = (
        f"the probe tip is dirty: the same spot ({spot.size_um:.1f} um) at x {spot.x:.0f}, "
        f"y {spot.y:.0f} of the frame on {spot.surfaces} fibres of {spot.ends} connector "
        f"end(s) in the last inspections: clean the probe tip, then record it (Probe tip "
        "cleaned); the inspections it affected are marked on the record"
    )
    payload = {
        "message": message,
        "last_inspection_id": inspection.id,
        "spot_px": [round(spot.x, 1), round(spot.y, 1)],
        "size_um": round(spot.size_um, 2),
        "fibres": spot.surfaces,
        "ends": spot.ends,
        "inspections": [
            {"inspection_id": iid, "serial": serials.get(aid), "end": e, "fibres": fibres}
            for (aid, iid, e), fibres in sorted(affected.items(), key=lambda kv: kv[0][1])
        ],
    }
    w.event(Kind.PROBE_DIRTY, payload)
    return payload


def _last_cleaned(s: DbSession, station_id: str) -> int:
    """The station's last inspection before the probe was last cleaned (or the alarm last
    fired): only inspections after it are looked at. 0: never."""
    last = s.execute(
        select(Event.payload)
        .where(
            Event.station_id == station_id,
            Event.kind.in_([Kind.PROBE_CLEANED.value, Kind.PROBE_DIRTY.value]),
        )
        .order_by(Event.id.desc())
        .limit(1)
    ).scalar()
    return int(json.loads(last).get("last_inspection_id") or 0) if last else 0


def last_inspection_id(s: DbSession, station_id: str) -> int:
    """The station's newest inspection (the watermark a probe event keeps)."""
    found = s.execute(
        select(Inspection.id)
        .where(Inspection.station_id == station_id)
        .order_by(Inspection.id.desc())
        .limit(1)
    ).scalar()
    return int(found or 0)


def _inspections(
    s: DbSession, station_id: str, after_id: int, n: int, before_id: int
) -> list[Inspection]:
    """The station's last ``n`` inspections with ids in (after_id, before_id)."""
    q = (
        select(Inspection)
        .where(
            Inspection.station_id == station_id,
            Inspection.id < before_id,
            Inspection.id > after_id,
        )
        .order_by(Inspection.id.desc())
        .limit(n)
    )
    return list(s.execute(q).scalars())


def _marks_of(s: DbSession, row: Inspection) -> list[Mark]:
    from qa_station.store.models import End

    label = s.execute(select(End.label).where(End.id == row.end_id)).scalar() or "?"
    return marks(row.id, row.assembly_id, label, row.result)


def _affected(
    s: DbSession, station_id: str, since: int, spot: Spot, newest_id: int
) -> dict[tuple[int, int, str], list[int]]:
    """Every inspection since the probe was last cleaned with a mark at the spot."""
    probe = Mark(0, 0, "", 0, spot.x, spot.y, spot.size_um)
    out: dict[tuple[int, int, str], list[int]] = {}
    for row in _inspections(s, station_id, since, LOOK_BACK, before_id=newest_id + 1):
        for m in _marks_of(s, row):
            if probe.near(m):
                out.setdefault((m.assembly_id, m.inspection_id, m.end), []).append(m.fibre)
    return {k: sorted(set(v)) for k, v in out.items()}


def record_cleaned(store: Store, who: Session, note: str = "") -> int:
    """The probe tip was cleaned: clears the alarm; later inspections start a new watch.
    ``who``: the session of the person who cleaned it, checked as the gate checks."""
    with store.write() as w:
        op = signed_in(w, who)
        payload = {
            "last_inspection_id": last_inspection_id(w.session, store.station_id),
            "note": note.strip()[:200],
        }
        return w.event(Kind.PROBE_CLEANED, payload, None, None, op.username).id


def alarms_for(session: DbSession, inspection_ids: set[int]) -> dict[int, str]:
    """The inspections among ``inspection_ids`` a dirty-probe alarm marked, and how."""
    out: dict[int, str] = {}
    if not inspection_ids:
        return out
    rows = session.execute(
        select(Event.id, Event.payload, Event.station_id).where(
            Event.kind == Kind.PROBE_DIRTY.value
        )
    ).all()
    for event_id, payload, station in rows:
        doc = json.loads(payload)
        for entry in doc.get("inspections", []):
            iid = entry.get("inspection_id")
            if iid in inspection_ids:
                fibres = ", ".join(str(n) for n in entry.get("fibres", []))
                out[iid] = (
                    f"made with a dirty probe tip at {station} (a {doc.get('size_um')} um spot "
                    f"at x {doc.get('spot_px', ['?', '?'])[0]}, y {doc.get('spot_px', ['?', '?'])[1]} "
                    f"of the frame, on fibre(s) {fibres}; event #{event_id})"
                )
    return out
