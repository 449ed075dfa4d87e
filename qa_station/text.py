"""Identity strings and stored text: what may be stored, and how stored text is printed.

Station ids, display names and serials go into every event, into the signing
certificate's name and onto certificates, so they are checked once, here:
printable, one line, and short. Whatever text comes back out of a store (an
older record, or one edited by hand) is printed through ``shown``, which
escapes control characters and clips it, so no stored string can move the
cursor, forge a line, or flood a terminal.
"""

from __future__ import annotations

import re

from grading.rules import shown as escaped

STATION_ID_MAX = 32
DISPLAY_NAME_MAX = 64
SERIAL_MAX = 64
STATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
SHOWN_MAX = 120


class TextError(ValueError):
    """An identity string that cannot be stored (the message says what is expected)."""


def shown(text: object, limit: int = SHOWN_MAX) -> str:
    """``text`` as one printable line: control characters escaped, at most ``limit``
    characters (a longer text ends in "... (N characters)")."""
    s = escaped(str(text))
    if len(s) <= limit:
        return s
    return f"{s[:limit]}... ({len(str(text))} characters)"


def station_id(value: object) -> str:
    """A station id: 1-32 letters, digits, '.', '_' or '-', starting with a letter or digit."""
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= STATION_ID_MAX
        or not STATION_ID.fullmatch(value)
    ):
        raise TextError(
            f"a station id of 1-{STATION_ID_MAX} letters, digits, '.', '_' or '-' "
            f"(starting with a letter or digit); found {shown(repr(value), 60)}"
        )
    return value


def display_name(value: object) -> str:
    """A person's name as records show it: one printable line, 1-64 characters."""
    return _line(value, "a display name", DISPLAY_NAME_MAX, " on one line")


def serial(value: object) -> str:
    """An assembly serial as typed or scanned: printable, at most 64 characters."""
    return _line(value, "a serial", SERIAL_MAX, "")


def _line(value: object, what: str, limit: int, where: str) -> str:
    if not isinstance(value, str):
        raise TextError(f"{what} is text; found {type(value).__name__}")
    v = value.strip()
    if not v or len(v) > limit or not v.isprintable():
        raise TextError(
            f"{what} is 1-{limit} printable characters{where}; found {shown(repr(value), 40)}"
        )
    return v
