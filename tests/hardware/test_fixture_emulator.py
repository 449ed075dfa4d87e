"""The emulator on its pty, spoken to in raw bytes (no driver): it keeps exactly to PROTOCOL.md."""

from __future__ import annotations

import errno
import os
import select
import time

import pytest

from hardware.stages.base import FixtureError
from hardware.stages.emulator import EmulatorFaults, FixtureEmulator
from tests.hardware.fixture_double import BEST_FOCUS, FixtureDouble

REPLY_WAIT_S = 0.5


class Terminal:
    """The host end of the pty, byte for byte."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)

    def ask(self, data: bytes) -> bytes:
        os.write(self.fd, data)
        return self.reply()

    def reply(self, wait_s: float = REPLY_WAIT_S) -> bytes:
        """One line including its CR LF, or what arrived before the wait ran out."""
        received = b""
        deadline = time.monotonic() + wait_s
        while not received.endswith(b"\r\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                break
            received += os.read(self.fd, 1)
        return received

    def read_until_hangup(self, wait_s: float = REPLY_WAIT_S) -> bytes:
        """What arrives before the device side hangs up (end of file or EIO)."""
        received = b""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if not select.select([self.fd], [], [], 0.05)[0]:
                continue
            try:
                chunk = os.read(self.fd, 64)
            except OSError as exc:
                assert exc.errno == errno.EIO
                return received
            if not chunk:
                return received
            received += chunk
        pytest.fail(f"the device never hung up (received {received!r})")

    def close(self) -> None:
        os.close(self.fd)


@pytest.fixture
def terminal(emulator):
    host = Terminal(emulator.port)
    yield host
    host.close()


def test_queries_answer_in_the_documented_format(terminal):
    assert terminal.ask(b"*IDN?\n") == b"OK Bench Double,DBL-0001,1.2.3\r\n"
    assert terminal.ask(b"CAPS?\n") == b"OK ENDS=A,B FIBERS=12 FOCUS=0..4000 AF=1\r\n"
    assert terminal.ask(b"STATUS?\n") == b"OK END=- FIBER=- FOCUS=0 LED=0 STATE=IDLE\r\n"


def test_commands_answer_with_their_echo(terminal):
    assert terminal.ask(b"END A\n") == b"OK END A\r\n"
    assert terminal.ask(b"FIBER 12\n") == b"OK FIBER 12\r\n"
    assert terminal.ask(b"OVERVIEW\n") == b"OK OVERVIEW\r\n"
    assert terminal.ask(b"FOCUS 0100\n") == b"OK FOCUS 100\r\n"
    assert terminal.ask(b"FOCUS+ 4000\n") == b"OK FOCUS 4000\r\n"  # stops at the end of travel
    assert terminal.ask(b"FOCUS- 1\n") == b"OK FOCUS 3999\r\n"
    assert terminal.ask(b"AF\n") == f"OK FOCUS {BEST_FOCUS}\r\n".encode()
    assert terminal.ask(b"LED 100\n") == b"OK LED 100\r\n"
    status = f"OK END=A FIBER=- FOCUS={BEST_FOCUS} LED=100 STATE=IDLE\r\n".encode()
    assert terminal.ask(b"STATUS?\n") == status


def test_cr_lf_is_accepted_and_empty_lines_are_ignored(terminal, emulator):
    assert terminal.ask(b"\n\r\nEND B\r\n") == b"OK END B\r\n"
    assert terminal.reply(wait_s=0.1) == b""  # exactly one reply
    assert emulator.received == ("END B",)


def test_two_commands_in_one_write_get_two_replies_in_order(terminal):
    assert terminal.ask(b"LED 7\nLED 8\n") == b"OK LED 7\r\n"
    assert terminal.reply() == b"OK LED 8\r\n"


@pytest.mark.parametrize(
    "line",
    [b"HELLO", b"*idn?", b"status?", b"FOCUSX 1", b"\xff\xfe", b"LED\t5", b"LED 5\x07", b"X" * 200],
    ids=[
        "unknown",
        "lower-case",
        "lower-case-query",
        "near-miss",
        "non-ascii",
        "tab",
        "bell",
        "long",
    ],
)
def test_anything_not_a_command_is_err_1(terminal, line):
    reply = terminal.ask(line + b"\n")
    assert reply.startswith(b"ERR 1 ")
    assert reply.endswith(b"\r\n")
    assert terminal.ask(b"LED 1\n") == b"OK LED 1\r\n"  # and the device is still in step


@pytest.mark.parametrize(
    "line",
    [
        b"FOCUS abc",
        b"FOCUS",
        b"FOCUS+",
        b"FOCUS -5",
        b"FOCUS+ -5",
        b"FOCUS 1.5",
        b"FOCUS  5",
        b"FOCUS 5 ",
        b"FOCUS 1234567890",
        b"LED 1 2",
        b"FIBER x",
        b"END",
        b"END ",
        b"END A B",
        b"END A!",
        b"*IDN? X",
        b"STATUS? ",
        b"AF 1",
        b"OVERVIEW 1",
        b"FOCUS 4001",
    ],
)
def test_a_known_command_with_a_malformed_argument_is_err_2(terminal, line):
    reply = terminal.ask(line + b"\n")
    assert reply.startswith(b"ERR 2 ")
    assert reply.endswith(b"\r\n")


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([b"END C"], 10),
        ([b"FIBER 1"], 12),
        ([b"END A", b"FIBER 13"], 11),
        ([b"END A", b"FIBER 0"], 11),
        ([b"LED 101"], 40),
    ],
)
def test_refusals_carry_the_documented_codes(terminal, lines, code):
    *setup, last = lines
    for line in setup:
        assert terminal.ask(line + b"\n").startswith(b"OK")
    assert terminal.ask(last + b"\n").startswith(f"ERR {code} ".encode())


def test_no_autofocus_is_err_30():
    with FixtureEmulator(FixtureDouble(has_autofocus=False)) as emulator:
        terminal = Terminal(emulator.port)
        try:
            assert terminal.ask(b"CAPS?\n").endswith(b" AF=0\r\n")
            assert terminal.ask(b"AF\n").startswith(b"ERR 30 ")
        finally:
            terminal.close()


def test_a_stall_is_err_20_and_shows_in_status_quoted(terminal, double):
    double.stalled = True
    assert terminal.ask(b"FOCUS 1000\n") == b"ERR 20 focus motor stalled\r\n"
    assert terminal.ask(b"STATUS?\n") == (
        b'OK END=- FIBER=- FOCUS=500 LED=0 STATE=ERROR ERROR="focus motor stalled"\r\n'
    )


class _Permissive(FixtureDouble):
    """A backend that checks nothing: the emulator alone must keep to the documented codes."""

    def select_end(self, end: str) -> None:
        self.end = end

    def goto_fiber(self, fiber: int) -> None:
        self.fiber = fiber

    def focus_to(self, position: int) -> int:
        self.focus = position
        return position

    def autofocus(self) -> int:
        return BEST_FOCUS

    def set_led(self, percent: int) -> None:
        self.led = percent


@pytest.mark.parametrize(
    ("line", "code"),
    [(b"END C", 10), (b"FIBER 13", 11), (b"FIBER 0", 11), (b"LED 101", 40), (b"FOCUS 4001", 2),
     (b"AF", 30)],
)  # fmt: skip
def test_the_emulator_enforces_what_caps_advertises_whatever_the_backend(line, code):
    backend = _Permissive(has_autofocus=False)
    with FixtureEmulator(backend) as emulator:
        terminal = Terminal(emulator.port)
        try:
            assert terminal.ask(line + b"\n").startswith(f"ERR {code} ".encode())
        finally:
            terminal.close()
    assert (backend.end, backend.fiber, backend.focus, backend.led) == (None, None, 0, 0)


class _Breaking(FixtureDouble):
    """A backend whose motions fail in the ways the emulator must translate."""

    def __init__(self, failure: Exception) -> None:
        super().__init__()
        self.failure = failure

    def goto_overview(self) -> None:
        raise self.failure


@pytest.mark.parametrize(
    ("failure", "reply"),
    [
        (ValueError("bad thing"), b"ERR 2 bad thing\r\n"),
        (FixtureError("overview mirror jammed"), b"ERR 20 overview mirror jammed\r\n"),
        (RuntimeError("bug"), b"ERR 20 device fault: RuntimeError: bug\r\n"),
    ],
)
def test_backend_exceptions_become_err_replies(failure, reply):
    with FixtureEmulator(_Breaking(failure)) as emulator:
        terminal = Terminal(emulator.port)
        try:
            assert terminal.ask(b"OVERVIEW\n") == reply
            assert terminal.ask(b"LED 3\n") == b"OK LED 3\r\n"
        finally:
            terminal.close()


def test_garbage_never_reads_as_a_reply(terminal, emulator):
    emulator.faults.garbage = True
    for _ in range(20):
        reply = terminal.ask(b"STATUS?\n")
        assert reply.endswith(b"\r\n")
        assert reply[0] >= 0x80


def test_silent_reads_but_never_answers(terminal, emulator, double):
    emulator.faults.silent = True
    assert terminal.ask(b"LED 50\n") == b""
    assert emulator.received == ("LED 50",)
    assert double.led == 0  # not executed either


def test_vanish_closes_the_device_on_the_command_after_the_limit(emulator, terminal):
    port = emulator.port
    emulator.faults.vanish_after = 1
    assert terminal.ask(b"LED 1\n") == b"OK LED 1\r\n"
    os.write(terminal.fd, b"LED 2\n")
    assert terminal.read_until_hangup() == b""  # no reply, and the line is dead
    assert emulator.vanished
    assert not os.path.exists(port)


def test_stop_closes_the_pty_and_is_repeatable(double):
    emulator = FixtureEmulator(double)
    with pytest.raises(RuntimeError, match="not been started"):
        _ = emulator.port
    port = emulator.start()
    assert os.path.exists(port)
    with pytest.raises(RuntimeError, match="already running"):
        emulator.start()
    emulator.stop()
    emulator.stop()
    assert not os.path.exists(port)


@pytest.mark.parametrize(
    ("field", "value"),
    [("delay_s", -1), ("delay_s", float("inf")), ("vanish_after", -1), ("drop", None),
     ("garbage", 1), ("silent", "yes")],
)  # fmt: skip
def test_faults_refuse_bad_values_even_when_changed_later(field, value):
    faults = EmulatorFaults()
    with pytest.raises(ValueError, match=field):
        setattr(faults, field, value)
    with pytest.raises(ValueError, match=field):
        EmulatorFaults(**{field: value})


def test_a_backend_without_the_fixture_methods_is_refused():
    with pytest.raises(TypeError, match="select_end"):
        FixtureEmulator(object())  # type: ignore[arg-type]
