"""SerialFixture against the emulator over a real pseudo-terminal: the happy path and every fault."""

from __future__ import annotations

import logging
import os
import re
import threading

import pytest

from hardware.stages.base import (
    Fixture,
    FixtureDisconnected,
    FixtureError,
    FixtureProtocolError,
    FixtureRefused,
    FixtureStatus,
    FixtureTimeout,
)
from hardware.stages.emulator import EmulatorFaults, FixtureEmulator
from hardware.stages.serial_fixture import SerialFixture
from tests.hardware.fixture_double import BEST_FOCUS, FixtureDouble

TIMEOUT_S = 0.3
MOTION_S = 0.2


@pytest.fixture
def fixture(emulator):
    with SerialFixture(emulator.port, timeout_s=TIMEOUT_S, motion_timeout_s=MOTION_S) as opened:
        yield opened


def commands_after_open(emulator: FixtureEmulator) -> list[str]:
    return list(emulator.received[2:])  # *IDN? and CAPS? come first


def test_open_fills_info_from_idn_and_caps(fixture, emulator, double):
    assert isinstance(fixture, Fixture)
    assert fixture.info == double.info  # every field, as the device sent it
    assert emulator.received == ("*IDN?", "CAPS?")


def test_every_command_reaches_the_device_and_comes_back(fixture, emulator, double):
    assert fixture.status() == FixtureStatus(None, None, 0, 0, "idle")
    fixture.select_end("B")
    fixture.goto_fiber(7)
    assert fixture.status() == FixtureStatus("B", 7, 0, 0, "idle")
    fixture.goto_overview()
    assert fixture.focus_to(1500) == 1500
    assert fixture.focus_move(250) == 1750
    assert fixture.focus_move(-2000) == 0  # clipped at the end of travel
    assert fixture.focus_move(0) == 0
    assert fixture.autofocus() == BEST_FOCUS
    fixture.set_led(40)
    assert fixture.status() == FixtureStatus("B", None, BEST_FOCUS, 40, "idle")
    assert commands_after_open(emulator) == [
        "STATUS?",
        "END B",
        "FIBER 7",
        "STATUS?",
        "OVERVIEW",
        "FOCUS 1500",
        "FOCUS+ 250",
        "FOCUS- 2000",
        "FOCUS+ 0",
        "AF",
        "LED 40",
        "STATUS?",
    ]
    assert ("focus_move", -2000) in double.calls


def test_status_carries_the_device_error(fixture, double):
    fixture.select_end("A")
    fixture.focus_to(3000)
    double.stalled = True
    with pytest.raises(FixtureRefused) as refused:
        fixture.focus_to(1000)
    assert refused.value.code == 20
    assert "stalled" in refused.value.message
    assert fixture.status() == FixtureStatus("A", None, 2000, 0, "error", "focus motor stalled")


@pytest.mark.parametrize(
    ("action", "code"),
    [
        (lambda f: f.select_end("C"), 10),
        (lambda f: f.goto_fiber(3), 12),  # no end selected yet
        (lambda f: (f.select_end("A"), f.goto_fiber(13)), 11),
        (lambda f: (f.select_end("A"), f.goto_fiber(0)), 11),
        (lambda f: f.focus_to(4001), 2),
        (lambda f: f.set_led(101), 40),
    ],
    ids=["no-such-end", "no-end-selected", "fibre-13", "fibre-0", "focus-beyond-travel", "led-101"],
)
def test_a_refusal_comes_back_with_the_device_code(fixture, action, code):
    with pytest.raises(FixtureRefused) as refused:
        action(fixture)
    assert refused.value.code == code
    assert refused.value.message  # the device said why
    assert fixture.status().state == "idle"  # still talking after the refusal


def test_autofocus_is_refused_by_a_fixture_without_it():
    with (
        FixtureEmulator(FixtureDouble(has_autofocus=False)) as emulator,
        SerialFixture(emulator.port, timeout_s=TIMEOUT_S) as fixture,
    ):
        assert fixture.info.has_autofocus is False
        with pytest.raises(FixtureRefused) as refused:
            fixture.autofocus()
    assert refused.value.code == 30


