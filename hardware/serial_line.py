"""One serial line: the transport under every serial driver (the MPO stage, the barcode scanner).

As in PyMeasure, a driver says what to send and how to read the reply; the line
opens the port with the station's settings (8N1, exclusive, a short read poll so
that the driver keeps its own deadline), moves bytes, and turns every way a port
fails into one of three errors the drivers word for their device: it could not be
opened (``LineUnavailable``), a write did not finish in time (``LineWriteTimeout``),
or it went away (``LineLost``, remembered until the line is opened again).
Tests hand a replayed port in through ``factory`` (tests/hardware/expected_protocol.py).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Self

import serial

try:  # a vanished tty makes termios calls (buffer flushes) fail with termios.error, not OSError
    import termios

    PORT_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError, termios.error)
except ImportError:  # pragma: no cover - not POSIX
    PORT_ERRORS = (serial.SerialException, OSError)

# Opening a port also refuses a bad setting (pyserial's ValueError).
OPEN_ERRORS: tuple[type[BaseException], ...] = (ValueError, *PORT_ERRORS)

log = logging.getLogger(__name__)

POLL_S = 0.02  # the port's read timeout; deadlines are the driver's


class LineError(Exception):
    """The serial line failed; the message is the port's own reason."""


class LineUnavailable(LineError):
    """The port could not be opened (no such port, busy, no permission, bad settings)."""


class LineWriteTimeout(LineError):
    """A write did not finish within the write timeout (the device does not take data)."""


class LineLost(LineError):
    """The port went away (unplugged) during a read or a write."""


class SerialLine:
    """``port`` at ``baudrate``, 8N1, opened exclusively; one reader or writer at a time."""

    def __init__(
        self,
        port: str,
        baudrate: int,
        write_timeout_s: float | None = None,
        factory: Callable[..., Any] = serial.Serial,
    ) -> None:
        if not isinstance(port, str) or not port:
            raise ValueError(f"port must be a device path or name, got {port!r}")
        if isinstance(baudrate, bool) or not isinstance(baudrate, int) or baudrate <= 0:
            raise ValueError(f"baudrate must be a positive integer, got {baudrate!r}")
        self.port = port
        self.baudrate = baudrate
        self._write_timeout_s = write_timeout_s
        self._factory = factory
        self._serial: Any = None
        self.lost: str | None = None  # why the port went away, until open() or close()

    @property
    def is_open(self) -> bool:
        return self._serial is not None

    def open(self) -> None:
        """Open the port; opening an open line does nothing."""
        if self._serial is not None:
            return
        try:
            self._serial = self._factory(
                self.port,
                baudrate=self.baudrate,
                bytesize=serial.EIGHTBITS,
                parity=serial.PARITY_NONE,
                stopbits=serial.STOPBITS_ONE,
                timeout=POLL_S,
                write_timeout=self._write_timeout_s,
                exclusive=True,
            )
        except OPEN_ERRORS as exc:
            raise LineUnavailable(str(exc)) from exc
        self.lost = None

    def close(self) -> None:
        """Release the port; closing twice is harmless, and so is closing a vanished one."""
        self._drop()
        self.lost = None

    def write(self, data: bytes) -> None:
        port = self._port()
        try:
            port.write(data)
        except serial.SerialTimeoutException as exc:
            raise LineWriteTimeout(str(exc) or "write timeout") from exc
        except PORT_ERRORS as exc:
            raise self._gone(exc) from exc

    def read(self) -> bytes:
        """What has arrived, waiting at most one poll for the first byte (b"": nothing)."""
        port = self._port()
        try:
            return bytes(port.read(port.in_waiting or 1))
        except PORT_ERRORS as exc:
            raise self._gone(exc) from exc

    def waiting(self) -> int:
        """How many received bytes are ready to read now."""
        port = self._port()
        try:
            return int(port.in_waiting)
        except PORT_ERRORS as exc:
            raise self._gone(exc) from exc

    def discard_input(self) -> None:
        """Drop what was received so far (a late line is not the next reply)."""
        port = self._port()
        try:
            port.reset_input_buffer()
        except PORT_ERRORS as exc:
            raise self._gone(exc) from exc

    def _port(self) -> Any:
        if self._serial is None:
            raise LineLost(self.lost) if self.lost is not None else LineError("not open")
        return self._serial

    def _gone(self, exc: BaseException) -> LineLost:
        self._drop()
        self.lost = str(exc) or type(exc).__name__
        return LineLost(self.lost)

    def _drop(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            try:
                port.close()
            except PORT_ERRORS as exc:  # the device is already gone; nothing left to release
                log.debug("%s: closing the port failed: %s", self.port, exc)


class SerialDevice(ABC):
    """What every driver on a ``SerialLine`` shows alike: its port, whether it is open, and
    ``with`` opening and closing it. The driver sets ``_line`` and ``_port`` and says how
    it opens (its handshake) and closes."""

    _line: SerialLine
    _port: str

    @property
    def port(self) -> str:
        return self._port

    @property
    def is_open(self) -> bool:
        return self._line.is_open

    @abstractmethod
    def open(self) -> None: ...

    def _open_line(self, what: str, error: type[Exception]) -> bool:
        """Open the port: True when it opened now, False when it was open already. A port
        that cannot be opened raises ``error``: "no <what> at <port>: <why>"."""
        if self._line.is_open:
            return False
        try:
            self._line.open()
        except LineUnavailable as exc:
            raise error(f"no {what} at {self._port}: {exc}") from exc
        return True

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
