"""The probe protocol: one frame type, one small interface, specific errors.

A frame carries everything the grader and the record need: the grey image,
its scale (from the station's calibration for that probe and tip), which
probe took it and when, and which end and fibre it shows (the fixture knows
that; the controller stamps it on).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # grey, uint8 or uint16, rows x columns
    um_per_px: float | None  # from calibration; None when the probe is not calibrated
    probe_id: str
    timestamp: float  # seconds since the epoch
    sequence: int  # counts up from 0 for each probe while it is open
    end: str | None = None  # assembly end shown, when known
    fiber: int | None = None  # 1-based fibre shown; None for an overview or unknown
    view: str = "fiber"  # "fiber" (high magnification) or "overview" (whole ferrule)


@dataclass(frozen=True)
class ProbeInfo:
    probe_id: str
    model: str
    resolution_px: tuple[int, int]  # width, height
    frame_rate_hz: float
    field_of_view_um: tuple[float, float] | None  # width, height, when calibrated
    has_focus: bool  # whether focus is adjustable (through the probe or its fixture)


class ProbeError(Exception):
    """Anything that stops a probe delivering frames."""


class ProbeNotFound(ProbeError):
    """No such device or source (wrong index, path, or nothing plugged in)."""


class ProbeDisconnected(ProbeError):
    """The device went away while open (unplugged, cable fault, source ended)."""


class ProbeTimeout(ProbeError):
    """No frame arrived in time."""


@runtime_checkable
class Probe(Protocol):
    @property
    def info(self) -> ProbeInfo: ...

    @property
    def is_open(self) -> bool: ...

    def open(self) -> None:
        """Start delivering frames; raises ProbeNotFound when there is nothing to open."""

    def close(self) -> None:
        """Stop and release the device; closing twice is harmless."""

    def read(self, timeout_s: float = 1.0) -> Frame:
        """The next frame; ProbeTimeout or ProbeDisconnected when there is none."""
