"""Play a folder of images or a video file as a probe: for demos, re-grading and tests.

Frames come out at the probe's frame rate through an injectable clock and
sleep, so a test can check the pacing without waiting for it. Images are
decoded one at a time as they are played, so a folder of thousands of
captures costs no more memory than one.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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
from hardware.probes.grey import decode_grey, to_grey
from hardware.probes.sidecar import Sidecar, parse_sidecar, sidecar_path

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"})


@dataclass(frozen=True)
class _Still:
    """One decoded capture, with what its sidecar says about it."""

    image: np.ndarray
    sidecar: Sidecar


class _Ended(Exception):
    """The source has no more frames (the message says why, for ProbeDisconnected)."""


def natural_key(name: str) -> tuple[tuple[int | str, ...], str]:
    """Order ``f2.png`` before ``f10.png``, as a person reading the folder would."""
    parts = re.split(r"(\d+)", name.casefold(), flags=re.ASCII)
    return (tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), name)


class _Folder:
    """Image files of a folder (or a single image file), in name order."""

    def __init__(self, files: list[Path], loop: bool, label: str) -> None:
        self._files = files
        self._loop = loop
        self._label = label
        self._index = 0
        self.skipped: dict[str, str] = {}

    def next(self) -> _Still:
        for _ in range(len(self._files)):
            if self._index >= len(self._files):
                if not self._loop:
                    raise _Ended(f"replay of {self._label} ended")
                self._index = 0
            path = self._files[self._index]
            self._index += 1
            still = self._load(path)
            if still is not None:
                return still
        raise _Ended(f"replay of {self._label} ended: none of its images can be read")

    def _load(self, path: Path) -> _Still | None:
        try:
            image = decode_grey(path.read_bytes())
            side = sidecar_path(path)
            sidecar = Sidecar()
            if side is not None:
                try:
                    sidecar = parse_sidecar(side.read_text(encoding="utf-8"))
                except ValueError as exc:
                    raise ValueError(f"its sidecar {side.name}: {exc}") from None
        except (OSError, ValueError) as exc:  # ValueError includes bad UTF-8
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            if path.name not in self.skipped:
                log.warning("replay of %s: skipping %s: %s", self._label, path.name, reason)
            self.skipped[path.name] = reason
            return None
        return _Still(image, sidecar)

    def close(self) -> None:
        """Nothing is held open between frames."""


class _Video:
    """A video file through OpenCV; looping re-opens it rather than trusting seeks."""

    def __init__(self, path: Path, loop: bool, label: str) -> None:
        self._path = path
        self._loop = loop
        self._label = label
        self._cap: cv2.VideoCapture | None = None
        self._frames_this_pass = 0

    def open(self) -> bool:
        cap = cv2.VideoCapture(str(self._path))
        if not cap.isOpened():
            cap.release()
            return False
        self._cap = cap
        self._frames_this_pass = 0
        return True

    def next(self) -> _Still:
        image = self._read()
        if image is None:
            if not self._loop:
                raise _Ended(f"replay of {self._label} ended")
            if self._frames_this_pass == 0:
                raise _Ended(f"replay of {self._label} ended: the video has no readable frames")
            self.close()
            if not self.open() or (image := self._read()) is None:
                raise _Ended(f"replay of {self._label} ended: the video can no longer be read")
        try:
            grey = to_grey(image)
        except ValueError as exc:
            raise ProbeError(f"replay of {self._label}: unusable frame: {exc}") from None
        return _Still(grey, Sidecar())

    def _read(self) -> np.ndarray | None:
        if self._cap is None:
            return None
        try:
            ok, image = self._cap.read()
        except cv2.error:
            return None
        if not ok or image is None:
            return None
        self._frames_this_pass += 1
        return image

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class ReplayProbe:
    """A probe whose frames come from files; not thread-safe (one reader, like the controller)."""

    def __init__(
        self,
        source: str | Path,
        probe_id: str = "replay",
        um_per_px: float | None = None,
        frame_rate_hz: float = 30.0,
        loop: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(source, str | Path) or not str(source):
            raise ValueError(f"source must be a folder or file path, not {source!r}")
        self._path = Path(source)
        self._probe_id = checks.probe_id(probe_id)
        self._um_per_px = checks.optional_positive("um_per_px", um_per_px)
        self._frame_rate_hz = checks.non_negative("frame_rate_hz", frame_rate_hz)
        self._loop = bool(loop)
        self._clock = clock
        self._sleep = sleep
        self._source: _Folder | _Video | None = None
        self._pending: _Still | None = None
        self._next_due: float | None = None
        self._sequence = 0
        self._resolution = (0, 0)

    @property
    def info(self) -> ProbeInfo:
        """Resolution (0, 0) until open() has read the first frame."""
        w, h = self._resolution
        fov = None
        if self._um_per_px is not None and w and h:
            fov = (w * self._um_per_px, h * self._um_per_px)
        return ProbeInfo(
            probe_id=self._probe_id,
            model=f"replay of {self._path.name or self._path}",
            resolution_px=self._resolution,
            frame_rate_hz=self._frame_rate_hz,
            field_of_view_um=fov,
            has_focus=False,
        )

    @property
    def is_open(self) -> bool:
        return self._source is not None

    @property
    def skipped(self) -> dict[str, str]:
        """Files of the folder that could not be played, by name, with the reason."""
        return dict(self._source.skipped) if isinstance(self._source, _Folder) else {}

    def open(self) -> None:
        if self._source is not None:
            return
        path = self._path
        label = str(path)
        if not path.exists():
            raise ProbeNotFound(f"replay source {label} does not exist")
        if path.is_dir():
            files = sorted(
                (
                    p
                    for p in path.iterdir()
                    if p.suffix.lower() in IMAGE_SUFFIXES
                    and not p.name.startswith(".")
                    and p.is_file()
                ),
                key=lambda p: natural_key(p.name),
            )
            if not files:
                raise ProbeNotFound(f"no readable images in {label} (no image files)")
            source: _Folder | _Video = _Folder(files, self._loop, label)
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            source = _Folder([path], self._loop, label)
        else:
            source = _Video(path, self._loop, label)
            if not source.open():
                raise ProbeNotFound(f"cannot open {label} as a video (unknown format or corrupt)")
        try:
            first = source.next()
        except ProbeError:
            source.close()
            raise
        except _Ended:
            source.close()
            if isinstance(source, _Folder):
                raise ProbeNotFound(f"no readable images in {label}") from None
            raise ProbeNotFound(f"no readable frames in {label}") from None
        self._source = source
        self._pending = first
        self._next_due = None
        self._sequence = 0
        self._resolution = (first.image.shape[1], first.image.shape[0])

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
        self._source = None
        self._pending = None

    def read(self, timeout_s: float = 1.0) -> Frame:
        """The next frame when it is due; ProbeTimeout if it is not due within timeout_s."""
        timeout_s = checks.non_negative("timeout_s", timeout_s)
        if self._source is None:
            raise ProbeError(f"probe {self._probe_id} is not open")
        if self._pending is None:
            try:
                self._pending = self._source.next()
            except _Ended as exc:
                raise ProbeDisconnected(str(exc)) from None
        now = self._clock()
        due = now if self._next_due is None else max(self._next_due, now)
        wait = due - now
        if wait > timeout_s:
            self._sleep(timeout_s)
            raise ProbeTimeout(
                f"probe {self._probe_id}: next frame due in {wait:.3g} s, "
                f"after the {timeout_s:g} s allowed"
            )
        if wait > 0:
            self._sleep(wait)
        if self._frame_rate_hz > 0:
            self._next_due = due + 1.0 / self._frame_rate_hz
        still, self._pending = self._pending, None
        side = still.sidecar
        frame = Frame(
            image=still.image,
            um_per_px=side.um_per_px if side.um_per_px is not None else self._um_per_px,
            probe_id=self._probe_id,
            timestamp=time.time(),
            sequence=self._sequence,
            end=side.end,
            fiber=side.fiber,
        )
        self._sequence += 1
        return frame
