"""SerialFixture against scripted replies: every way a reply can be wrong.

The emulator only says what the protocol allows, so replies it would never send
(wrong echoes, malformed payloads, unfinished lines) are scripted here as
(command, reply) pairs replayed through the serial line (tests/hardware/expected_protocol.py).
The timing and unplug faults run on a real pseudo-terminal in test_fixture_serial.py.
"""

from __future__ import annotations

import re

import pytest

from hardware.stages.base import FixtureProtocolError, FixtureRefused
from hardware.stages.serial_fixture import SerialFixture
from tests.hardware.expected_protocol import ReplayPort, expected_protocol

IDN = b"OK Scripted,S-1,0.1\r\n"
CAPS = b"OK ENDS=A,B FIBERS=12 FOCUS=0..4000 AF=1\r\n"
OPENING = [(b"*IDN?\n", IDN), (b"CAPS?\n", CAPS)]
SETTINGS = {"timeout_s": 0.3, "motion_timeout_s": 0.2, "retries": 0}


def replayed(line: str, reply: bytes):
    """A fixture that opens, then expects ``line`` once and answers ``reply``."""
    return expected_protocol(
        SerialFixture, [*OPENING, (line.encode("ascii") + b"\n", reply)], **SETTINGS
    )


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
def test_a_reply_that_breaks_the_protocol_is_a_protocol_error(call, line, reply, why):
    with (
        replayed(line, reply) as fixture,
        pytest.raises(FixtureProtocolError, match=re.escape(why)) as error,
    ):
        call(fixture)
    assert repr(line)[1:-1] in str(error.value)


def test_a_reply_ending_in_lf_only_is_accepted():
    with replayed("LED 5", b"OK LED 5\n") as fixture:
        fixture.set_led(5)


def test_an_err_reply_without_message_is_still_a_refusal():
    with replayed("FIBER 3", b"ERR 12\r\n") as fixture, pytest.raises(FixtureRefused) as refused:
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
    answers = {"*IDN?": IDN, "CAPS?": CAPS, **replies}
    asked = ["*IDN?"] if "*IDN?" in replies else ["*IDN?", "CAPS?"]
    port = ReplayPort([(f"{c}\n".encode(), answers[c]) for c in asked])
    fixture = SerialFixture("replay", timeout_s=0.3, retries=0, serial_factory=lambda *a, **k: port)
    with pytest.raises(FixtureProtocolError, match=re.escape(why)):
        fixture.open()
    assert fixture.is_open is False
    assert not port.pending


def test_unknown_caps_keys_are_ignored():
    caps = b"OK ENDS=A FIBERS=24 FOCUS=10..20 AF=0 ROWS=2\r\n"
    with expected_protocol(SerialFixture, [(b"*IDN?\n", IDN), (b"CAPS?\n", caps)]) as fixture:
        info = fixture.info
    assert (info.ends, info.fiber_positions, info.focus_range, info.has_autofocus) == (
        ("A",),
        24,
        (10, 20),
        False,
    )


def test_a_fibre_visit_is_this_exchange_on_the_wire():
    """What the driver sends for one visit, and what it makes of the replies."""
    with expected_protocol(
        SerialFixture,
        [
            *OPENING,
            (b"END B\n", b"OK END B\r\n"),
            (b"FIBER 7\n", b"OK FIBER 7\r\n"),
            (b"LED 60\n", b"OK LED 60\r\n"),
            (b"AF\n", b"OK FOCUS 2210\r\n"),
            (b"FOCUS+ 15\n", b"OK FOCUS 2225\r\n"),
            (b"STATUS?\n", b"OK END=B FIBER=7 FOCUS=2225 LED=60 STATE=IDLE\r\n"),
            (b"OVERVIEW\n", b"OK OVERVIEW\r\n"),
        ],
        **SETTINGS,
    ) as fixture:
        fixture.select_end("B")
        fixture.goto_fiber(7)
        fixture.set_led(60)
        assert fixture.autofocus() == 2210
        assert fixture.focus_move(15) == 2225
        status = fixture.status()
        fixture.goto_overview()
    assert (status.end, status.fiber, status.focus, status.led_percent) == ("B", 7, 2225, 60)
    assert status.state == "idle" and fixture.is_open is False