def test_arguments_the_wire_cannot_carry_are_refused_before_sending(fixture, emulator):
    with pytest.raises(ValueError, match="end label"):
        fixture.select_end("A B")
    with pytest.raises(ValueError, match=re.escape("0..999999999")):
        fixture.goto_fiber(-1)
    with pytest.raises(TypeError, match="integer"):
        fixture.goto_fiber("3")
    with pytest.raises(TypeError, match="integer"):
        fixture.focus_move(1.5)
    with pytest.raises(TypeError, match="integer"):
        fixture.set_led(True)
    assert commands_after_open(emulator) == []


def test_garbage_is_a_protocol_error_and_not_retried(fixture, emulator):
    emulator.faults.garbage = True
    with pytest.raises(FixtureProtocolError, match=r"answered 'STATUS\?' with b['\"]\\x"):
        fixture.status()
    assert commands_after_open(emulator) == ["STATUS?"]
    emulator.faults.garbage = False
    assert fixture.status().state == "idle"  # the next exchange is clean again


def test_opening_a_device_that_answers_garbage_names_what_it_sent():
    with FixtureEmulator(FixtureDouble(), EmulatorFaults(garbage=True)) as emulator:
        fixture = SerialFixture(emulator.port, timeout_s=TIMEOUT_S)
        with pytest.raises(FixtureProtocolError) as error:
            fixture.open()
        assert fixture.is_open is False
    assert re.search(r"answered '\*IDN\?' with b['\"]\\x", str(error.value))
    assert len(str(error.value)) < 300  # the bytes are truncated


@pytest.mark.parametrize(
    ("action", "line"),
    [
        (lambda f: f.status(), "STATUS?"),
        (lambda f: f.focus_to(100), "FOCUS 100"),
        (lambda f: f.select_end("A"), "END A"),
        (lambda f: f.set_led(5), "LED 5"),
    ],
)
def test_a_silent_device_times_out_after_retrying_absolute_commands(
    fixture, emulator, action, line
):
    emulator.faults.silent = True
    with pytest.raises(FixtureTimeout, match="tried 3 times") as timeout:
        action(fixture)
    assert line in str(timeout.value)
    assert commands_after_open(emulator) == [line] * 3


@pytest.mark.parametrize(("steps", "line"), [(10, "FOCUS+ 10"), (-10, "FOCUS- 10")])
def test_relative_focus_moves_are_never_retried(fixture, emulator, steps, line):
    emulator.faults.silent = True
    with pytest.raises(FixtureTimeout, match="never retried"):
        fixture.focus_move(steps)
    assert commands_after_open(emulator) == [line]


def test_a_lost_command_is_answered_on_retry(fixture, emulator):
    emulator.faults.drop = 1
    assert fixture.focus_to(1200) == 1200
    assert commands_after_open(emulator) == ["FOCUS 1200", "FOCUS 1200"]


def test_a_lost_relative_move_is_reported_not_repeated(fixture, emulator, double):
    emulator.faults.drop = 1
    with pytest.raises(FixtureTimeout):
        fixture.focus_move(50)
    assert fixture.status().focus == 0
    assert not any(name == "focus_move" for name, _ in double.calls)


def test_retries_can_be_switched_off(emulator):
    with SerialFixture(emulator.port, timeout_s=TIMEOUT_S, retries=0) as fixture:
        emulator.faults.silent = True
        with pytest.raises(FixtureTimeout, match="tried once"):
            fixture.status()
    assert commands_after_open(emulator) == ["STATUS?"]


def test_opening_a_silent_device_times_out_naming_idn():
    with FixtureEmulator(FixtureDouble(), EmulatorFaults(silent=True)) as emulator:
        fixture = SerialFixture(emulator.port, timeout_s=TIMEOUT_S, retries=0)
        with pytest.raises(FixtureTimeout, match=r"\*IDN\?"):
            fixture.open()
        assert fixture.is_open is False


