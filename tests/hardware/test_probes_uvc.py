"""The USB video probe: real OpenCV on files and absent devices, and a camera that is unplugged.

The unplug tests hand the probe a stand-in for ``cv2.VideoCapture`` (there is no
camera on a test machine, and no way to pull a real cable from a test). Waits
are on events and flags; the only sleep is the fake sensor's frame period.
"""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from hardware.probes import (
    Probe,
    ProbeDisconnected,
    ProbeError,
    ProbeNotFound,
    ProbeTimeout,
    UvcProbe,
)

W, H = 64, 48
PATIENCE_S = 5.0  # generous: only ever reached when something is broken
FIRST = 1000  # what the first 16-bit frame of a fake camera holds; the next 1001...


def number(frame) -> int:
    """Which frame of the fake 16-bit camera this is, from 0."""
    return int(frame.image[0, 0]) - FIRST


class FakeCamera:
    """A USB camera the test can unplug, plug back in, or pause."""

    def __init__(
        self,
        *,
        hang_when_unplugged: bool = False,
        channels: int = 3,
        dtype: type = np.uint8,
        size: tuple[int, int] = (W, H),
        max_fps: float = 30.0,
        delivers: bool = True,
    ) -> None:
        self.hang_when_unplugged = hang_when_unplugged
        self.channels = channels
        self.dtype = dtype
        self.size = size
        self.max_fps = max_fps
        self.delivers = delivers
        self.plugged = threading.Event()
        self.plugged.set()
        self.flowing = threading.Event()  # cleared: the sensor holds its next frame
        self.flowing.set()
        self.hung = threading.Event()  # a read is stuck inside the "driver"
        self.retried = threading.Event()  # opened again at least twice while unplugged
        self.handles: list[FakeCapture] = []
        self.sources: list[object] = []
        self.refused = 0
        self.frames = 0
        self.lock = threading.Lock()

    def factory(self, source):
        """Plays cv2.VideoCapture(source)."""
        with self.lock:
            handle = FakeCapture(self, alive=self.plugged.is_set())
            self.handles.append(handle)
            self.sources.append(source)
            if not handle.alive:
                self.refused += 1
                if self.refused >= 2:
                    self.retried.set()
        return handle

    def unplug(self) -> None:
        self.plugged.clear()

    def plug(self) -> None:
        self.plugged.set()

    def image(self) -> np.ndarray:
        with self.lock:
            self.frames += 1
            n = self.frames
        w, h = self.size
        shape = (h, w) if self.channels == 1 else (h, w, self.channels)
        # 16-bit frames carry their number exactly; 8-bit ones a level that changes.
        value = FIRST + n - 1 if self.dtype == np.uint16 else n % 200 + 20
        return np.full(shape, value, self.dtype)


class FakeCapture:
    """One handle on the fake camera; dead for good once the camera is unplugged."""

    def __init__(self, camera: FakeCamera, alive: bool) -> None:
        self.camera = camera
        self.alive = alive
        self.released = False
        self.props: dict[int, float] = {}

    def isOpened(self) -> bool:
        return self.alive and not self.released

    def read(self):
        cam = self.camera
        if not cam.plugged.is_set():
            self.alive = False
        if not self.alive or not cam.delivers:
            if not self.alive and cam.hang_when_unplugged:
                cam.hung.set()
                cam.plugged.wait()  # stuck in the driver until the device reappears
            return False, None
        cam.flowing.wait()
        time.sleep(0.005)  # the sensor's frame period
        return True, cam.image()

    def set(self, prop: int, value: float) -> bool:
        if prop == cv2.CAP_PROP_FPS:
            value = min(value, self.camera.max_fps)
        if prop == cv2.CAP_PROP_EXPOSURE:
            value = float(round(value))
        self.props[prop] = value
        return True

    def get(self, prop: int) -> float:
        return self.props.get(prop, 0.0)

    def release(self) -> None:
        self.released = True


@pytest.fixture
def bench():
    """Cameras and probes made in a test; afterwards cameras are restored, probes closed."""
    cameras: list[FakeCamera] = []
    probes: list[UvcProbe] = []

    class Bench:
        def camera(self, **kwargs) -> FakeCamera:
            cameras.append(FakeCamera(**kwargs))
            return cameras[-1]

        def probe(self, camera: FakeCamera, **kwargs) -> UvcProbe:
            args = {"source": 0, "probe_id": "p1", "um_per_px": 1.5} | kwargs
            probes.append(UvcProbe(capture_factory=camera.factory, **args))
            return probes[-1]

    yield Bench()
    for cam in cameras:
        cam.plug()
        cam.flowing.set()
    for probe in probes:
        probe.close()


def grabber(probe_id: str) -> threading.Thread | None:
    return next((t for t in threading.enumerate() if t.name == f"probe-{probe_id}"), None)


# --- OpenCV itself ----------------------------------------------------------------------


