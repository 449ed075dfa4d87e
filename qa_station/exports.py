"""Inspections and events of a period, read from the store for exports and lot reports.

Dates on the command line: ``YYYY-MM-DD`` (a whole UTC day: ``--since`` from
its 00:00, ``--until`` through its end) or an ISO 8601 date-time
(``2026-11-20T14:00``, ``2026-11-20T14:00+01:00``); without a zone it is UTC.
``since`` is inclusive, ``until`` exclusive.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, select

from grading.results import EndFaceResult
from qa_station.store import Store
from qa_station.store.models import Assembly, End, Event, Inspection, InspectionFiber
from qa_station.store.store import iso

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class DateError(ValueError):
    """A date on the command line that cannot be read."""


def parse_when(text: str, upper: bool = False) -> int:
    """Microseconds since the epoch (UTC) for a date or date-time; see the module docstring."""
    t = text.strip()
    try:
        if _DATE.match(t):
            day = dt.datetime.strptime(t, "%Y-%m-%d").replace(tzinfo=dt.UTC)
            if upper:
                day += dt.timedelta(days=1)
            return round(day.timestamp() * 1_000_000)
        when = dt.datetime.fromisoformat(t.replace("Z", "+00:00") if t.endswith("Z") else t)
    except ValueError:
        raise DateError(
            f"{text!r} is not a date: use YYYY-MM-DD or an ISO 8601 date-time such as 2026-11-20T14:00"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return round(when.timestamp() * 1_000_000)


def _window(
    column: SQLColumnExpression[int], since_us: int | None, until_us: int | None
) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if since_us is not None:
        conds.append(column >= since_us)
    if until_us is not None:
        conds.append(column < until_us)
    return conds


def inspections(store: Store, since_us: int | None, until_us: int | None) -> list[dict[str, Any]]:
    """Every inspection recorded in the window, oldest first, with its fibres."""
    with store.read() as s:
        rows = s.execute(
            select(Inspection, Assembly, End)
            .join(Assembly, Inspection.assembly_id == Assembly.id)
            .join(End, Inspection.end_id == End.id)
            .where(*_window(Inspection.created_us, since_us, until_us))
            .order_by(Inspection.id)
        ).all()
        ids = [i.id for i, _a, _e in rows]
        images: dict[tuple[int, int], str | None] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for row in s.execute(
                select(InspectionFiber).where(InspectionFiber.inspection_id.in_(chunk))
            ).scalars():
                images[(row.inspection_id, row.fiber)] = row.image_sha256
    out = []
    for i, a, e in rows:
        result = EndFaceResult.from_dict(json.loads(i.result))
        fibres = []
        for f in result.fibers:
            defects = [d for d in f.defects if d.kind != "scratch"]
            scratches = [d for d in f.defects if d.kind == "scratch"]
            fibres.append(
                {
                    "fibre": f.index,
                    "verdict": f.verdict,
                    "defects": len(defects),
                    "scratches": len(scratches),
                    "largest_defect_um": max((d.size_um for d in defects), default=None),
                    "widest_scratch_um": max((d.size_um for d in scratches), default=None),
                    "failures": list(f.failures),
                    "error": f.error,
                    "image_sha256": images.get((i.id, f.index)),
                }
            )
        out.append(
            {
                "inspection_id": i.id,
                "at": iso(i.created_us),
                "at_us": i.created_us,
                "serial": a.serial,
                "product": a.product_id,
                "part_number": a.part_number,
                "end": e.label,
                "connector": e.connector,
                "rules": i.rules,
                "rules_sha256": i.rules_sha256,
                "um_per_px": i.um_per_px,
                "probe": i.probe_id,
                "station": i.station_id,
                "operator": i.operator,
                "verdict": i.verdict,
                "error": result.error,
                "overview_sha256": i.overview_sha256,
                "fibres": fibres,
            }
        )
    return out


def events(store: Store, since_us: int | None, until_us: int | None) -> list[dict[str, Any]]:
    """Every event recorded in the window, in chain order (the shape of ``history --json``)."""
    with store.read() as s:
        serials: dict[int | None, str] = dict(s.execute(select(Assembly.id, Assembly.serial)).all())
        rows = (
            s.execute(
                select(Event)
                .where(*_window(Event.created_us, since_us, until_us))
                .order_by(Event.id)
            )
            .scalars()
            .all()
        )
    return [
        {
            "id": ev.id,
            "kind": ev.kind,
            "serial": serials.get(ev.assembly_id),
            "end": ev.end_label,
            "at": iso(ev.created_us),
            "operator": ev.operator,
            "station": ev.station_id,
            "payload": json.loads(ev.payload),
            "hash": ev.hash,
        }
        for ev in rows
    ]
