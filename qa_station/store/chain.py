"""The hash chain: canonical JSON, the digest of a record, the hash of an event.

Canonical JSON (sorted keys, no spaces, exact float repr) makes the same
content hash the same in every process and on every database, so an auditor
can recompute a chain years later from the rows alone.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64


def canonical(obj: Any) -> str:
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def digest(obj: Any) -> str:
    return hashlib.sha256(canonical(obj).encode("utf-8")).hexdigest()


def event_hash(
    prev_hash: str,
    event_id: int,
    kind: str,
    assembly_id: int | None,
    end_label: str | None,
    payload: str,
    operator: str | None,
    station_id: str,
    created_us: int,
) -> str:
    return digest(
        {
            "prev": prev_hash,
            "id": event_id,
            "kind": kind,
            "assembly": assembly_id,
            "end": end_label,
            "payload": payload,
            "operator": operator,
            "station": station_id,
            "at_us": created_us,
        }
    )
