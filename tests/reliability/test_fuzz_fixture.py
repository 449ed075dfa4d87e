"""The fixture's serial line protocol under random replies and random commands.

Host side: whatever a device answers (random bytes, damaged replies, replies cut into random
pieces, no line end at all), SerialFixture returns a sane value or raises one of the
FixtureError family with a one-line message, within its timeout. Device side: whatever line
a host sends, the emulator answers with exactly one well-formed reply.

tests/hardware/test_fixture_replies.py has the named cases; this adds property-based ones.
Most examples go through an in-memory port handed to SerialFixture's ``serial_factory``
(fast, deterministic chunking); a bounded number go over a real pty as the station uses it.
"""

from __future__ import annotations

import os
import select
import threading
import time
import tty
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardware.stages.base import FixtureError, FixtureInfo, FixtureStatus
from hardware.stages.emulator import FixtureEmulator
from hardware.stages.protocol import (
    MAX_REPLY_CHARS,
    CommandRejected,
    parse_caps,
    parse_command,
    parse_idn,
    parse_reply,
    parse_status,
)
from hardware.stages.serial_fixture import SerialFixture
from tests.hardware.fixture_double import FixtureDouble
from tests.hardware.test_fixture_emulator import Terminal
from tests.reliability.fuzzkit import ChunkedPort, assert_clear, bounded, pieces

IDN = b"OK Fuzz,F-1,0.1\r\n"
CAPS = b"OK ENDS=A,B FIBERS=12 FOCUS=0..4000 AF=1\r\n"
TIMEOUT_S = 0.03  # the in-memory device answers at once or never

CALLS: dict[str, tuple[str, Callable[[SerialFixture], object]]] = {
    "select_end": ("END A", lambda f: f.select_end("A")),
    "goto_fiber": ("FIBER 3", lambda f: f.goto_fiber(3)),
    "goto_overview": ("OVERVIEW", lambda f: f.goto_overview()),
    "focus_to": ("FOCUS 100", lambda f: f.focus_to(100)),
    "focus_move": ("FOCUS+ 5", lambda f: f.focus_move(5)),
    "autofocus": ("AF", lambda f: f.autofocus()),
    "set_led": ("LED 40", lambda f: f.set_led(40)),
    "status": ("STATUS?", lambda f: f.status()),
}


class MemoryPort(ChunkedPort):
    """A pyserial-like port whose device answers each line from a script, in given pieces."""

    idle_s = 0.002

    def __init__(self, answer: Callable[[str], list[bytes] | None]) -> None:
        super().__init__()
        self.answer = answer
        self.closed = False

    def reset_input_buffer(self) -> None:
        self.pending.clear()

    def write(self, data: bytes) -> int:
        pieces = self.answer(data.decode("ascii").rstrip("\n"))
        self.pending.extend(p for p in pieces or [] if p)
        return len(data)

    def close(self) -> None:
        self.closed = True


def memory_fixture(answer: Callable[[str], list[bytes] | None]) -> SerialFixture:
    return SerialFixture(
        "mem0",
        timeout_s=TIMEOUT_S,
        motion_timeout_s=0.0,
        retries=0,
        serial_factory=lambda *a, **k: MemoryPort(answer),
    )


