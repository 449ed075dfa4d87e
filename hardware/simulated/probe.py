"""The simulated 400x probe: frames of whatever the simulated bench shows, at video rate."""

from __future__ import annotations

import time
from collections.abc import Callable

from hardware.probes.base import Frame, ProbeDisconnected, ProbeError, ProbeInfo
from hardware.simulated.bench import FIBRE_UM_PER_PX, RESOLUTION, BenchError, SimulatedBench


class SimulatedProbe:
    def __init__(
        self,
        bench: SimulatedBench,
        probe_id: str = "sim-400x",
        um_per_px: float | None = FIBRE_UM_PER_PX,
        frame_rate_hz: float = 30.0,
        realtime: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bench = bench
        self._id = probe_id
        self.um_per_px = um_per_px  # the station's calibration of this probe
        self.frame_rate_hz = frame_rate_hz
        self.realtime = realtime
        self._sleep = sleep
        self._monotonic = monotonic
        self._open = False
        self._sequence = 0
        self._next_due = 0.0

    @property
    def info(self) -> ProbeInfo:
        w, h = RESOLUTION
        fov = None if self.um_per_px is None else (w * self.um_per_px, h * self.um_per_px)
        return ProbeInfo(
            probe_id=self._id,
            model="simulated 400x inspection probe",
            resolution_px=RESOLUTION,
            frame_rate_hz=self.frame_rate_hz,
            field_of_view_um=fov,
            has_focus=True,
        )

    @property
    def is_open(self) -> bool:
        return self._open

    def open(self) -> None:
        self._open = True
        self._sequence = 0
        self._next_due = self._monotonic()

    def close(self) -> None:
        self._open = False

    def read(self, timeout_s: float = 1.0) -> Frame:
        if not self._open:
            raise ProbeError(f"probe {self._id} is not open")
        if not self.bench.probe_plugged:
            raise ProbeDisconnected(f"probe {self._id} stopped delivering frames: unplugged?")
        if self.realtime:
            wait = self._next_due - self._monotonic()
            if wait > 0:
                self._sleep(wait)
            self._next_due = max(self._next_due + 1.0 / self.frame_rate_hz, self._monotonic())
        try:
            cap = self.bench.capture()
        except BenchError as exc:
            raise ProbeError(f"probe {self._id} sees nothing: {exc}") from None
        self._sequence += 1
        # Overviews are at another magnification; the station knows that scale too.
        scale = self.um_per_px if cap.view == "fiber" else cap.um_per_px
        return Frame(
            image=cap.image,
            um_per_px=scale,
            probe_id=self._id,
            timestamp=self.bench.clock(),
            sequence=self._sequence - 1,
            end=cap.end,
            fiber=cap.fiber,
            view=cap.view,
        )
