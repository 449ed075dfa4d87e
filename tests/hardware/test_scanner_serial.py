"""SerialBarcodeScanner: what it makes of the bytes a scanner sends, and its port's faults.

What arrives is scripted as ``(None, data)`` pairs replayed through the serial line
(tests/hardware/expected_protocol.py), one pair per arrival. Timing (a code split across
writes, timeouts) and unplugging run on the slave side of a real pty, the test playing
the scanner on the master.
"""

from __future__ import annotations

import os
import re
import time
import tty

import pytest

from hardware.scanners import ScannerDisconnected, ScannerError, SerialBarcodeScanner
from tests.hardware.expected_protocol import expected_protocol

TIMEOUT_S = 0.3


class ScannerLine:
    """A pty pair: the test writes scans into ``master``; the driver opens ``path``."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def unplug(self) -> None:
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        self.master = self.slave = None


@pytest.fixture
def line():
    pty_pair = ScannerLine()
    yield pty_pair
    pty_pair.unplug()


@pytest.fixture
def scanner(line):
    with SerialBarcodeScanner(line.path, timeout_s=TIMEOUT_S) as opened:
        yield opened


def replayed(*arrivals: bytes):
    """A scanner to which ``arrivals`` come in, one after another."""
    return expected_protocol(
        SerialBarcodeScanner, [(None, data) for data in arrivals], timeout_s=TIMEOUT_S
    )


@pytest.mark.parametrize("end", [b"\r", b"\n", b"\r\n"], ids=["CR", "LF", "CRLF"])
def test_one_code_per_terminated_line(end):
    with replayed(b"4006381333931" + end) as scanner:
        assert scanner.read_scan() == "4006381333931"
        assert scanner.read_scan(timeout_s=0.1) is None  # CR LF: one line end, not an empty scan


def test_two_codes_in_one_write_come_out_one_at_a_time():
    with replayed(b"ASM-000123-A\r\nASM-000123-B\r\n") as scanner:
        assert scanner.read_scan() == "ASM-000123-A"
        assert scanner.read_scan() == "ASM-000123-B"
        assert scanner.read_scan(timeout_s=0.1) is None


def test_a_code_split_across_writes_is_joined(scanner, line):
    line.send(b"SN-12")
    assert scanner.read_scan(timeout_s=0.1) is None  # not finished yet
    line.send(b"345\r")
    assert scanner.read_scan() == "SN-12345"


def test_codes_are_stripped_and_blank_lines_skipped():
    with replayed(b"  \r\n\t SN 42 \t\r\n") as scanner:
        assert scanner.read_scan() == "SN 42"


def test_nothing_scanned_in_time_is_none(scanner):
    assert scanner.read_scan() is None
    assert scanner.read_scan(timeout_s=0) is None


def test_a_zero_timeout_still_returns_a_waiting_code(scanner, line):
    line.send(b"READY-1\r")
    found = None
    for _ in range(100):  # the kernel may need a moment to move the bytes across the pty
        found = scanner.read_scan(timeout_s=0)
        if found is not None:
            break
        time.sleep(0.01)
    assert found == "READY-1"


@pytest.mark.parametrize(
    "data",
    [b"AB\x07C\r", b"AB\x1dC\r", b"\xe9t\xe9\r", b"\x00\x00\r"],
    ids=["BEL", "GS", "latin1", "NUL"],
)
def test_non_printable_characters_are_an_error_and_the_next_scan_works(data):
    with replayed(data + b"GOOD-1\r") as scanner:
        with pytest.raises(ScannerError, match="non-printable"):
            scanner.read_scan()
        assert scanner.read_scan() == "GOOD-1"


def test_the_longest_code_is_64_characters():
    with replayed(b"X" * 64 + b"\r" + b"Y" * 65 + b"\rGOOD-2\r") as scanner:
        assert scanner.read_scan() == "X" * 64
        with pytest.raises(ScannerError, match="65-character line"):
            scanner.read_scan()
        assert scanner.read_scan() == "GOOD-2"


def test_an_endless_line_is_an_error_before_its_end_arrives():
    with replayed(b"Z" * 100, b"ZZZZ\rGOOD-3\r") as scanner:
        with pytest.raises(ScannerError, match="more than 64 characters without a line end"):
            scanner.read_scan()
        assert scanner.read_scan() == "GOOD-3"  # the rest of the overlong line is dropped


def test_an_unplugged_scanner_is_a_disconnect(scanner, line):
    line.send(b"LAST-1\r")
    assert scanner.read_scan() == "LAST-1"
    line.unplug()
    with pytest.raises(ScannerDisconnected, match=re.escape(f"scanner on {line.path} went away")):
        scanner.read_scan()
    assert scanner.is_open is False
    with pytest.raises(ScannerDisconnected, match="open\\(\\) it again"):
        scanner.read_scan()
    with pytest.raises(ScannerError, match="no scanner at"):
        scanner.open()  # the device node has gone with it


def test_a_missing_port_is_a_clear_error(tmp_path):
    missing = str(tmp_path / "ttyACM9")
    scanner = SerialBarcodeScanner(missing)
    with pytest.raises(ScannerError, match=f"no scanner at {missing}") as error:
        scanner.open()
    assert not isinstance(error.value, ScannerDisconnected)


def test_reading_a_closed_scanner_is_an_error(line):
    scanner = SerialBarcodeScanner(line.path, timeout_s=TIMEOUT_S)
    with pytest.raises(ScannerError, match="not open"):
        scanner.read_scan()
    scanner.open()
    scanner.close()
    scanner.close()  # harmless
    with pytest.raises(ScannerError, match="not open"):
        scanner.read_scan()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"port": ""}, "port"), ({"baudrate": -9600}, "baudrate"), ({"timeout_s": -1}, "timeout")],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SerialBarcodeScanner(**{"port": "/dev/ttyACM0", **kwargs})


def test_a_bad_read_timeout_is_refused(scanner):
    with pytest.raises(ValueError, match="timeout"):
        scanner.read_scan(timeout_s=float("nan"))
