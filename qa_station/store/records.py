"""The digests that tie inspection and cleaning rows to their events.

An event names the digest of the rows it records; recomputing the digest
from the rows as they are now shows whether any of them was edited. The
digest is taken in the format of the event that sealed the row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from qa_station.store.chain import EVENT_FORMAT, digest_for
from qa_station.store.models import Cleaning, Inspection, InspectionFiber

WHOLE_FRAME = "whole_frame"  # in a grade's ``regions``: the whole frame a region was cut from


def inspection_digest(
    row: Inspection, fibres: list[InspectionFiber], fmt: int = EVENT_FORMAT
) -> str:
    return digest_for(
        fmt,
        {
            "id": row.id,
            "assembly": row.assembly_id,
            "end": row.end_id,
            "verdict": row.verdict,
            "rules": row.rules,
            "rules_sha256": row.rules_sha256,
            "um_per_px": row.um_per_px,
            "probe": row.probe_id,
            "result": row.result,
            "overview": row.overview_sha256,
            "station": row.station_id,
            "operator": row.operator,
            "at_us": row.created_us,
            "fibers": [
                [f.fiber, f.verdict, f.image_sha256, f.focus_score]
                for f in sorted(fibres, key=lambda f: f.fiber)
            ],
        },
    )


def cleaning_digest(row: Cleaning, fmt: int = EVENT_FORMAT) -> str:
    return digest_for(
        fmt,
        {
            "id": row.id,
            "assembly": row.assembly_id,
            "end": row.end_id,
            "method": row.method,
            "tool": row.tool_id,
            "adapter": row.adapter_cleaned,
            "station": row.station_id,
            "operator": row.operator,
            "at_us": row.created_us,
        },
    )


def removal_digest(shas: Iterable[str]) -> str:
    """Seals the image names one ``images.removed`` event took off the bench (sorted, one per
    line), so a removal row cannot be added to or dropped from it afterwards."""
    return hashlib.sha256("\n".join(sorted(shas)).encode("ascii")).hexdigest()


def whole_frames(result: str | dict | None) -> list[str]:
    """The whole frames an inspection's grade JSON names (``regions[*].whole_frame``, kept by
    the image policy beside the fibres' regions): sealed with the inspection like its
    fibres' images, because the grade JSON is part of its digest."""
    if isinstance(result, str):
        if WHOLE_FRAME not in result:  # most grades keep regions only: no parse (verify's pace)
            return []
        try:
            result = json.loads(result)
        except ValueError:
            return []
    regions = result.get("regions") if isinstance(result, dict) else None
    if not isinstance(regions, dict):
        return []
    found = (r.get(WHOLE_FRAME) for r in regions.values() if isinstance(r, dict))
    return [sha for sha in found if isinstance(sha, str) and sha]
