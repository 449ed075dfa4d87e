"""CSV and JSON exports of inspections and events, for an MES.

JSON (``write_json``): one object ``{"format": "qa-station export", "version":
1, "since", "until", "generated", "inspections": [...], "events": [...]}``;
each inspection carries its fibres (``"fibres": [...]``). Consumers must ignore
keys they do not know.

CSV (``write_csv``) holds one table: either one row per fibre per inspection
(``INSPECTION_COLUMNS``), or one row per event (``EVENT_COLUMNS``). The
columns, in order, are documented below and in the README; times are ISO 8601
in UTC, sizes in micrometres, an empty cell is "no value".
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from typing import IO, Any

INSPECTION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("inspection_id", "the inspection's number in the store"),
    ("inspected_at", "when it was recorded, ISO 8601 UTC"),
    ("serial", "assembly serial number"),
    ("product", "catalog product id"),
    ("part_number", "part number scanned with the serial (empty if none)"),
    ("end", "end label (A, B, LC1...)"),
    ("connector", "connector type (mpo12, lc-upc...)"),
    ("rules", "rule set name"),
    ("rules_sha256", "sha256 of the rule file the end was graded against"),
    ("um_per_px", "scale, micrometres per pixel"),
    ("probe", "probe id"),
    ("station", "station id"),
    ("operator", "operator's user name"),
    ("end_verdict", "pass, fail or error (not judged) for the whole end"),
    ("fibre", "fibre number, as the fixture counts them"),
    ("fibre_verdict", "pass, fail or error"),
    ("defects", "region defects counted in the graded zones"),
    ("scratches", "scratches counted in the graded zones"),
    ("largest_defect_um", "size of the largest defect (empty: none)"),
    ("widest_scratch_um", "width of the widest scratch (empty: none)"),
    ("failures", "each limit broken, in words, separated by ' | '; or why it was not judged"),
    ("image_sha256", "sha256 of the fibre's frame in the image store"),
)

EVENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("event_id", "the event's number: events are numbered in the order they happened"),
    ("at", "when, ISO 8601 UTC"),
    ("kind", "what happened (assembly.registered, end.inspected, end.cleaned, end.connected, ...)"),
    ("serial", "assembly serial (empty for station events such as accounts)"),
    ("end", "end label (empty for assembly and station events)"),
    ("operator", "who did it (empty when the station did)"),
    ("station", "station id"),
    ("payload", "the event's details, canonical JSON"),
    ("hash", "the event's chain hash (audit verify recomputes it)"),
)


def inspection_rows(inspections: Iterable[Mapping[str, Any]]) -> Iterable[dict[str, Any]]:
    """One flat row per fibre per inspection (``INSPECTION_COLUMNS``)."""
    for i in inspections:
        base = {
            "inspection_id": i["inspection_id"],
            "inspected_at": i["at"],
            "serial": i["serial"],
            "product": i["product"],
            "part_number": i.get("part_number") or "",
            "end": i["end"],
            "connector": i["connector"],
            "rules": i["rules"],
            "rules_sha256": i.get("rules_sha256") or "",
            "um_per_px": "" if i.get("um_per_px") is None else i["um_per_px"],
            "probe": i["probe"],
            "station": i["station"],
            "operator": i["operator"],
            "end_verdict": i["verdict"],
        }
        for f in i["fibres"]:
            yield {
                **base,
                "fibre": f["fibre"],
                "fibre_verdict": f["verdict"],
                "defects": f["defects"],
                "scratches": f["scratches"],
                "largest_defect_um": ""
                if f["largest_defect_um"] is None
                else f["largest_defect_um"],
                "widest_scratch_um": ""
                if f["widest_scratch_um"] is None
                else f["widest_scratch_um"],
                "failures": " | ".join(f["failures"]) if f["failures"] else (f.get("error") or ""),
                "image_sha256": f.get("image_sha256") or "",
            }


def event_rows(events: Iterable[Mapping[str, Any]]) -> Iterable[dict[str, Any]]:
    for e in events:
        yield {
            "event_id": e["id"],
            "at": e["at"],
            "kind": e["kind"],
            "serial": e.get("serial") or "",
            "end": e.get("end") or "",
            "operator": e.get("operator") or "",
            "station": e["station"],
            "payload": json.dumps(
                e["payload"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ),
            "hash": e["hash"],
        }


def write_csv(
    rows: Iterable[Mapping[str, Any]], columns: tuple[tuple[str, str], ...], out: IO[str]
) -> int:
    """Write a header and the rows; returns the number of rows."""
    w = csv.DictWriter(
        out, fieldnames=[c for c, _ in columns], lineterminator="\n", extrasaction="ignore"
    )
    w.writeheader()
    n = 0
    for r in rows:
        w.writerow(r)
        n += 1
    return n


def write_json(doc: Mapping[str, Any], out: IO[str]) -> None:
    json.dump(doc, out, indent=1, ensure_ascii=False)
    out.write("\n")
