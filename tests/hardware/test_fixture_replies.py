"""SerialFixture against a scripted device on a real pty: every way a reply can be wrong.

The emulator only says what the protocol allows, so replies it would never
send (wrong echoes, malformed payloads, unfinished lines) are scripted here.
"""

from __future__ import annotations

import os
import re
import select
import threading
import tty
from collections.abc import Callable, Iterator

import pytest

from hardware.stages.base import FixtureProtocolError, FixtureRefused
from hardware.stages.serial_fixture import SerialFixture

IDN = b"OK Scripted,S-1,0.1\r\n"
CAPS = b"OK ENDS=A,B FIBERS=12 FOCUS=0..4000 AF=1\r\n"


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


@pytest.fixture
def device_for() -> Iterator[Callable[[dict[str, bytes]], SerialFixture]]:
    opened: list[tuple[ScriptedDevice, SerialFixture]] = []

    def connect(replies: dict[str, bytes]) -> SerialFixture:
        device = ScriptedDevice(scripted(replies))
        fixture = SerialFixture(device.path, timeout_s=0.3, motion_timeout_s=0.2, retries=0)
        opened.append((device, fixture))
        fixture.open()
        return fixture

    yield connect
    for device, fixture in opened:
        fixture.close()
        device.close()


@pytest.mark.parametrize(
    ("call", "line", "reply", "why"),
    [
        (lambda f: f.goto_fiber(3), "FIBER 3", b"OK FIBER 4\r\n", "expected 'OK FIBER 3'"),
        (lambda f: f.select_end("A"), "END A", b"OK\r\n", "expected 'OK END A'"),
        (lambda f: f.goto_overview(), "OVERVIEW", b"OK FIBER 1\r\n", "expected 'OK OVERVIEW'"),
        (lambda f: f.set_led(5), "LED 5", b"OK LED 50\r\n", "expected 'OK LED 5'"),
        (lambda f: f.focus_to(9), "FOCUS 9", b"OK FOCUS\r\n", "expected 'OK FOCUS <reached>'"),
        (lambda f: f.autofocus(), "AF", b"OK FOCUS -3\r\n", "expected 'OK FOCUS <reached>'"),
        (lambda f: f.status(), "STATUS?", b"OK END=A\r\n", "no FIBER="),
        (
            lambda f: f.status(),
            "STATUS?",
            b"OK END=A FIBER=- FOCUS=1 LED=0 STATE=BUSY\r\n",
            "STATE=",
        ),
        (lambda f: f.status(), "STATUS?", b"END=A FIBER=- FOCUS=1 LED=0 STATE=IDLE\r\n", "'OK' or"),
        (lambda f: f.status(), "STATUS?", b"ERR x broken\r\n", "'OK' or 'ERR <code>'"),
        (lambda f: f.status(), "STATUS?", b"OK LED 5", "no line end"),
        (lambda f: f.status(), "STATUS?", b"OK " + b"E" * 300 + b"\r\n", "longer than 255"),
    ],
    ids=[
        "fibre-echo",
        "end-echo",
        "overview-echo",
        "led-echo",
        "focus-no-number",
        "focus-negative",
        "status-incomplete",
        "status-bad-state",
        "no-ok",
        "err-without-code",
        "unfinished-line",
        "overlong-line",
    ],
)
def test_a_reply_that_breaks_the_protocol_is_a_protocol_error(device_for, call, line, reply, why):
    fixture = device_for({line: reply})
    with pytest.raises(FixtureProtocolError, match=re.escape(why)) as error:
        call(fixture)
    assert repr(line)[1:-1] in str(error.value)


def test_a_reply_ending_in_lf_only_is_accepted(device_for):
    fixture = device_for({"LED 5": b"OK LED 5\n"})
    fixture.set_led(5)


def test_an_err_reply_without_message_is_still_a_refusal(device_for):
    fixture = device_for({"FIBER 3": b"ERR 12\r\n"})
    with pytest.raises(FixtureRefused) as refused:
        fixture.goto_fiber(3)
    assert (refused.value.code, refused.value.message) == (12, "")


@pytest.mark.parametrize(
    ("replies", "why"),
    [
        ({"*IDN?": b"OK just-a-model\r\n"}, "'<model>,<serial>,<firmware>'"),
        ({"CAPS?": b"OK ENDS=A,B FIBERS=12 AF=1\r\n"}, "no FOCUS="),
        ({"CAPS?": b"OK ENDS=A,A FIBERS=12 FOCUS=0..4000 AF=1\r\n"}, "distinct"),
        ({"CAPS?": b"OK ENDS=A FIBERS=0 FOCUS=0..4000 AF=1\r\n"}, "FIBERS="),
        ({"CAPS?": b"OK ENDS=A FIBERS=12 FOCUS=9..1 AF=1\r\n"}, "FOCUS="),
        ({"CAPS?": b"OK ENDS=A FIBERS=12 FOCUS=0..9 AF=yes\r\n"}, "AF="),
    ],
)
def test_a_device_that_cannot_say_what_it_is_is_not_opened(replies, why):
    device = ScriptedDevice(scripted(replies))
    fixture = SerialFixture(device.path, timeout_s=0.3, retries=0)
    try:
        with pytest.raises(FixtureProtocolError, match=re.escape(why)):
            fixture.open()
        assert fixture.is_open is False
    finally:
        device.close()


def test_unknown_caps_keys_are_ignored():
    caps = b"OK ENDS=A FIBERS=24 FOCUS=10..20 AF=0 ROWS=2\r\n"
    device = ScriptedDevice(scripted({"CAPS?": caps}))
    try:
        with SerialFixture(device.path, timeout_s=0.3) as fixture:
            info = fixture.info
    finally:
        device.close()
    assert (info.ends, info.fiber_positions, info.focus_range, info.has_autofocus) == (
        ("A",),
        24,
        (10, 20),
        False,
    )