def damaged(valid: bytes) -> st.SearchStrategy[bytes]:
    """Ways a reply to one command can be wrong, near ``valid`` and far from it."""
    body = valid.removesuffix(b"\r\n")
    return st.one_of(
        st.binary(max_size=300),
        st.just(body),  # no line end ever comes
        st.binary(max_size=8).map(lambda junk: body + junk + b"\r\n"),
        st.binary(max_size=8).map(lambda junk: junk + body + b"\r\n"),
        st.integers(0, max(0, len(body) - 1)).map(lambda i: body[:i] + b"\r\n"),
        st.integers(0, max(0, len(body) - 1)).flatmap(
            lambda i: st.integers(0, 255).map(
                lambda b: body[:i] + bytes([b]) + body[i + 1 :] + b"\r\n"
            )
        ),
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300).map(
            lambda t: t.encode() + b"\r\n"
        ),
        st.sampled_from(
            [
                b"OK\r\n",
                b"OK \r\n",
                b"ERR\r\n",
                b"ERR 999\r\n",
                b"ERR 1000 x\r\n",
                b"ERR 20 " + b"m" * 400 + b"\r\n",
                b"OK FOCUS 9999999999\r\n",
                b"OK FOCUS 000000001\r\n",
                b"OK " + b"x" * (MAX_REPLY_CHARS - 3) + b"\r\n",
                b"OK " + b"x" * (MAX_REPLY_CHARS - 2) + b"\r\n",
                b"\r\n",
                b"\n",
                b"\r\r\n",
                b"OK END A\rOK END A\r\n",
                b'OK END=A FIBER=- FOCUS=1 LED=0 STATE=IDLE ERROR="\r\n',
                b'OK END=A FIBER=- FOCUS=1 LED=0 STATE=ERROR ERROR="x"\r\n',
                b"OK END=A END=A FIBER=- FOCUS=1 LED=0 STATE=IDLE\r\n",
                b"\xff\xfe\r\n",
                b"OK \xc3\xa9\r\n",
            ]
        ),
    )


VALID_REPLIES = {
    "END A": b"OK END A\r\n",
    "FIBER 3": b"OK FIBER 3\r\n",
    "OVERVIEW": b"OK OVERVIEW\r\n",
    "FOCUS 100": b"OK FOCUS 100\r\n",
    "FOCUS+ 5": b"OK FOCUS 105\r\n",
    "AF": b"OK FOCUS 2345\r\n",
    "LED 40": b"OK LED 40\r\n",
    "STATUS?": b"OK END=A FIBER=3 FOCUS=100 LED=40 STATE=IDLE\r\n",
}


def check_call(fixture: SerialFixture, name: str) -> None:
    started = time.monotonic()
    try:
        value = CALLS[name][1](fixture)
    except FixtureError as exc:
        assert_clear(str(exc))
    else:
        if name.startswith(("focus", "auto")):
            assert isinstance(value, int) and value >= 0
        elif name == "status":
            assert isinstance(value, FixtureStatus)
            assert value.state in ("idle", "moving", "error")
            assert value.error is None or value.error.isprintable()
        else:
            assert value is None
    # A reply can take the timeout, never much longer (no retry loop spins on garbage).
    assert time.monotonic() - started < TIMEOUT_S + 1.0


@bounded(200)
@given(
    st.sampled_from(sorted(CALLS)).flatmap(
        lambda name: st.tuples(
            st.just(name),
            damaged(VALID_REPLIES[CALLS[name][0]]),
            st.lists(st.integers(0, 400), max_size=4),
        )
    )
)
def test_any_reply_to_a_command_is_a_value_or_a_fixture_error(case):
    name, reply, cuts = case
    line = CALLS[name][0]
    answers = {"*IDN?": [IDN], "CAPS?": [CAPS], line: pieces(reply, cuts)}
    fixture = memory_fixture(lambda sent: answers.get(sent))
    fixture.open()
    try:
        check_call(fixture, name)
    finally:
        fixture.close()


@bounded(150)
@given(
    st.sampled_from(["*IDN?", "CAPS?"]).flatmap(
        lambda which: st.tuples(
            st.just(which),
            damaged(IDN if which == "*IDN?" else CAPS),
            st.lists(st.integers(0, 400), max_size=3),
        )
    )
)
def test_any_identity_reply_opens_a_sane_fixture_or_refuses_clearly(case):
    which, reply, cuts = case
    answers = {"*IDN?": [IDN], "CAPS?": [CAPS], which: pieces(reply, cuts)}
    fixture = memory_fixture(lambda sent: answers.get(sent))
    try:
        fixture.open()
    except FixtureError as exc:
        assert_clear(str(exc))
        assert not fixture.is_open
        return
    try:
        info = fixture.info
        assert isinstance(info, FixtureInfo)
        assert info.ends and info.fiber_positions >= 1
        assert info.focus_range[0] <= info.focus_range[1]
        assert all((info.model, info.serial, info.firmware))
    finally:
        fixture.close()


