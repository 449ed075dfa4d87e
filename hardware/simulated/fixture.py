"""The simulated MPO scan/focus fixture: the Fixture protocol over the simulated bench."""

from __future__ import annotations

import time
from collections.abc import Callable

from hardware.simulated.bench import FOCUS_RANGE, BenchError, SimulatedBench
from hardware.stages.base import FixtureInfo, FixtureRefused, FixtureStatus

# The serial protocol's error codes (hardware/stages/PROTOCOL.md), so that the
# emulator forwards the same answers a real stage would give.
NO_SUCH_END, FIBRE_OUT_OF_RANGE, NO_END_SELECTED, LED_OUT_OF_RANGE = 10, 11, 12, 40


class SimulatedFixture:
    def __init__(
        self,
        bench: SimulatedBench,
        ends: tuple[str, ...] = ("A", "B"),
        fiber_positions: int = 32,
        motion_delay_s: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.bench = bench
        self._ends = ends
        self._positions = fiber_positions
        self.motion_delay_s = motion_delay_s
        self._sleep = sleep
        self._open = False

    @property
    def info(self) -> FixtureInfo:
        ends = tuple(self.bench.assembly.ends) if self.bench.assembly else self._ends
        return FixtureInfo(
            model="SIM-MPO-STAGE",
            serial="SIM0001",
            firmware="1.0",
            ends=ends,
            fiber_positions=self._positions,
            focus_range=FOCUS_RANGE,
            has_autofocus=True,
        )

    def open(self) -> None:
        self._open = True

    def close(self) -> None:
        self._open = False

    def _move(self) -> None:
        if self.motion_delay_s > 0:
            self._sleep(self.motion_delay_s)

    def select_end(self, end: str) -> None:
        try:
            self.bench.select_end(end)
        except BenchError as exc:
            raise FixtureRefused(NO_SUCH_END, str(exc)) from None
        self._move()

    def goto_fiber(self, fiber: int) -> None:
        if self.bench.end is None:
            raise FixtureRefused(NO_END_SELECTED, "no end selected")
        try:
            self.bench.goto_fiber(fiber)
        except BenchError as exc:
            raise FixtureRefused(FIBRE_OUT_OF_RANGE, str(exc)) from None
        self._move()

    def goto_overview(self) -> None:
        if self.bench.end is None:
            raise FixtureRefused(NO_END_SELECTED, "no end selected")
        self.bench.goto_overview()
        self._move()

    def focus_to(self, position: int) -> int:
        return self.bench.focus_to(position)

    def focus_move(self, steps: int) -> int:
        return self.bench.focus_to(self.bench.focus + steps)

    def autofocus(self) -> int:
        """The stage's own autofocus: lands within a few steps of best focus."""
        if self.bench.end is None:
            raise FixtureRefused(NO_END_SELECTED, "no end selected")
        best = self.bench.best_focus()
        self._move()
        return self.bench.focus_to(best)

    def set_led(self, percent: int) -> None:
        try:
            self.bench.set_led(percent)
        except BenchError as exc:
            raise FixtureRefused(LED_OUT_OF_RANGE, str(exc)) from None

    def status(self) -> FixtureStatus:
        return FixtureStatus(
            end=self.bench.end,
            fiber=self.bench.fiber,
            focus=self.bench.focus,
            led_percent=self.bench.led,
            state="idle",
        )
