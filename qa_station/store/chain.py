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

import functools
import hashlib
import json
from typing import Any

import rfc8785

GENESIS = "0" * 64
LEGACY_FORMAT = 1
EVENT_FORMAT = 2
EVENT_SIGNATURE_PREFIX = "qa-station event v2:"


_MAX_INT = 2**53 - 1  # RFC 8785: numbers are IEEE doubles; larger integers are refused
# The standard library's C string encoder escapes exactly as RFC 8785 asks (quote, backslash,
# \b \f \n \r \t, other controls as \u00xx, everything else as it is): the tests hold it to
# the rfc8785 package over random text.
_string = json.encoder.encode_basestring


def canonical(obj: Any) -> str:
    """RFC 8785 canonical JSON of ``obj``, as text.

    Numbers are written by the ``rfc8785`` package (ECMAScript's shortest form, the one
    part that is hard to get right); strings, arrays and objects are put together here,
    because the package's pure-Python string escaping costs 0.3 ms for an inspection's
    grade JSON and audit verify recomputes millions of them. The result is byte for byte
    the package's (tests/qa_station/test_chain.py)."""
    out: list[str] = []
    _encode(obj, out)
    text = "".join(out)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise rfc8785.CanonicalizationError("input contains non-UTF-8 codepoints") from None
    return text


def _encode(obj: Any, out: list[str]) -> None:
    t = type(obj)  # the common exact types first: this runs millions of times in verify
    if t is str:
        out.append(_string(obj))
    elif t is int:
        if not -_MAX_INT <= obj <= _MAX_INT:
            raise rfc8785.IntegerDomainError(obj)
        out.append(str(obj))
    elif t is dict:
        if not all(type(k) is str or isinstance(k, str) for k in obj):
            raise rfc8785.CanonicalizationError("object keys must be strings")
        out.append("{")
        first = True
        for key in sorted(obj, key=_utf16):
            if not first:
                out.append(",")
            first = False
            out.append(_string(key))
            out.append(":")
            _encode(obj[key], out)
        out.append("}")
    elif t is list or t is tuple:
        out.append("[")
        for i, item in enumerate(obj):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif t is float:
        out.append(_float(obj))
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, str):  # a StrEnum (an event kind): its value
        out.append(_string(obj))
    elif isinstance(obj, int):
        _encode(int(obj), out)
    elif isinstance(obj, float):
        _encode(float(obj), out)
    elif isinstance(obj, list | tuple):
        _encode(list(obj), out)
    elif isinstance(obj, dict):
        _encode(dict(obj), out)
    else:
        raise rfc8785.CanonicalizationError(f"unsupported type: {type(obj).__name__}")


@functools.lru_cache(maxsize=1 << 16)
def _float(x: float) -> str:
    """ECMAScript's shortest form (RFC 8785 3.2.2.3), by the package; the same scales and
    focus scores come back again and again."""
    return rfc8785.dumps(x).decode("ascii")


def _utf16(key: str) -> bytes:
    return key.encode("utf-16-be")


def digest(obj: Any) -> str:
    """SHA-256 of the RFC 8785 form of ``obj``."""
    return hashlib.sha256(canonical(obj).encode("utf-8")).hexdigest()


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
    """The hash of a format 2 event: SHA-256 of the RFC 8785 form of the object
    {"v": 2, "prev", "id", "kind", "assembly", "end", "payload" (the canonical JSON text, as
    a string), "operator", "station", "at_us", "session", "mono_us"}. Written out here in
    its canonical key order (the tests hold it to the generic form)."""
    text = (
        f'{{"assembly":{_number(assembly_id)},"at_us":{_number(created_us)},'
        f'"end":{_text(end_label)},"id":{_number(event_id)},"kind":{_string(str(kind))},'
        f'"mono_us":{_number(mono_us)},"operator":{_text(operator)},'
        f'"payload":{_string(payload)},"prev":{_string(prev_hash)},'
        f'"session":{_text(session)},"station":{_string(station_id)},"v":{EVENT_FORMAT}}}'
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _number(n: int | None) -> str:
    if n is None:
        return "null"
    if not -_MAX_INT <= n <= _MAX_INT:
        raise rfc8785.IntegerDomainError(n)
    return str(int(n))


def _text(s: str | None) -> str:
    return "null" if s is None else _string(s)


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
    # The columns both formats hash; format 2 adds the session and its monotonic time.
    columns = (
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
    if ev.format == LEGACY_FORMAT:
        return legacy_event_hash(*columns)
    return event_hash(*columns, ev.session, ev.mono_us)


def signed_text(event_hash_hex: str) -> bytes:
    """What the station signs for an event: its hash, with the format's tag."""
    return (EVENT_SIGNATURE_PREFIX + event_hash_hex).encode("ascii")


def digest_for(fmt: int, obj: Any) -> str:
    """The digest of a sealed row in the format of the event that sealed it."""
    return legacy_digest(obj) if fmt == LEGACY_FORMAT else digest(obj)