def test_a_video_file_is_a_probe_that_stamps_its_frames(tmp_path):
    path = tmp_path / "probe.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (W, H))
    assert writer.isOpened()
    for i in range(30):
        writer.write(np.full((H, W, 3), (40 + 5 * i, 90, 200), np.uint8))
    writer.release()

    probe = UvcProbe(str(path), "bench-1", 0.8, reconnect_interval_s=0.05)
    assert isinstance(probe, Probe)
    probe.open()
    try:
        frames = []
        for _ in range(50):  # the file ends quickly and is reopened: tolerate the gaps
            try:
                frames.append(probe.read(timeout_s=PATIENCE_S))
            except ProbeDisconnected:
                continue
            if len(frames) == 3:
                break
        info = probe.info
    finally:
        probe.close()
    assert len(frames) == 3
    assert [f.sequence for f in frames] == sorted({f.sequence for f in frames})
    for f in frames:
        assert (f.probe_id, f.um_per_px) == ("bench-1", 0.8)
        assert f.image.shape == (H, W) and f.image.dtype == np.uint8
        assert 60 < int(f.image.mean()) < 200  # grey of a bluish-red picture, not one channel
    assert info.resolution_px == (W, H)
    assert info.field_of_view_um == pytest.approx((0.8 * W, 0.8 * H))
    assert info.frame_rate_hz == pytest.approx(10.0)  # what the file reports
    assert "FFMPEG" in info.model


def test_an_absent_device_index_is_not_found_by_number():
    with pytest.raises(ProbeNotFound, match="index 97"):
        UvcProbe(97, "p1", None).open()


def test_a_missing_path_is_not_found_by_name(tmp_path):
    missing = tmp_path / "no-such-probe.avi"
    probe = UvcProbe(str(missing), "p1", None)
    with pytest.raises(ProbeNotFound, match=r"no-such-probe\.avi"):
        probe.open()
    assert not probe.is_open


# --- unplugging -----------------------------------------------------------------------


@pytest.mark.parametrize("hang", [False, True], ids=["read-fails", "read-hangs"])
def test_an_unplugged_probe_is_reported_and_comes_back(bench, hang):
    cam = bench.camera(hang_when_unplugged=hang, channels=1, dtype=np.uint16)
    probe = bench.probe(cam, stall_timeout_s=0.3, reconnect_interval_s=0.05)
    probe.open()
    frames = [probe.read(timeout_s=PATIENCE_S) for _ in range(3)]
    assert all(f.sequence == number(f) for f in frames)  # every frame grabbed is numbered
    assert probe.connected
    seen = [f.sequence for f in frames]

    cam.unplug()
    with pytest.raises(
        ProbeDisconnected, match=r"probe p1 stopped delivering frames: unplugged or cable fault\?"
    ):
        for _ in range(3):  # at most the frames grabbed just before the cable came out
            seen.append(probe.read(timeout_s=PATIENCE_S).sequence)
    assert not probe.connected
    if hang:
        # Reported while the driver still holds the read: the watchdog, not the driver.
        assert cam.hung.is_set()
        assert not cam.handles[0].released
    else:
        assert cam.handles[0].released
        assert cam.retried.wait(PATIENCE_S)  # keeps trying to reopen the device
    with pytest.raises(ProbeDisconnected):  # still away: waits, then says so again
        probe.read(timeout_s=0.05)

    cam.plug()
    back = probe.read(timeout_s=PATIENCE_S)
    again = probe.read(timeout_s=PATIENCE_S)
    assert seen[-1] < back.sequence < again.sequence
    # Numbering carries on from before the unplug: it still counts every frame grabbed.
    assert (back.sequence, again.sequence) == (number(back), number(again))
    assert probe.connected
    assert len(cam.handles) >= 2
    assert cam.handles[0].released
    assert cam.sources == [0] * len(cam.sources)
    assert back.image.shape == (H, W)


def test_a_probe_that_opens_but_delivers_nothing_is_not_found(bench):
    cam = bench.camera(delivers=False)
    probe = bench.probe(cam)
    with pytest.raises(ProbeNotFound, match="opens but delivers no frames"):
        probe.open()
    assert not probe.is_open
    assert all(h.released for h in cam.handles)


def test_a_probe_that_pauses_is_a_timeout_before_it_is_a_disconnection(bench):
    cam = bench.camera()
    probe = bench.probe(cam, stall_timeout_s=PATIENCE_S)
    probe.open()
    probe.read()
    cam.flowing.clear()
    with pytest.raises(ProbeTimeout, match=r"no new frame within 0\.05 s"):
        for _ in range(3):  # at most the frames grabbed before the pause
            probe.read(timeout_s=0.05)
    assert probe.connected
    cam.flowing.set()
    assert probe.read(timeout_s=PATIENCE_S).image.shape == (H, W)


