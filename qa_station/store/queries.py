"""Questions the History page asks of the record: assemblies by serial, date, result and
operator, and how much the record holds. SQL against the models lives here, not in the
controller that shows the answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, func, select

from qa_station.store.kinds import Kind
from qa_station.store.models import Assembly, Event
from qa_station.store.store import Store


@dataclass
class HistoryRow:
    serial: str
    product: str
    status: str
    registered_us: int
    operator: str | None
    station: str


_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")


def in_period(
    q: _Query, column: SQLColumnExpression[int], since_us: int | None, until_us: int | None
) -> _Query:
    """``q`` limited to rows whose ``column`` time lies in [since_us, until_us) (None: open).

    Every report and page that takes a period means the same half-open window.
    """
    if since_us is not None:
        q = q.where(column >= since_us)
    if until_us is not None:
        q = q.where(column < until_us)
    return q


_CLOSING = {"accepted": Kind.ASSEMBLY_ACCEPTED, "rejected": Kind.ASSEMBLY_REJECTED}
RESULTS = ("open", *_CLOSING)  # what ``status`` may ask for


def search_assemblies(
    store: Store,
    serial: str = "",
    since_us: int | None = None,
    until_us: int | None = None,
    status: str | None = None,
    operator: str | None = None,
    limit: int = 500,
) -> list[HistoryRow]:
    """Assemblies by serial fragment, date, result and operator, newest first.

    Every filter is part of the query, and ``limit`` applies to what matches: a rejected
    assembly behind a month of newer ones is still found."""
    if status and status not in RESULTS:
        return []
    q = select(Assembly).order_by(Assembly.created_us.desc()).limit(limit)
    if serial:
        q = q.where(Assembly.serial.contains(serial.strip()))
    q = in_period(q, Assembly.created_us, since_us, until_us)
    if status == "open":
        q = q.where(Assembly.id.not_in(_with_events(Event.kind.in_(_CLOSING.values()))))
    elif status:
        q = q.where(Assembly.id.in_(_with_events(Event.kind == _CLOSING[status])))
    if operator:
        q = q.where(Assembly.id.in_(_with_events(Event.operator == operator)))
    with store.read() as s:
        rows = list(s.execute(q).scalars().all())
        ids = [a.id for a in rows]
        closing: dict[int | None, str] = {}
        first_op: dict[int | None, str | None] = {}
        if ids:
            for aid, kind in s.execute(
                select(Event.assembly_id, Event.kind).where(
                    Event.assembly_id.in_(ids), Event.kind.in_(_CLOSING.values())
                )
            ):
                closing[aid] = kind.split(".")[1]
            for aid, op in s.execute(
                select(Event.assembly_id, Event.operator).where(
                    Event.assembly_id.in_(ids), Event.kind == Kind.ASSEMBLY_REGISTERED
                )
            ):
                first_op[aid] = op
    return [
        HistoryRow(
            a.serial,
            a.product_id,
            closing.get(a.id, "open"),
            a.created_us,
            first_op.get(a.id),
            a.station_id,
        )
        for a in rows
    ]


def _with_events(condition: ColumnElement[bool]) -> Select[int | None]:
    """The assemblies that have an event matching ``condition`` (a subquery)."""
    return select(Event.assembly_id).where(Event.assembly_id.is_not(None), condition)


def record_counts(store: Store) -> dict[str, int]:
    """How many assemblies and events the record holds."""
    with store.read() as s:
        return {
            "assemblies": s.execute(select(func.count(Assembly.id))).scalar_one(),
            "events": s.execute(select(func.count(Event.id))).scalar_one(),
        }
