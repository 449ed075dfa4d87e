"""An in-memory fixture: the emulator's backend in tests, with a stage that behaves like one."""

from __future__ import annotations

from hardware.stages.base import FixtureError, FixtureInfo, FixtureRefused, FixtureStatus

BEST_FOCUS = 2345  # where the double's autofocus always lands


class FixtureDouble:
    """Ends A and B, 12 fibres, focus 0..4000, LED 0..100; records every call."""

    def __init__(self, *, has_autofocus: bool = True) -> None:
        self._info = FixtureInfo(
            model="Bench Double",
            serial="DBL-0001",
            firmware="1.2.3",
            ends=("A", "B"),
            fiber_positions=12,
            focus_range=(0, 4000),
            has_autofocus=has_autofocus,
        )
        self.calls: list[tuple[str, object]] = []
        self.stalled = False  # set by a test: the next focus motion stalls
        self.end: str | None = None
        self.fiber: int | None = None
        self.focus = 0
        self.led = 0
        self.error: str | None = None

    @property
    def info(self) -> FixtureInfo:
        return self._info

    def open(self) -> None:
        self.calls.append(("open", None))

    def close(self) -> None:
        self.calls.append(("close", None))

    def select_end(self, end: str) -> None:
        self.calls.append(("select_end", end))
        if end not in self._info.ends:
            raise FixtureRefused(10, f"no end {end!r}")
        self.end, self.fiber = end, None

    def goto_fiber(self, fiber: int) -> None:
        self.calls.append(("goto_fiber", fiber))
        if self.end is None:
            raise FixtureRefused(12, "no end selected")
        if not 1 <= fiber <= self._info.fiber_positions:
            raise FixtureRefused(11, f"fibre {fiber} outside 1..{self._info.fiber_positions}")
        self.fiber = fiber

    def goto_overview(self) -> None:
        self.calls.append(("goto_overview", None))
        self.fiber = None

    def focus_to(self, position: int) -> int:
        self.calls.append(("focus_to", position))
        low, high = self._info.focus_range
        if not low <= position <= high:
            raise ValueError(f"focus position {position} outside {low}..{high}")
        return self._move_focus(position)

    def focus_move(self, steps: int) -> int:
        self.calls.append(("focus_move", steps))
        low, high = self._info.focus_range
        return self._move_focus(min(high, max(low, self.focus + steps)))

    def autofocus(self) -> int:
        self.calls.append(("autofocus", None))
        if not self._info.has_autofocus:
            raise FixtureRefused(30, "no autofocus")
        return self._move_focus(BEST_FOCUS)

    def set_led(self, percent: int) -> None:
        self.calls.append(("set_led", percent))
        if not 0 <= percent <= 100:
            raise FixtureRefused(40, f"LED level {percent} outside 0..100")
        self.led = percent

    def status(self) -> FixtureStatus:
        return FixtureStatus(
            end=self.end,
            fiber=self.fiber,
            focus=self.focus,
            led_percent=self.led,
            state="error" if self.error else "idle",
            error=self.error,
        )

    def _move_focus(self, target: int) -> int:
        if self.stalled:
            self.focus = (self.focus + target) // 2  # stopped part of the way
            self.error = "focus motor stalled"
            raise FixtureError("focus motor stalled")
        self.focus, self.error = target, None
        return target