def test_a_device_unplugged_mid_sequence_is_a_disconnect(double):
    with FixtureEmulator(double, EmulatorFaults(vanish_after=3)) as emulator:
        port = emulator.port
        fixture = SerialFixture(port, timeout_s=TIMEOUT_S, motion_timeout_s=MOTION_S)
        fixture.open()  # *IDN? and CAPS?
        fixture.select_end("A")  # the third command, still answered
        with pytest.raises(FixtureDisconnected, match="went away during 'FIBER 2'"):
            fixture.goto_fiber(2)
        assert emulator.vanished
        assert fixture.is_open is False
        with pytest.raises(FixtureDisconnected, match="open\\(\\) it again"):
            fixture.status()
        with pytest.raises(FixtureError, match=f"no fixture at {port}"):
            fixture.open()  # the device node is gone
        fixture.close()
        fixture.close()


def test_a_device_gone_while_idle_is_a_disconnect_on_the_next_command(fixture, emulator):
    emulator.stop()  # powered off between two commands
    with pytest.raises(FixtureDisconnected, match="went away during 'STATUS\\?'"):
        fixture.status()
    with pytest.raises(FixtureDisconnected):
        fixture.status()


def test_a_slow_reply_within_the_timeout_still_works(fixture, emulator):
    emulator.faults.delay_s = TIMEOUT_S / 3
    assert fixture.status().state == "idle"
    fixture.set_led(10)
    assert commands_after_open(emulator) == ["STATUS?", "LED 10"]  # no retry was needed


def test_motion_commands_get_the_motion_allowance(emulator):
    with SerialFixture(emulator.port, timeout_s=0.2, motion_timeout_s=1.0, retries=0) as fixture:
        emulator.faults.delay_s = 0.5  # longer than the reply timeout, within the motion allowance
        assert fixture.focus_to(800) == 800


def test_opening_a_port_that_does_not_exist_says_so(tmp_path):
    missing = str(tmp_path / "ttyFIXTURE0")
    fixture = SerialFixture(missing)
    with pytest.raises(FixtureError, match=f"no fixture at {missing}") as error:
        fixture.open()
    assert not isinstance(error.value, FixtureTimeout | FixtureProtocolError)
    assert fixture.is_open is False


def test_a_closed_fixture_refuses_to_work(emulator):
    fixture = SerialFixture(emulator.port, timeout_s=TIMEOUT_S)
    with pytest.raises(FixtureError, match="not open"):
        fixture.status()
    with pytest.raises(FixtureError, match="not open"):
        _ = fixture.info
    fixture.open()
    fixture.close()
    fixture.close()  # harmless
    with pytest.raises(FixtureError, match="not open"):
        fixture.goto_overview()
    fixture.open()  # the same device, opened again
    assert fixture.status().state == "idle"
    fixture.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"port": ""}, "port"),
        ({"baudrate": 0}, "baudrate"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"timeout_s": float("nan")}, "timeout_s"),
        ({"motion_timeout_s": -1}, "motion_timeout_s"),
        ({"retries": -1}, "retries"),
        ({"retries": 1.5}, "retries"),
    ],
)
def test_bad_settings_are_refused(kwargs, message):
    settings = {"port": "/dev/ttyUSB0", **kwargs}
    with pytest.raises(ValueError, match=message):
        SerialFixture(**settings)


def test_concurrent_callers_get_one_exchange_each(fixture, emulator):
    errors: list[BaseException] = []

    def poll() -> None:
        try:
            for _ in range(10):
                assert fixture.status().state == "idle"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=poll) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert commands_after_open(emulator) == ["STATUS?"] * 40


def test_each_exchange_is_logged_at_debug(fixture, caplog):
    with caplog.at_level(logging.DEBUG, logger="hardware.stages.serial_fixture"):
        fixture.set_led(25)
    assert any("LED 25" in r.getMessage() and "OK LED 25" in r.getMessage() for r in caplog.records)


def test_the_emulator_port_is_a_real_terminal(emulator):
    fd = os.open(emulator.port, os.O_RDWR | os.O_NOCTTY)
    try:
        assert os.isatty(fd)
    finally:
        os.close(fd)