# --- opening, closing, threads ----------------------------------------------------------


def test_close_is_idempotent_and_ends_the_grabbing_thread(bench):
    before = threading.active_count()
    cam = bench.camera()
    probe = bench.probe(cam)
    probe.close()  # never opened: harmless
    probe.open()
    probe.open()  # already open: harmless
    assert probe.read().sequence >= 0
    assert threading.active_count() == before + 1
    assert grabber("p1") is not None
    probe.close()
    probe.close()
    assert threading.active_count() == before
    assert not probe.is_open and not probe.connected
    assert len(cam.handles) == 1 and cam.handles[0].released
    with pytest.raises(ProbeError, match="probe p1 is not open"):
        probe.read()

    probe.open()
    assert probe.read(timeout_s=PATIENCE_S).sequence == 0  # a new opening counts from 0
    probe.close()
    assert threading.active_count() == before


def test_close_returns_while_the_driver_is_stuck_and_the_device_is_released_later(bench):
    before = threading.active_count()
    cam = bench.camera(hang_when_unplugged=True)
    probe = bench.probe(cam, stall_timeout_s=0.3)
    probe.open()
    probe.read()
    cam.unplug()
    assert cam.hung.wait(PATIENCE_S)
    probe.close()
    assert not probe.is_open
    stuck = grabber("p1")
    assert stuck is not None and not cam.handles[0].released
    cam.plug()  # the driver returns
    stuck.join(PATIENCE_S)
    assert not stuck.is_alive()
    assert cam.handles[0].released
    assert len(cam.handles) == 1  # a closed probe does not reconnect
    assert threading.active_count() == before


# --- settings and frames ----------------------------------------------------------------


def test_settings_are_applied_and_info_says_what_the_device_delivers(bench):
    cam = bench.camera(max_fps=30.0)
    probe = bench.probe(cam, resolution=(W, H), frame_rate_hz=60.0, exposure=-5.6)
    probe.open()
    props = cam.handles[0].props
    assert props[cv2.CAP_PROP_FRAME_WIDTH] == W
    assert props[cv2.CAP_PROP_FRAME_HEIGHT] == H
    info = probe.info
    assert info.resolution_px == (W, H)
    assert info.frame_rate_hz == 30.0  # the device's limit, not the 60 asked for
    assert probe.exposure == -6.0
    assert info.field_of_view_um == pytest.approx((1.5 * W, 1.5 * H))


def test_a_resolution_the_device_cannot_deliver_is_refused(bench):
    cam = bench.camera(size=(W, H))
    probe = bench.probe(cam, resolution=(1280, 960))
    with pytest.raises(ProbeError, match="delivers 64x48 px, not the 1280x960 px asked for"):
        probe.open()
    assert not probe.is_open


@pytest.mark.parametrize(
    ("channels", "dtype"),
    [(3, np.uint8), (4, np.uint8), (1, np.uint8), (1, np.uint16), (3, np.uint16)],
)
def test_frames_are_grey_and_keep_their_bit_depth(bench, channels, dtype):
    cam = bench.camera(channels=channels, dtype=dtype)
    probe = bench.probe(cam)
    probe.open()
    frame = probe.read(timeout_s=PATIENCE_S)
    assert frame.image.shape == (H, W)
    assert frame.image.dtype == dtype
    if dtype == np.uint16:
        assert number(frame) >= 0
    else:
        assert 20 <= int(frame.image[0, 0]) < 220


def test_frames_of_an_unusable_pixel_type_are_refused(bench):
    cam = bench.camera(dtype=np.float32)
    probe = bench.probe(cam)
    with pytest.raises(ProbeError, match="unusable frames: unsupported pixel type float32"):
        probe.open()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"source": -1}, ValueError, "device index"),
        ({"source": True}, TypeError, "bool"),
        ({"source": ""}, ValueError, "empty"),
        ({"source": 1.5}, TypeError, "float"),
        ({"probe_id": " "}, ValueError, "probe_id"),
        ({"um_per_px": -0.1}, ValueError, "um_per_px"),
        ({"resolution": (640, 0)}, ValueError, "resolution"),
        ({"resolution": (640.0, 480)}, ValueError, "resolution"),
        ({"frame_rate_hz": 0}, ValueError, "frame_rate_hz"),
        ({"exposure": float("inf")}, ValueError, "exposure"),
        ({"stall_timeout_s": 0}, ValueError, "stall_timeout_s"),
        ({"reconnect_interval_s": -1}, ValueError, "reconnect_interval_s"),
        ({"frame_rate_hz": 0.5}, ValueError, "unplugged"),  # slower than the stall timeout
    ],
)
def test_bad_settings_are_refused_by_name(kwargs, error, message):
    args = {"source": 0, "probe_id": "p1", "um_per_px": None} | kwargs
    with pytest.raises(error, match=message):
        UvcProbe(**args)
