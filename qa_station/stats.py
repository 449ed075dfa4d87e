"""Production statistics over the store: yield, where fibres fail, cleaning effort, escalations.

Each function is one or two aggregate queries (the database counts; Python
only shapes the few rows that come back), so they stay fast on a floor
database of 100,000 assemblies. Periods are ``[since_us, until_us)`` in
integer microseconds (UTC), either end open when None; ``product_id`` None
means every product. No Qt: the Statistics page, a script or a test calls
these the same way.

What is counted, and why:

- first-pass yield: an end counts in the bucket of its *first* inspection
  (the lowest inspection id of that end: rows are appended in time order under
  the chain lock), and passes only if that inspection passed. A first
  inspection that could not be judged (``error``) is not a pass.
- defects by position: every failed fibre inspection counts, not only the
  final one: a fibre that failed twice before it passed failed twice. That is
  the number that shows a fixture, a polishing jig or a cleaning tool that
  keeps leaving the same position dirty.
- cleaning cycles: cleanings per closed assembly (accepted or rejected), in
  the period in which it was closed; open assemblies are still being worked on.
- escalations: every ``end.escalated`` event by its cause.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import SQLColumnExpression, case, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from grading.geometry import ConnectorGeometry, connector
from qa_station.store import Store
from qa_station.store.kinds import Kind
from qa_station.store.models import Assembly, Cleaning, End, Event, Inspection, InspectionFiber
from qa_station.store.queries import in_period

BUCKETS_US = {"hour": 3_600_000_000, "day": 86_400_000_000}
CLOSING_KINDS = (Kind.ASSEMBLY_ACCEPTED, Kind.ASSEMBLY_REJECTED)


class StatsError(ValueError):
    """A statistics request that cannot be answered as asked."""


@dataclass(frozen=True)
class YieldBucket:
    start_us: int  # UTC microseconds of the bucket's start (local midnight for days)
    ends: int  # ends first inspected in this bucket
    passed: int  # of those, how many passed that first inspection

    @property
    def share(self) -> float:
        return self.passed / self.ends if self.ends else 0.0


@dataclass(frozen=True)
class FirstPassYield:
    bucket: str  # "day" or "hour"
    buckets: tuple[YieldBucket, ...]  # only buckets with first inspections, oldest first

    @property
    def ends(self) -> int:
        return sum(b.ends for b in self.buckets)

    @property
    def passed(self) -> int:
        return sum(b.passed for b in self.buckets)

    @property
    def share(self) -> float:
        return self.passed / self.ends if self.ends else 0.0


@dataclass(frozen=True)
class PositionCount:
    fiber: int  # 1-based fibre number, as the fixture numbers them
    position_um: tuple[float, float]  # on the ferrule, key up, y down (grading.geometry)
    inspected: int  # fibre inspections at this position
    failed: int  # of those, failed
    not_judged: int  # of those, verdict "error"


@dataclass(frozen=True)
class DefectMap:
    connector: str
    geometry: ConnectorGeometry
    positions: tuple[PositionCount, ...]  # fibre 1 first
    inspections: int  # end inspections counted

    @property
    def failed(self) -> int:
        return sum(p.failed for p in self.positions)

    @property
    def max_failed(self) -> int:
        return max((p.failed for p in self.positions), default=0)


@dataclass(frozen=True)
class CleaningHistogram:
    cycles: tuple[int, ...]  # 0, 1, 2 ... up to the most cleanings any assembly needed
    accepted: tuple[int, ...]  # accepted assemblies with that many cleanings
    rejected: tuple[int, ...]  # rejected assemblies with that many cleanings

    @property
    def assemblies(self) -> int:
        return sum(self.accepted) + sum(self.rejected)

    def mean(self) -> float:
        n = self.assemblies
        total = sum(
            c * (a + r) for c, a, r in zip(self.cycles, self.accepted, self.rejected, strict=True)
        )
        return total / n if n else 0.0


@dataclass(frozen=True)
class EscalationCauses:
    causes: tuple[tuple[str, int], ...]  # (cause, escalations), most frequent first

    @property
    def total(self) -> int:
        return sum(n for _, n in self.causes)

    def share(self, cause: str) -> float:
        total = self.total
        return dict(self.causes).get(cause, 0) / total if total else 0.0


def first_pass_yield(
    store: Store,
    since_us: int | None,
    until_us: int | None,
    bucket: str = "day",
    product_id: str | None = None,
    utc_offset_s: int = 0,
) -> FirstPassYield:
    """Per hour or day: of the ends first inspected then, the share that passed first time.

    ``utc_offset_s`` puts day boundaries at local midnight (one offset for the
    whole period: across a daylight-saving change the boundary is an hour off).
    """
    if bucket not in BUCKETS_US:
        raise StatsError(f"bucket {bucket!r}: expected one of {', '.join(BUCKETS_US)}")
    size = BUCKETS_US[bucket]
    offset = int(utc_offset_s) * 1_000_000
    i, j = aliased(Inspection), aliased(Inspection)
    earlier = select(j.id).where(j.end_id == i.end_id, j.id < i.id).exists()
    # Constants inline, not bound: PostgreSQL must see the same expression in GROUP BY.
    index = ((i.created_us + literal_column(str(offset))) // literal_column(str(size))).label("b")
    q = (
        select(index, func.count(), func.sum(case((i.verdict == "pass", 1), else_=0)))
        .where(~earlier)
        .group_by(index)
        .order_by(index)
    )
    q = in_period(q, i.created_us, since_us, until_us)
    if product_id:
        q = q.join(Assembly, Assembly.id == i.assembly_id).where(Assembly.product_id == product_id)
    with store.read() as s:
        rows = s.execute(q).all()
    return FirstPassYield(
        bucket,
        tuple(YieldBucket(int(b) * size - offset, int(n), int(p or 0)) for b, n, p in rows),
    )


def defects_by_position(
    store: Store,
    connector_name: str,
    since_us: int | None,
    until_us: int | None,
    product_id: str | None = None,
) -> DefectMap:
    """Failed fibre inspections at each position of one connector type (every inspection)."""
    geometry = connector(connector_name)  # UnknownConnectorError names the known types
    per_fibre = (
        select(
            InspectionFiber.fiber,
            func.count(),
            func.sum(case((InspectionFiber.verdict == "fail", 1), else_=0)),
            func.sum(case((InspectionFiber.verdict == "error", 1), else_=0)),
        )
        .join(Inspection, Inspection.id == InspectionFiber.inspection_id)
        .join(End, End.id == Inspection.end_id)
        .where(End.connector == connector_name)
        .group_by(InspectionFiber.fiber)
    )
    ends = (
        select(func.count(Inspection.id))
        .join(End, End.id == Inspection.end_id)
        .where(End.connector == connector_name)
    )
    per_fibre = in_period(per_fibre, Inspection.created_us, since_us, until_us)
    ends = in_period(ends, Inspection.created_us, since_us, until_us)
    if product_id:
        per_fibre = per_fibre.join(Assembly, Assembly.id == Inspection.assembly_id).where(
            Assembly.product_id == product_id
        )
        ends = ends.join(Assembly, Assembly.id == Inspection.assembly_id).where(
            Assembly.product_id == product_id
        )
    with store.read() as s:
        counts = {int(f): (int(n), int(x or 0), int(e or 0)) for f, n, x, e in s.execute(per_fibre)}
        inspections = int(s.execute(ends).scalar_one())
    positions = tuple(
        PositionCount(k, (float(x), float(y)), *counts.get(k, (0, 0, 0)))
        for k, (x, y) in enumerate(geometry.fiber_positions_um, start=1)
    )
    return DefectMap(connector_name, geometry, positions, inspections)


def cleaning_cycles(
    store: Store,
    since_us: int | None,
    until_us: int | None,
    product_id: str | None = None,
) -> CleaningHistogram:
    """How many assemblies closed in the period needed 0, 1, 2 ... cleanings, by outcome."""
    closing = select(Event.assembly_id.label("aid"), Event.kind.label("kind")).where(
        Event.kind.in_(CLOSING_KINDS)
    )
    closing = in_period(closing, Event.created_us, since_us, until_us)
    if product_id:
        closing = closing.join(Assembly, Assembly.id == Event.assembly_id).where(
            Assembly.product_id == product_id
        )
    closed = closing.subquery()
    per_assembly = (
        select(closed.c.aid, closed.c.kind, func.count(Cleaning.id).label("n"))
        .select_from(closed)
        .outerjoin(Cleaning, Cleaning.assembly_id == closed.c.aid)
        .group_by(closed.c.aid, closed.c.kind)
        .subquery()
    )
    q = select(per_assembly.c.n, per_assembly.c.kind, func.count()).group_by(
        per_assembly.c.n, per_assembly.c.kind
    )
    with store.read() as s:
        rows = [(int(n), kind, int(count)) for n, kind, count in s.execute(q)]
    top = max((n for n, _, _ in rows), default=-1)
    accepted, rejected = [0] * (top + 1), [0] * (top + 1)
    for n, kind, count in rows:
        (accepted if kind == Kind.ASSEMBLY_ACCEPTED else rejected)[n] += count
    return CleaningHistogram(tuple(range(top + 1)), tuple(accepted), tuple(rejected))


def escalation_causes(
    store: Store,
    since_us: int | None,
    until_us: int | None,
    product_id: str | None = None,
) -> EscalationCauses:
    """Escalations in the period by the cause the gate gave (damage, residue...)."""
    cause = _json_text(store, Event.payload, "cause").label("cause")
    q = select(cause, func.count()).where(Event.kind == Kind.END_ESCALATED).group_by(cause)
    q = in_period(q, Event.created_us, since_us, until_us)
    if product_id:
        q = q.join(Assembly, Assembly.id == Event.assembly_id).where(
            Assembly.product_id == product_id
        )
    with store.read() as s:
        rows = [(str(c) if c is not None else "unknown", int(n)) for c, n in s.execute(q)]
    return EscalationCauses(tuple(sorted(rows, key=lambda r: (-r[1], r[0]))))


def _json_text(store: Store, column: SQLColumnExpression[str], key: str) -> ColumnElement[str]:
    """A text field of a JSON column, extracted by the database (payloads are stored as text)."""
    extracted: ColumnElement[str]
    if store.dialect == "sqlite":
        extracted = func.json_extract(column, f"$.{key}")
    elif store.dialect == "postgresql":
        extracted = cast(column, JSONB)[key].astext
    else:
        raise StatsError(f"statistics need SQLite or PostgreSQL, not {store.dialect}")
    return extracted
