"""What the fuzz tests share: TOML values of every type, a TOML writer, structured mutations,
and the one check every refusal must pass (a one-line, non-empty, traceback-free message).

Hypothesis settings are bounded on purpose: the whole folder must run in well under two
minutes on two slow cores, so each target gets tens to a couple of hundred examples
(``QA_FUZZ_SCALE`` multiplies them for a longer hunt).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# The autouse ``station_home`` fixture (tests/conftest.py) is function-scoped; the station
# home it makes is the same for every example of one test, which is all these tests need.
SUPPRESS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


# QA_FUZZ_SCALE=10 runs ten times the examples (a nightly job, a hunt for a bug); default 1.
FUZZ_SCALE = max(0.1, float(os.environ.get("QA_FUZZ_SCALE", "1")))


def bounded(examples: int) -> settings:
    return settings(
        max_examples=max(1, round(examples * FUZZ_SCALE)),
        deadline=None,
        suppress_health_check=SUPPRESS,
    )


def assert_clear(message: str, *must_contain: str) -> None:
    """A refusal a person can read: one line, not empty, no traceback, naming what it must."""
    assert message.strip(), "empty error message"
    assert len(message.splitlines()) == 1, f"message spans several lines: {message!r}"
    assert "Traceback" not in message, message
    for part in must_contain:
        assert part in message, f"{part!r} not in {message!r}"


T = TypeVar("T")


@dataclass(frozen=True)
class FileFormat(Generic[T]):
    """A file the station reads, under fuzzing: how it is parsed, the one error it may refuse
    with (its message naming ``names``, e.g. the file), the check of what it accepts, and the
    valid documents that damage starts from (tests/reliability/test_fuzz_files.py)."""

    parse: Callable[[bytes], T]
    error: type[Exception]
    names: str
    check: Callable[[T], None]
    valid: tuple[dict[str, Any], ...]

    def outcome(self, data: bytes, *must_name: str) -> T | None:
        """What ``data`` reads as (checked), or None after checking the refusal is the
        documented error, readable, naming the file and ``must_name``."""
        try:
            value = self.parse(data)
        except self.error as exc:
            assert_clear(str(exc), self.names, *must_name)
            return None
        self.check(value)
        return value


# -- TOML values ---------------------------------------------------------------------------------

ODD_NUMBERS = st.sampled_from(
    [0, -1, 1, 2**63 - 1, -(2**63), 10**400, -(10**400), 0.0, -0.0, 5e-324, 1e308, -1e308]
)
SCALARS = st.one_of(
    st.text(max_size=24),
    st.sampled_from(
        ["", " ", "A", "B", "stricter", "center", "sm", "mm", "pc", "apc", "\n", "../x"]
    ),
    st.integers(min_value=-(2**70), max_value=2**70),
    ODD_NUMBERS,
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.dates(),
    st.times(),
)
KEYS = st.one_of(
    st.text(min_size=0, max_size=12),
    st.sampled_from(["name", "schema", "zones", "from_um", "max_count", "id", "source", "probe"]),
)
TOML_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=8,
)


def dumps(doc: dict[str, Any]) -> str:
    """A TOML document with every value inline (arrays of inline tables read like [[tables]])."""
    return "".join(f"{_key(k)} = {_value(v)}\n" for k, v in doc.items())


TOML_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_str(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in value:
        if ch in TOML_ESCAPES:
            out.append(TOML_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _key(k: str) -> str:
    return toml_str(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return toml_str(v)
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"not a TOML value: {v!r}")


# -- structured mutations ------------------------------------------------------------------------

Path_ = tuple[str | int, ...]


def value_paths(node: Any, here: Path_ = ()) -> Iterator[Path_]:
    """Every place in a parsed document that holds a value (tables and arrays included)."""
    if here:
        yield here
    if isinstance(node, dict):
        for k, v in node.items():
            yield from value_paths(v, (*here, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from value_paths(v, (*here, i))


def containers(node: Any, here: Path_ = ()) -> Iterator[Path_]:
    """Every table in a parsed document (where an unknown key can be added)."""
    if isinstance(node, dict):
        yield here
        for k, v in node.items():
            yield from containers(v, (*here, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from containers(v, (*here, i))


def _get(doc: Any, path: Path_) -> Any:
    for step in path:
        doc = doc[step]
    return doc


@st.composite
def mutated(draw, valid: dict[str, Any], rounds: int = 2) -> tuple[dict[str, Any], list[str]]:
    """``valid`` with 1..rounds random edits: a value replaced by one of any (often the wrong)
    type, a key or array item dropped, or an unknown key added. Returns (doc, what was done)."""
    import copy

    doc = copy.deepcopy(valid)
    done: list[str] = []
    for _ in range(draw(st.integers(1, rounds))):
        action = draw(st.sampled_from(["replace", "replace", "drop", "add"]))
        if action == "add":
            where = draw(st.sampled_from(list(containers(doc))))
            key = draw(KEYS)
            _get(doc, where)[key] = draw(TOML_VALUES)
            done.append(f"add {where}+{key!r}")
            continue
        paths = list(value_paths(doc))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _get(doc, path[:-1])
        if action == "drop":
            del parent[path[-1]]
            done.append(f"drop {path}")
        else:
            parent[path[-1]] = draw(TOML_VALUES)
            done.append(f"replace {path}")
    return doc, done


EXTREME_NUMBERS = st.one_of(
    st.floats(min_value=0.0, max_value=1e308, allow_nan=False, allow_infinity=False),
    st.integers(min_value=0, max_value=2**64),
    st.sampled_from([0, 0.0, 5e-324, 1e-300, 1e-6, 0.5, 1e6, 1e300, 1e308, 2**63 - 1, 2**53 + 1]),
)


@st.composite
def renumbered(draw, valid: dict[str, Any], rounds: int = 3) -> dict[str, Any]:
    """``valid`` with some of its numbers replaced by extreme but well-typed ones (0, 5e-324,
    1e308, 2**64...): the damage that passes a type check and reaches the code behind it."""
    import copy

    doc = copy.deepcopy(valid)
    numeric = [
        p
        for p in value_paths(doc)
        if isinstance(_get(doc, p), int | float) and not isinstance(_get(doc, p), bool)
    ]
    for _ in range(draw(st.integers(1, rounds))):
        path = draw(st.sampled_from(numeric))
        _get(doc, path[:-1])[path[-1]] = draw(EXTREME_NUMBERS)
    return doc


# -- in-memory serial ports ----------------------------------------------------------------------


def pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets: a reply trickling in over several reads."""
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


class ChunkedPort:
    """The reading half of a pyserial-like port: the bytes it holds go out in the pieces they
    came in, at most ``size`` bytes a read; with nothing held a read waits ``idle_s`` (a real
    port's read timeout, shortened) and returns nothing."""

    idle_s = 0.0

    def __init__(self, chunks: Iterable[bytes] = ()) -> None:
        self.pending: deque[bytes] = deque(c for c in chunks if c)

    @property
    def in_waiting(self) -> int:
        return len(self.pending[0]) if self.pending else 0

    def read(self, size: int = 1) -> bytes:
        if not self.pending:
            time.sleep(self.idle_s)
            return b""
        head = self.pending.popleft()
        if len(head) > size:
            self.pending.appendleft(head[size:])
            head = head[:size]
        return head

    def close(self) -> None:
        pass
