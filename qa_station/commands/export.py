"""``qa-station export --since DATE --format csv|json``: inspections and events for an MES.

JSON: one object with ``inspections`` (each with its fibres) and ``events``.
CSV: one table, one row per fibre per inspection (``--records inspections``,
the default) or one row per event (``--records events``); the columns are
listed in ``reports/export.py`` and the README. Stdout unless ``-o PATH``.
Exit 2 on a date that cannot be read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import tempfile
from pathlib import Path

from qa_station import exports
from qa_station.commands.common import CommandError, db_option, fails_as, station
from qa_station.exports import DateError, parse_when
from qa_station.store import StoreError
from reports.export import (
    EVENT_COLUMNS,
    INSPECTION_COLUMNS,
    event_rows,
    inspection_rows,
    write_csv,
    write_json,
)

DESCRIPTION = (
    "Export the inspections (every fibre's verdict) and events recorded in a "
    "period. Dates: YYYY-MM-DD (whole UTC days; --until includes its day) or ISO 8601 "
    "date-times (UTC unless a zone is given)."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", metavar="DATE", required=True, help="from this date (inclusive)")
    p.add_argument("--until", metavar="DATE", help="up to this date (default: now)")
    p.add_argument("--format", choices=("csv", "json"), required=True)
    p.add_argument(
        "--records",
        choices=("inspections", "events", "all"),
        help="what to export (default: all in JSON; inspections in CSV, which holds one table)",
    )
    p.add_argument("-o", "--output", metavar="PATH", help="write to this file (default: stdout)")
    db_option(p)


@fails_as("export", DateError, StoreError)
def run(args: argparse.Namespace) -> int:
    since = parse_when(args.since)
    until = parse_when(args.until, upper=True) if args.until else None
    if until is not None and until <= since:
        raise CommandError("--until must be after --since")
    records = args.records or ("all" if args.format == "json" else "inspections")
    if args.format == "csv" and records == "all":
        raise CommandError("a CSV file holds one table: --records inspections or --records events")
    _, store, _ = station(args.db)
    try:
        insp = (
            exports.inspections(store, since, until) if records in ("inspections", "all") else None
        )
        evs = exports.events(store, since, until) if records in ("events", "all") else None
    finally:
        store.close()
    buf = io.StringIO()
    if args.format == "json":
        doc = {
            "format": "qa-station export",
            "version": 1,
            "since": _iso(since),
            "until": _iso(until),
            "generated": _iso(round(dt.datetime.now(dt.UTC).timestamp() * 1_000_000)),
        }
        if insp is not None:
            doc["inspections"] = insp
        if evs is not None:
            doc["events"] = evs
        write_json(doc, buf)
    elif insp is not None:
        write_csv(inspection_rows(insp), INSPECTION_COLUMNS, buf)
    else:
        write_csv(event_rows(evs or []), EVENT_COLUMNS, buf)
    if not args.output:
        sys.stdout.write(buf.getvalue())
        return 0
    try:
        _write(Path(args.output), buf.getvalue())
    except OSError as exc:
        raise CommandError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    return 0


def _iso(us: int | None) -> str | None:
    if us is None:
        return None
    return dt.datetime.fromtimestamp(us / 1e6, tz=dt.UTC).isoformat(timespec="milliseconds")


def _write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
