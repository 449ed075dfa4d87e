"""A barcode scanner in serial (virtual COM) mode: one scanned code per CR- or LF-terminated line.

A bad line (a binary glitch, a wrong baud rate, a scanner left in a mode that
adds control characters) is reported rather than passed on as a serial
number, and the scanner keeps working for the next scan.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import serial

from hardware.serial_line import LineLost, SerialDevice, SerialLine

log = logging.getLogger(__name__)

MAX_CODE_CHARS = 64
_LINE_ENDS = (0x0D, 0x0A)
_MAX_PENDING = 1024  # unterminated bytes kept before giving up on the line (whitespace only)


class ScannerError(Exception):
    """The scanner cannot be used, or sent something that is not a code."""


class ScannerDisconnected(ScannerError):
    """The scanner's port went away (unplugged)."""


class SerialBarcodeScanner(SerialDevice):
    """Reads codes from ``port``; partial lines are kept until their line end arrives."""

    def __init__(
        self,
        port: str,
        baudrate: int = 9600,
        timeout_s: float = 0.5,
        serial_factory: Callable[..., Any] = serial.Serial,
    ) -> None:
        self._line = SerialLine(port, baudrate, factory=serial_factory)
        self._port = port
        self._baudrate = baudrate
        self._timeout_s = _seconds(timeout_s)
        self._pending = bytearray()
        self._skipping = False  # inside an overlong line: drop bytes up to its end

    def open(self) -> None:
        """Open the port; opening an open scanner does nothing."""
        if self._open_line("scanner", ScannerError):
            self._pending.clear()
            self._skipping = False

    def close(self) -> None:
        """Release the port; closing twice is harmless."""
        self._line.close()
        self._pending.clear()
        self._skipping = False

    def read_scan(self, timeout_s: float | None = None) -> str | None:
        """The next scanned code, stripped; None when nothing was scanned within the timeout."""
        self._require_open()
        deadline = time.monotonic() + (
            self._timeout_s if timeout_s is None else _seconds(timeout_s)
        )
        while True:
            code = self._next_code()
            if code is not None:
                return code
            try:
                if not self._line.waiting() and time.monotonic() >= deadline:
                    return None
                self._pending += self._line.read()
            except LineLost as exc:
                self._pending.clear()
                self._skipping = False
                raise ScannerDisconnected(f"the scanner on {self._port} went away: {exc}") from exc

    def _next_code(self) -> str | None:
        """The first complete code in what was received, or None; bad lines raise ScannerError."""
        while True:
            end = next((i for i, byte in enumerate(self._pending) if byte in _LINE_ENDS), -1)
            if end < 0:
                self._check_unterminated()
                return None
            line = bytes(self._pending[:end]).strip()
            del self._pending[: end + 1]
            if self._skipping:
                self._skipping = False
                continue
            if line:
                return self._code(line)

    def _check_unterminated(self) -> None:
        if self._skipping:
            self._pending.clear()
            return
        partial = bytes(self._pending).strip()
        if len(partial) > MAX_CODE_CHARS or len(self._pending) > _MAX_PENDING:
            self._pending.clear()
            self._skipping = True
            raise ScannerError(
                f"the scanner on {self._port} sent more than {MAX_CODE_CHARS} characters "
                f"without a line end ({_preview(partial)}); a code is at most "
                f"{MAX_CODE_CHARS} characters followed by CR or LF"
            )

    def _code(self, line: bytes) -> str:
        if any(not 0x20 <= byte <= 0x7E for byte in line):
            raise ScannerError(
                f"the scanner on {self._port} sent a line with non-printable characters "
                f"({_preview(line)}); check its baud rate ({self._baudrate}) and that it sends "
                "plain codes with no prefix or suffix control characters"
            )
        if len(line) > MAX_CODE_CHARS:
            raise ScannerError(
                f"the scanner on {self._port} sent a {len(line)}-character line "
                f"({_preview(line)}); a code is at most {MAX_CODE_CHARS} characters"
            )
        code = line.decode("ascii")
        # Never the code itself: a scanned badge signs someone in, and logs travel.
        log.debug("scanner on %s: a %d-character code", self._port, len(code))
        return code

    def _require_open(self) -> None:
        if self._line.is_open:
            return
        if self._line.lost is not None:
            raise ScannerDisconnected(
                f"the scanner on {self._port} was disconnected ({self._line.lost}); open() it again"
            )
        raise ScannerError(f"scanner on {self._port} is not open; call open() first")


def _seconds(value: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"a timeout must be seconds >= 0, got {value!r}")
    return float(value)


def _preview(data: bytes, limit: int = 40) -> str:
    text = repr(data[:limit])
    return text if len(data) <= limit else f"{text}... ({len(data)} bytes)"