@bounded(150)
@given(st.text(max_size=300))
def test_the_payload_parsers_return_values_or_value_errors(text):
    for parse in (parse_reply, parse_caps, parse_status, parse_idn):
        try:
            parse(text)
        except ValueError as exc:
            assert_clear(str(exc))


# -- over a real pty --------------------------------------------------------------------------


class ScriptedDevice:
    """The device end of a pty: answers each received line with ``answer(line)`` (None: silence)."""

    def __init__(self, answer: Callable[[str], bytes | None]) -> None:
        self.answer = answer
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        pending = b""
        while not self._stop.is_set():
            if not select.select([self.master], [], [], 0.02)[0]:
                continue
            pending += os.read(self.master, 1024)
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                reply = self.answer(line.decode("ascii").rstrip("\r"))
                if reply is not None:
                    os.write(self.master, reply)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        os.close(self.master)
        os.close(self.slave)


def scripted(replies: dict[str, bytes]) -> Callable[[str], bytes | None]:
    """Answers *IDN? and CAPS? properly, then what ``replies`` says for each line."""
    return lambda line: {"*IDN?": IDN, "CAPS?": CAPS, **replies}.get(line)


@bounded(25)
@given(
    st.sampled_from(["goto_fiber", "status", "autofocus"]).flatmap(
        lambda name: st.tuples(st.just(name), damaged(VALID_REPLIES[CALLS[name][0]]))
    )
)
def test_damaged_replies_over_a_pty_are_fixture_errors(case):
    name, reply = case
    device = ScriptedDevice(scripted({CALLS[name][0]: reply}))
    fixture = SerialFixture(device.path, timeout_s=0.15, motion_timeout_s=0.0, retries=0)
    try:
        fixture.open()
        check_call(fixture, name)
    finally:
        fixture.close()
        device.close()


# -- the device side ----------------------------------------------------------------------------


@bounded(200)
@given(st.text(max_size=120) | st.binary(max_size=120).map(lambda b: b.decode("latin-1")))
def test_parse_command_returns_a_command_or_the_documented_refusal(line):
    try:
        command = parse_command(line)
    except CommandRejected as exc:
        assert exc.code in (1, 2)
        assert_clear(exc.message)
    else:
        assert command.line() == line


@pytest.fixture(scope="module")
def emulator():
    with FixtureEmulator(FixtureDouble()) as running:
        yield running


@pytest.fixture(scope="module")
def terminal(emulator):
    host = Terminal(emulator.port)
    yield host
    host.close()


COMMAND_LIKE = st.one_of(
    st.binary(min_size=1, max_size=120),
    st.builds(
        lambda keyword, sep, arg: keyword + sep + arg,
        st.sampled_from([b"*IDN?", b"CAPS?", b"END", b"FIBER", b"FOCUS", b"FOCUS+", b"LED", b"AF"]),
        st.sampled_from([b"", b" ", b"  ", b"\t"]),
        st.one_of(
            st.binary(max_size=12),
            st.integers(-5, 10**12).map(lambda n: str(n).encode()),
            st.sampled_from([b"A", b"B", b"Z", b"0", b"000000000001", b"a" * 17]),
        ),
    ),
)


@bounded(80)
@given(COMMAND_LIKE)
def test_the_emulator_answers_any_line_with_one_well_formed_reply(terminal, line):
    line = line.replace(b"\n", b" ").rstrip(b"\r")
    if not line:
        return  # empty lines get no reply, by the protocol
    reply = terminal.ask(line + b"\n")
    assert reply.endswith(b"\r\n"), reply
    body = reply[:-2]
    assert b"\r" not in body and b"\n" not in body
    assert len(body) <= MAX_REPLY_CHARS
    parsed = parse_reply(body.decode("ascii"))
    if parsed.code is not None:
        assert 1 <= parsed.code <= 999
