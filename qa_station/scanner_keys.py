"""The keys a keyboard-wedge scanner puts around each code: ``[scanner] prefix`` and ``suffix``.

Many wedge scanners can be set to send a prefix before every code, often a
control character (sent as Ctrl+letter: STX is Ctrl+B) or a function key.
With one configured the station takes exactly what follows it, up to the
suffix, as the scan: a fast typist is never taken for a scanner and a slow
scanner never for a typist. Written in the config as ``"Ctrl+B"``, ``"F12"``
or one printable character (``"~"``); empty for none. The suffix is
``"Enter"`` (what scanners send by default) or ``"Tab"``. Qt-free: the config
checks it, the wedge (``ui/wedge.py``) matches key presses against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SUFFIXES = ("Enter", "Tab")
PREFIX_FORMS = "empty, Ctrl+A..Ctrl+Z, F1..F24, or one printable character such as ~"
_CTRL = re.compile(r"^ctrl\+([a-z])$", re.IGNORECASE)
_FUNCTION = re.compile(r"^f([1-9]|1[0-9]|2[0-4])$", re.IGNORECASE)


class ScannerKeyError(ValueError):
    """A prefix or suffix the wedge cannot recognise (a config or settings mistake)."""


@dataclass(frozen=True)
class ScannerKeys:
    prefix: str = ""  # as written: "", "Ctrl+B", "F12", "~"
    suffix: str = "Enter"
    ctrl_letter: str | None = None  # "B" for Ctrl+B
    function_key: int | None = None  # 12 for F12
    character: str | None = None  # "~"

    def is_prefix(self, key: int, text: str, ctrl: bool) -> bool:
        """Whether a key press (Qt key code, its text, Ctrl held) is the configured prefix.

        Qt's key codes for letters are their upper-case code points and F1..F24 follow
        0x01000030; a control character may also come as its own text (STX for Ctrl+B).
        """
        if self.ctrl_letter is not None:
            control = chr(ord(self.ctrl_letter) - 64)
            return (ctrl and key == ord(self.ctrl_letter)) or text == control
        if self.function_key is not None:
            return key == 0x01000030 + self.function_key - 1
        return self.character is not None and text == self.character


def parse_scanner_keys(prefix: str = "", suffix: str = "Enter") -> ScannerKeys:
    """Check and read the config's two strings; a wrong one raises ``ScannerKeyError``."""
    p = prefix.strip()
    if suffix not in SUFFIXES:
        raise ScannerKeyError(f"scanner suffix {suffix!r}: expected Enter or Tab")
    if not p:
        return ScannerKeys("", suffix)
    if m := _CTRL.fullmatch(p):
        letter = m.group(1).upper()
        return ScannerKeys(f"Ctrl+{letter}", suffix, ctrl_letter=letter)
    if m := _FUNCTION.fullmatch(p):
        return ScannerKeys(f"F{int(m.group(1))}", suffix, function_key=int(m.group(1)))
    if len(p) == 1 and p.isprintable():
        if p.isalnum() or p == "-":
            raise ScannerKeyError(
                f"scanner prefix {p!r} appears in codes: use a character no code has (such as ~), "
                "a control key (Ctrl+B) or a function key (F12)"
            )
        return ScannerKeys(p, suffix, character=p)
    raise ScannerKeyError(f"scanner prefix {prefix!r}: expected {PREFIX_FORMS}")
