"""The station's time: wall time that never runs backwards, and a monotonic clock for ages.

A session (one run of the station) anchors the wall clock once, at the later
of the wall clock and the station's last recorded event, and from then on
tells time by a monotonic clock that counts suspend too (CLOCK_BOOTTIME on
Linux). A wall clock that is set back or forward while the station runs is
therefore recorded as a jump (``clock.jumped``), never trusted. Ages such as
an inspection's exposure are measured on the monotonic clock when both ends
of the interval are in one session; across sessions the station times are
compared, unless this session started with the wall clock behind the record
(then the age is unknown, and an age limit is not met).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

TOLERANCE_S = 2.0  # how far the wall clock may wander from the monotonic one unremarked


@dataclass(frozen=True)
class Instant:
    """When something happened: station time, and where it sits in a session."""

    at_us: int
    session: str | None = None  # None: recorded before sessions were (no monotonic time)
    mono_us: int | None = None
    # False when this session began with the wall clock behind the record: station times
    # of other sessions cannot be compared with this one's.
    comparable: bool = True


@dataclass(frozen=True)
class Jump:
    """The wall clock said ``wall_us`` when the station's own time was ``station_us``."""

    wall_us: int
    station_us: int
    at_start: bool  # found when the session began (behind the record), else while running

    @property
    def by_s(self) -> float:
        return (self.wall_us - self.station_us) / 1e6

    def payload(self) -> dict:
        return {
            "wall_us": self.wall_us,
            "station_us": self.station_us,
            "by_s": round(self.by_s, 3),
            "at_start": self.at_start,
        }


def _boottime() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def default_monotonic() -> Callable[[], float]:
    return _boottime if hasattr(time, "CLOCK_BOOTTIME") else time.monotonic


class StationClock:
    """One session's time. ``wall`` and ``monotonic`` are seconds (floats)."""

    def __init__(
        self,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] | None = None,
        tolerance_s: float = TOLERANCE_S,
    ) -> None:
        self.wall = wall
        # A test that hands in a wall clock of its own moves time with it alone.
        self.monotonic = monotonic or (default_monotonic() if wall is time.time else wall)
        self.tolerance_us = int(tolerance_s * 1e6)
        self.session = uuid.uuid4().hex[:16]
        self._anchor: tuple[int, int] | None = None  # (station us, monotonic us)
        self.started_behind = False  # the wall clock was behind the record at the start
        self._offset_us = 0  # wall clock minus station time, as last recorded
        self._last_mono = 0

    @property
    def started(self) -> bool:
        return self._anchor is not None

    def start(self, last_us: int | None) -> Jump | None:
        """Anchor the session at the later of the wall clock and ``last_us`` (this station's
        latest event). A wall clock behind the record is a jump, recorded and not trusted."""
        wall_us = round(self.wall() * 1e6)
        mono = self._mono_us()
        if last_us is not None and wall_us < last_us - self.tolerance_us:
            self._anchor = (last_us, mono)
            self.started_behind = True
            self._offset_us = wall_us - last_us
            return Jump(wall_us, last_us, True)
        self._anchor = (max(wall_us, last_us or 0), mono)
        return None

    def now(self) -> tuple[Instant, Jump | None]:
        """The station's time now; a jump when the wall clock disagrees with it."""
        if self._anchor is None:
            self.start(None)
        base, mono0 = self._anchor
        mono = self._mono_us()
        station_us = base + (mono - mono0)
        wall_us = round(self.wall() * 1e6)
        jump = None
        if abs(wall_us - station_us - self._offset_us) > self.tolerance_us:
            jump = Jump(wall_us, station_us, False)
            self._offset_us = wall_us - station_us  # recorded once, then the new normal
        return Instant(station_us, self.session, mono, not self.started_behind), jump

    def peek(self) -> Instant | None:
        """The station's time now, for a display (no jump is noted; None before the session
        has begun: nothing has been recorded to measure an age against)."""
        if self._anchor is None:
            return None
        base, mono0 = self._anchor
        mono = max(round(self.monotonic() * 1e6), self._last_mono)
        return Instant(base + (mono - mono0), self.session, mono, not self.started_behind)

    def _mono_us(self) -> int:
        m = max(round(self.monotonic() * 1e6), self._last_mono)  # never backwards
        self._last_mono = m
        return m


def elapsed_s(then: Instant, now: Instant) -> float | None:
    """Seconds from ``then`` to ``now``: monotonic within a session, station time across
    sessions (None when that cannot be trusted: this session began with the clock set back)."""
    if then.session is not None and then.session == now.session and then.mono_us is not None:
        return (now.mono_us - then.mono_us) / 1e6
    if not now.comparable:
        return None
    return (now.at_us - then.at_us) / 1e6
