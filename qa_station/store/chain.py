"""The hash chain: canonical JSON, the digest of a record, the hash of an event.

Format 2 (every event written since the record was signed) hashes RFC 8785
canonical JSON (JCS), which any auditor can recompute in another language:
the event's fields as one JSON object, canonicalised, then SHA-256. The
station signs the ASCII string ``qa-station event v2:<hash>`` with its key.
Format 1 (events written before) hashed Python's sorted ``json.dumps``; those
events are kept as they are and checked with the function that made them,
and the first checkpoint signed over them pins them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785

GENESIS = "0" * 64
LEGACY_FORMAT = 1
EVENT_FORMAT = 2
EVENT_SIGNATURE_PREFIX = "qa-station event v2:"


def canonical(obj: Any) -> str:
    """RFC 8785 canonical JSON of ``obj``, as text."""
    return rfc8785.dumps(obj).decode("utf-8")


def digest(obj: Any) -> str:
    """SHA-256 of the RFC 8785 form of ``obj``."""
    return hashlib.sha256(rfc8785.dumps(obj)).hexdigest()


def legacy_canonical(obj: Any) -> str:
    """The canonical form of format 1 (sorted keys, no spaces, Python's float repr)."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def legacy_digest(obj: Any) -> str:
    return hashlib.sha256(legacy_canonical(obj).encode("utf-8")).hexdigest()


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
    session: str | None,
    mono_us: int | None,
) -> str:
    """The hash of a format 2 event: SHA-256 of the RFC 8785 form of its fields."""
    return digest(
        {
            "v": EVENT_FORMAT,
            "prev": prev_hash,
            "id": event_id,
            "kind": str(kind),
            "assembly": assembly_id,
            "end": end_label,
            "payload": payload,
            "operator": operator,
            "station": station_id,
            "at_us": created_us,
            "session": session,
            "mono_us": mono_us,
        }
    )


def legacy_event_hash(
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
    """The hash of a format 1 event (written before the record was signed)."""
    return legacy_digest(
        {
            "prev": prev_hash,
            "id": event_id,
            "kind": str(kind),
            "assembly": assembly_id,
            "end": end_label,
            "payload": payload,
            "operator": operator,
            "station": station_id,
            "at_us": created_us,
        }
    )


def hash_of(ev: Any) -> str:
    """Recompute the hash of an event row (any format) from its columns."""
    if ev.format == LEGACY_FORMAT:
        return legacy_event_hash(
            ev.prev_hash,
            ev.id,
            ev.kind,
            ev.assembly_id,
            ev.end_label,
            ev.payload,
            ev.operator,
            ev.station_id,
            ev.created_us,
        )
    return event_hash(
        ev.prev_hash,
        ev.id,
        ev.kind,
        ev.assembly_id,
        ev.end_label,
        ev.payload,
        ev.operator,
        ev.station_id,
        ev.created_us,
        ev.session,
        ev.mono_us,
    )


def signed_text(event_hash_hex: str) -> bytes:
    """What the station signs for an event: its hash, with the format's tag."""
    return (EVENT_SIGNATURE_PREFIX + event_hash_hex).encode("ascii")


def digest_for(fmt: int, obj: Any) -> str:
    """The digest of a sealed row in the format of the event that sealed it."""
    return legacy_digest(obj) if fmt == LEGACY_FORMAT else digest(obj)
