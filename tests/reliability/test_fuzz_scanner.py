"""The serial barcode scanner under any byte stream: codes or ScannerErrors, never a crash or a hang.

Whatever a scanner sends (glitches, wrong baud rate, control characters, endless lines, codes
cut across reads), read_scan returns a plain printable code of at most 64 characters, None
when nothing came in time, or raises ScannerError with a one-line message, and the scanner
keeps working: a well-formed code sent after the junk is still read.

tests/hardware/test_scanner_serial.py has the named cases over a pty; here an in-memory port
(SerialBarcodeScanner's ``serial_factory``) replays random streams, and a few go over a pty.
"""

from __future__ import annotations

import os
import time
import tty

from hypothesis import given
from hypothesis import strategies as st

from hardware.scanners import ScannerError, SerialBarcodeScanner
from hardware.scanners.serial_scanner import MAX_CODE_CHARS
from qa_station.catalog import CatalogError, load_catalog
from tests.reliability.fuzzkit import ChunkedPort, assert_clear, bounded, pieces

CATALOG = load_catalog()
FINAL = b"T12B-000321"  # a good scan after the junk: it must still come through


STREAMS = st.one_of(
    st.binary(max_size=400),
    st.lists(
        st.one_of(
            st.binary(max_size=20),
            st.sampled_from([b"\r", b"\n", b"\r\n", b"\x00", b"\x1b[0m", b"\xff", b" ", b"\t"]),
            st.sampled_from([b"T12B-000123", b"MTP12-FF-B-SMAPC-01 T12B-000123", b"LCD-0004242"]),
            st.integers(MAX_CODE_CHARS - 2, MAX_CODE_CHARS + 2).map(lambda n: b"7" * n),
            st.integers(1000, 1100).map(lambda n: b" " * n),
            st.integers(60, 70).map(lambda n: b"x" * n),
        ),
        max_size=12,
    ).map(b"".join),
)


def read_all(scanner: SerialBarcodeScanner, budget: int = 400) -> tuple[list[str], list[str]]:
    """Every code and every error until the stream is drained (None twice in a row)."""
    codes, errors = [], []
    quiet = 0
    for _ in range(budget):
        try:
            code = scanner.read_scan(timeout_s=0)
        except ScannerError as exc:
            errors.append(str(exc))
            quiet = 0
            continue
        if code is None:
            quiet += 1
            if quiet >= 2:
                return codes, errors
            continue
        quiet = 0
        codes.append(code)
    raise AssertionError(f"the scanner never ran dry ({len(codes)} codes, {len(errors)} errors)")


@bounded(200)
@given(STREAMS, st.lists(st.integers(0, 500), max_size=6), st.sampled_from([b"\r", b"\n", b"\r\n"]))
def test_any_byte_stream_gives_plain_codes_or_scanner_errors(stream, cuts, end):
    # The junk ends with a line end, so the good scan after it starts a line of its own.
    data = stream + b"\r\n" + FINAL + end
    scanner = SerialBarcodeScanner(
        "mem0", timeout_s=0, serial_factory=lambda *a, **k: ChunkedPort(pieces(data, cuts))
    )
    scanner.open()
    started = time.monotonic()
    codes, errors = read_all(scanner)
    assert time.monotonic() - started < 2.0
    for code in codes:
        assert code and code == code.strip()
        assert len(code) <= MAX_CODE_CHARS
        assert all(0x20 <= ord(ch) <= 0x7E for ch in code), code
    for message in errors:
        assert_clear(message, "mem0")
    assert codes and codes[-1] == FINAL.decode(), (codes, errors)
    # What the station does next with a code: identify it or refuse it in words.
    for code in codes:
        try:
            CATALOG.identify(code)
        except CatalogError as exc:
            assert_clear(str(exc))


@bounded(20)
@given(st.binary(max_size=200))
def test_random_bytes_over_a_pty_never_stop_the_scanner(junk):
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        with SerialBarcodeScanner(os.ttyname(slave), timeout_s=0.05) as scanner:
            os.write(master, junk + b"\r\n" + FINAL + b"\r\n")
            codes, errors = [], []
            deadline = time.monotonic() + 2.0
            while FINAL.decode() not in codes and time.monotonic() < deadline:
                try:
                    code = scanner.read_scan(timeout_s=0.05)
                except ScannerError as exc:
                    errors.append(str(exc))
                    continue
                if code is not None:
                    codes.append(code)
            assert FINAL.decode() in codes, (codes, errors)
            for message in errors:
                assert_clear(message)
    finally:
        os.close(master)
        os.close(slave)
