"""Any inspection microscope that presents itself as a USB video camera (UVC), via OpenCV.

A background thread grabs frames into a one-frame slot, so the reader always
gets the newest frame and never waits behind old ones. The slot also makes an
unplugged probe visible quickly: a blocking read on a vanished V4L2 device can
hang for seconds, so the reader does not wait for the grabber to notice; it
declares the probe disconnected as soon as no frame has arrived for
``stall_timeout_s``. The grabber then re-creates the capture every
``reconnect_interval_s`` until frames flow again, and numbering carries on.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from hardware.probes import checks
from hardware.probes.base import (
    Frame,
    ProbeDisconnected,
    ProbeError,
    ProbeInfo,
    ProbeNotFound,
    ProbeTimeout,
)
from hardware.probes.grey import to_grey

log = logging.getLogger(__name__)


class VideoCaptureLike(Protocol):
    """The part of ``cv2.VideoCapture`` the probe uses."""

    def isOpened(self) -> bool: ...

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def set(self, prop_id: int, value: float) -> bool: ...

    def get(self, prop_id: int) -> float: ...

    def release(self) -> None: ...


class UvcProbe:
    """A USB video probe; ``um_per_px`` is the station's calibration for this probe and tip."""

    def __init__(
        self,
        source: int | str | os.PathLike[str],
        probe_id: str,
        um_per_px: float | None,
        resolution: tuple[int, int] | None = None,
        frame_rate_hz: float | None = None,
        exposure: float | None = None,
        stall_timeout_s: float = 1.0,
        reconnect_interval_s: float = 0.5,
        open_timeout_s: float = 5.0,
        capture_factory: Callable[[int | str], VideoCaptureLike] = cv2.VideoCapture,
    ) -> None:
        self._source = _check_source(source)
        self._probe_id = checks.probe_id(probe_id)
        self._um_per_px = checks.optional_positive("um_per_px", um_per_px)
        self._resolution = checks.resolution(resolution)
        self._frame_rate_hz = checks.optional_positive("frame_rate_hz", frame_rate_hz)
        self._exposure = checks.optional_finite("exposure", exposure)
        self._stall_timeout_s = checks.positive("stall_timeout_s", stall_timeout_s)
        self._reconnect_interval_s = checks.positive("reconnect_interval_s", reconnect_interval_s)
        self._open_timeout_s = checks.positive("open_timeout_s", open_timeout_s)
        if self._frame_rate_hz is not None and 1.0 / self._frame_rate_hz >= self._stall_timeout_s:
            raise ValueError(
                f"at {self._frame_rate_hz:g} Hz a frame comes every {1 / self._frame_rate_hz:.3g} s, "
                f"which stall_timeout_s={self._stall_timeout_s:g} would take for an unplugged probe"
            )
        self._factory = capture_factory

        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._open = False
        self._latest: Frame | None = None
        self._next_sequence = 0
        self._returned_sequence = -1
        self._frame_due = 0.0  # monotonic time by which the next frame must arrive
        self._lost = False
        self._failure: str | None = None  # a fault reconnecting will not cure
        self._delivered: tuple[int, int] | None = None  # width, height of the first frame
        self._delivered_rate = 0.0
        self._delivered_exposure: float | None = None
        self._model = "USB video device"

    @property
    def info(self) -> ProbeInfo:
        """Until open(), what was asked for; after, what the device delivers."""
        size = self._delivered or self._resolution or (0, 0)
        rate = self._delivered_rate or self._frame_rate_hz or 0.0
        fov = None
        if self._um_per_px is not None and size[0] and size[1]:
            fov = (size[0] * self._um_per_px, size[1] * self._um_per_px)
        return ProbeInfo(
            probe_id=self._probe_id,
            model=self._model,
            resolution_px=size,
            frame_rate_hz=rate,
            field_of_view_um=fov,
            has_focus=False,
        )

    @property
    def exposure(self) -> float | None:
        """The exposure the device reports after open() (units are the driver's)."""
        return self._delivered_exposure

    @property
    def is_open(self) -> bool:
        return self._open

    @property
    def connected(self) -> bool:
        """Open and delivering frames (False while unplugged and until it is back)."""
        with self._cond:
            return (
                self._open
                and self._failure is None
                and not self._lost
                and time.monotonic() < self._frame_due
            )

    def open(self) -> None:
        """Open the device and wait for its first frame (it sets the resolution in ``info``)."""
        if self._open:
            return
        try:
            cap, rate, exposure = self._connect()
        except _Unavailable as exc:
            raise ProbeNotFound(f"probe {self._probe_id}: {exc}") from None
        self._model = f"USB video device ({_backend(cap)})"
        if self._frame_rate_hz is not None and rate and abs(rate - self._frame_rate_hz) > 0.01:
            log.warning(
                "probe %s runs at %g Hz, not the %g Hz asked for",
                self._probe_id,
                rate,
                self._frame_rate_hz,
            )
        if self._exposure is not None and exposure != self._exposure:
            log.warning(
                "probe %s reports exposure %r, not the %r asked for",
                self._probe_id,
                exposure,
                self._exposure,
            )
        with self._cond:
            self._open = True
            self._latest = None
            self._next_sequence = 0
            self._returned_sequence = -1
            self._lost = False
            self._failure = None
            self._delivered = None
            self._delivered_rate = rate
            self._delivered_exposure = exposure
            self._frame_due = time.monotonic() + self._open_timeout_s
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._grab, args=(cap, self._stop), name=f"probe-{self._probe_id}", daemon=True
        )
        self._thread.start()
        with self._cond:
            self._cond.wait_for(
                lambda: (
                    self._latest is not None
                    or self._lost
                    or self._failure is not None
                    or time.monotonic() >= self._frame_due
                ),
                timeout=self._open_timeout_s,
            )
            failure = self._failure
            first = self._latest
        if failure is not None:
            self.close()
            raise ProbeError(failure)
        if first is None:
            self.close()
            raise ProbeNotFound(
                f"probe {self._probe_id} at {_describe(self._source)} opens but delivers no "
                f"frames (waited up to {self._open_timeout_s:g} s)"
            )

    def close(self) -> None:
        """Stop grabbing and release the device; a grabber stuck in the driver is left to exit."""
        thread = self._thread
        with self._cond:
            self._open = False
            self._stop.set()
            self._cond.notify_all()
        if thread is None:
            return
        thread.join(timeout=max(self._stall_timeout_s, 0.1))
        if thread.is_alive():
            log.warning(
                "probe %s: the camera driver is not returning; the device is released when it does",
                self._probe_id,
            )
        self._thread = None

    def read(self, timeout_s: float = 1.0) -> Frame:
        """The newest frame not yet returned.

        Raises ProbeDisconnected as soon as the probe stops delivering frames;
        while it stays disconnected, waits up to ``timeout_s`` for it to come
        back before raising ProbeDisconnected again.
        """
        timeout_s = checks.non_negative("timeout_s", timeout_s)
        deadline = time.monotonic() + timeout_s
        with self._cond:
            if not self._open:
                raise ProbeError(f"probe {self._probe_id} is not open")
            was_lost = self._lost
            while True:
                if not self._open:
                    raise ProbeError(f"probe {self._probe_id} was closed while reading")
                if self._failure is not None:
                    raise ProbeError(self._failure)
                latest = self._latest
                if latest is not None and latest.sequence > self._returned_sequence:
                    self._returned_sequence = latest.sequence
                    return latest
                now = time.monotonic()
                if not self._lost and now >= self._frame_due:
                    self._declare_lost()
                if self._lost and (not was_lost or now >= deadline):
                    raise ProbeDisconnected(self._lost_message())
                if now >= deadline:
                    raise ProbeTimeout(
                        f"probe {self._probe_id} delivered no new frame within {timeout_s:g} s"
                    )
                until = deadline if self._lost else min(deadline, self._frame_due)
                self._cond.wait(until - now)

    # --- the grabbing thread -------------------------------------------------

    def _grab(self, cap: VideoCaptureLike | None, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                if cap is None:
                    cap = self._reconnect(stop)
                    continue
                try:
                    ok, image = cap.read()
                except Exception as exc:  # a driver error is a lost device, not a dead thread
                    log.warning("probe %s: reading failed: %s", self._probe_id, exc)
                    ok, image = False, None
                if stop.is_set():
                    break
                if not ok or image is None:
                    with self._cond:
                        if not stop.is_set():
                            self._declare_lost()
                    cap = _release(cap)
                elif not self._publish(image, stop):
                    cap = _release(cap)
                    with self._cond:
                        if self._failure is not None:
                            break
        finally:
            _release(cap)

    def _publish(self, image: np.ndarray, stop: threading.Event) -> bool:
        """Put a frame in the slot; False when the capture must go (stalled, or a fault)."""
        try:
            grey = to_grey(image)
        except ValueError as exc:
            with self._cond:
                if not stop.is_set():
                    self._fail(f"probe {self._probe_id} delivers unusable frames: {exc}")
            return False
        size = (grey.shape[1], grey.shape[0])
        with self._cond:
            if stop.is_set():  # closed meanwhile; the slot may belong to a newer opening
                return False
            now = time.monotonic()
            if now >= self._frame_due:  # came too late: readers were told it is unplugged
                self._declare_lost()
                return False
            if self._delivered is None:
                if self._resolution is not None and size != self._resolution:
                    self._fail(
                        f"probe {self._probe_id} delivers {size[0]}x{size[1]} px, not the "
                        f"{self._resolution[0]}x{self._resolution[1]} px asked for"
                    )
                    return False
                self._delivered = size
            elif size != self._delivered:
                self._fail(
                    f"probe {self._probe_id} switched from {self._delivered[0]}x"
                    f"{self._delivered[1]} px to {size[0]}x{size[1]} px; its calibration no "
                    "longer applies: close and open it again"
                )
                return False
            frame = Frame(
                image=grey,
                um_per_px=self._um_per_px,
                probe_id=self._probe_id,
                timestamp=time.time(),
                sequence=self._next_sequence,
            )
            self._next_sequence += 1
            self._latest = frame
            self._frame_due = now + self._stall_timeout_s
            if self._lost:
                self._lost = False
                log.info("probe %s is delivering frames again", self._probe_id)
            self._cond.notify_all()
            return True

    def _reconnect(self, stop: threading.Event) -> VideoCaptureLike | None:
        """Try the device again every reconnect_interval_s; None when the probe is closed."""
        while not stop.wait(self._reconnect_interval_s):
            try:
                cap, _, _ = self._connect()
            except _Unavailable as exc:
                log.debug("probe %s: still unavailable: %s", self._probe_id, exc)
                continue
            with self._cond:
                if stop.is_set():
                    _release(cap)
                    return None
                self._frame_due = time.monotonic() + self._open_timeout_s
            log.info("probe %s: device reopened, waiting for frames", self._probe_id)
            return cap
        return None

    # --- helpers (the callers hold the lock where it says so) -----------------

    def _declare_lost(self) -> None:
        """Caller holds the lock."""
        if not self._lost:
            self._lost = True
            self._latest = None
            log.warning("%s", self._lost_message())
            self._cond.notify_all()

    def _fail(self, message: str) -> None:
        """Caller holds the lock."""
        self._failure = message
        self._latest = None
        log.error("%s", message)
        self._cond.notify_all()

    def _lost_message(self) -> str:
        return f"probe {self._probe_id} stopped delivering frames: unplugged or cable fault?"

    def _connect(self) -> tuple[VideoCaptureLike, float, float | None]:
        """A capture with the settings applied, and the frame rate and exposure it reports."""
        try:
            cap = self._factory(self._source)
        except Exception as exc:  # OpenCV raises cv2.error, other factories their own
            raise _Unavailable(f"opening {_describe(self._source)} failed: {exc}") from None
        try:
            if not cap.isOpened():
                raise _Unavailable(self._not_found())
            rate, exposure = self._apply_settings(cap)
        except _Unavailable:
            _release(cap)
            raise
        except Exception as exc:
            _release(cap)
            raise _Unavailable(f"{_describe(self._source)} refused its settings: {exc}") from None
        return cap, rate, exposure

    def _apply_settings(self, cap: VideoCaptureLike) -> tuple[float, float | None]:
        """Ask for the configured settings; returns the frame rate and exposure reported back."""
        if self._resolution is not None:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, float(self._resolution[0]))
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, float(self._resolution[1]))
        if self._frame_rate_hz is not None:
            cap.set(cv2.CAP_PROP_FPS, self._frame_rate_hz)
        if self._exposure is not None:
            cap.set(cv2.CAP_PROP_EXPOSURE, self._exposure)
        rate = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        exposure = float(cap.get(cv2.CAP_PROP_EXPOSURE)) if self._exposure is not None else None
        return (rate if rate > 0 else 0.0), exposure

    def _not_found(self) -> str:
        src = self._source
        if isinstance(src, int):
            return f"no video device at index {src} (nothing plugged in, or in use elsewhere)"
        if "://" not in src and not Path(src).exists():
            return f"{src!r} does not exist"
        return f"cannot open {src!r} as a video source"


class _Unavailable(Exception):
    """The device cannot be opened now (the message says why)."""


def _check_source(source: object) -> int | str:
    if isinstance(source, bool):
        raise TypeError("source must be a device index or a path/URL, not a bool")
    if isinstance(source, int):
        if source < 0:
            raise ValueError(f"device index must be 0 or more, not {source}")
        return source
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if isinstance(source, str):
        if not source.strip():
            raise ValueError("source path/URL is empty")
        return source
    raise TypeError(f"source must be a device index or a path/URL, not {type(source).__name__}")


def _describe(source: int | str) -> str:
    return f"device index {source}" if isinstance(source, int) else repr(source)


def _backend(cap: VideoCaptureLike) -> str:
    try:
        return str(cap.getBackendName())  # type: ignore[attr-defined]
    except Exception:  # not every capture-like object names its backend
        return "unknown backend"


def _release(cap: VideoCaptureLike | None) -> None:
    if cap is not None:
        try:
            cap.release()
        except Exception as exc:  # releasing a vanished device may complain; it is gone anyway
            log.debug("releasing a capture failed: %s", exc)
