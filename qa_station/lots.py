"""The lot (work-order) report from the record: every assembly registered in a period.

An assembly belongs to the period in which it was registered (``since``
inclusive, ``until`` exclusive), optionally of one product. Its state is the
record's state now: an assembly registered in the period and closed later
counts as closed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from grading.projection import projected
from qa_station.certificates.files import output_path, write_file
from qa_station.paths import safe_name
from qa_station.record import load_record
from qa_station.store import Store
from qa_station.store.models import Assembly
from qa_station.store.queries import in_period
from reports.control import ChartData, ChartPointData
from reports.model import FibreFailure, LotAssembly, LotReport


def build_lot(
    store: Store,
    since_us: int | None = None,
    until_us: int | None = None,
    product: str | None = None,
    local_tz: dt.tzinfo | None = None,
) -> LotReport:
    with store.read() as s:
        q = select(Assembly.serial).order_by(Assembly.id)
        q = in_period(q, Assembly.created_us, since_us, until_us)
        if product:
            q = q.where(Assembly.product_id == product)
        serials = list(s.execute(q).scalars())
    assemblies: list[LotAssembly] = []
    failures: list[FibreFailure] = []
    methods: Counter[str] = Counter()
    per_connector: Counter[str] = Counter()
    for serial in serials:
        rec = load_record(store, serial)
        n_insp = n_clean = 0
        first_pass = bool(rec.ends)
        causes: list[str] = []
        for e in rec.ends:
            n_insp += len(e.inspections)
            n_clean += len(e.cleanings)
            per_connector[e.connector] += len(e.inspections)
            if not e.inspections or e.inspections[0].verdict != "pass":
                first_pass = False
            for c in e.cleanings:
                methods[c.method] += 1
            causes.extend(str(x.get("cause", "?")) for x in e.escalations)
            for i in e.inspections:
                for f in i.result.fibers:
                    if f.verdict == "pass":
                        continue
                    words = tuple(f.failures) if f.failures else ((f.error,) if f.error else ())
                    failures.append(
                        FibreFailure(serial, e.label, e.connector, f.index, f.verdict, words)
                    )
        assemblies.append(
            projected(  # the rest (serial, status, times, reason) as the record has it
                LotAssembly,
                rec,
                inspections=n_insp,
                cleanings=n_clean,
                first_pass=first_pass,
                escalations=tuple(causes),
                deviations=len(rec.deviations),
            )
        )
    return LotReport(
        control=control_charts(store, since_us, until_us, product),
        generated_us=round(store.clock() * 1_000_000),
        station=store.station_id,
        since_us=since_us,
        until_us=until_us,
        product=product,
        assemblies=tuple(assemblies),
        failures=tuple(failures),
        cleaning_methods=dict(methods),
        inspections_by_connector=dict(per_connector),
        local_tz=local_tz,
    )


def control_charts(
    store: Store, since_us: int | None, until_us: int | None, product: str | None
) -> tuple[ChartData, ...]:
    """The period's drift charts (``drift.py``), as the report draws them."""
    from qa_station.drift import drift

    return tuple(
        ChartData(
            c.bench,
            c.kind,
            c.title,
            c.centre,
            tuple(
                ChartPointData(p.start_us, p.n, p.value, p.lcl, p.ucl, p.flags) for p in c.points
            ),
        )
        for c in drift(store, since_us, until_us, product).charts
    )


def default_name(since_us: int | None, until_us: int | None, product: str | None) -> str:
    def day(us: int | None, default: str) -> str:
        if us is None:
            return default
        return dt.datetime.fromtimestamp(us / 1e6, tz=dt.UTC).strftime("%Y%m%dT%H%M")

    name = f"lot-{day(since_us, 'start')}-{day(until_us, 'now')}"
    if product:
        name += f"-{safe_name(product)}"
    return name + ".pdf"


def write_lot_report(
    store: Store,
    out: Path | str | None,
    since_us: int | None = None,
    until_us: int | None = None,
    product: str | None = None,
    local_tz: dt.tzinfo | None = None,
) -> Path:
    from reports.lot import render_lot

    report = build_lot(store, since_us, until_us, product, local_tz)
    pdf = render_lot(report)
    path = output_path(out, default_name(since_us, until_us, product))
    write_file(path, pdf)
    return path
