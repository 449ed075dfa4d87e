"""The replay probe: folders of captures and video files played as a probe."""

from __future__ import annotations

import io
import json
import logging
import re

import cv2
import numpy as np
import pytest
from PIL import Image

from hardware.probes import (
    Probe,
    ProbeDisconnected,
    ProbeError,
    ProbeNotFound,
    ProbeTimeout,
    ReplayProbe,
)

W, H = 96, 64


def disc(background: int, inside: int | tuple[int, int, int], dtype=np.uint8) -> np.ndarray:
    """A bright disc on grey, the shape of a fibre end face under a probe; BGR for a tuple."""
    shape = (H, W, 3) if isinstance(inside, tuple) else (H, W)
    img = np.full(shape, background, dtype)
    cv2.circle(img, (W // 2, H // 2), 20, inside, thickness=-1)
    return img


def write(path, img) -> None:
    ok, buf = cv2.imencode(path.suffix, img)
    assert ok
    path.write_bytes(buf.tobytes())


def centre(frame) -> int:
    return int(frame.image[H // 2, W // 2])


def corner(frame) -> int:
    return int(frame.image[2, 2])


class FakeClock:
    """A clock that only moves when the probe sleeps or the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def captures(tmp_path):
    """Three captures: 8-bit grey, 16-bit grey, colour JPEG; named to test the order."""
    folder = tmp_path / "captures"
    folder.mkdir()
    write(folder / "fibre_1.png", disc(40, 200))
    write(folder / "fibre_2.png", disc(30000, 60000, np.uint16))
    # BGR (20, 60, 200): grey = 0.114*20 + 0.587*60 + 0.299*200 = 97
    write(folder / "fibre_10.jpg", disc(128, (20, 60, 200)))
    return folder


def test_a_folder_replays_in_name_order_as_grey_frames(captures):
    probe = ReplayProbe(captures, probe_id="bench-2", um_per_px=0.5, frame_rate_hz=0)
    assert isinstance(probe, Probe)
    probe.open()
    a, b, c = (probe.read() for _ in range(3))
    probe.close()

    assert [f.sequence for f in (a, b, c)] == [0, 1, 2]
    assert all(f.image.ndim == 2 and f.image.shape == (H, W) for f in (a, b, c))
    assert all(f.probe_id == "bench-2" and f.um_per_px == 0.5 for f in (a, b, c))
    assert a.image.dtype == np.uint8 and (centre(a), corner(a)) == (200, 40)
    assert b.image.dtype == np.uint16 and (centre(b), corner(b)) == (60000, 30000)  # lossless
    assert c.image.dtype == np.uint8
    assert abs(centre(c) - 97) <= 4 and abs(corner(c) - 128) <= 4
    assert (a.end, a.fiber, a.view) == (None, None, "fiber")


def test_info_describes_the_first_frame_and_the_calibrated_field(captures):
    probe = ReplayProbe(captures, um_per_px=2.0, frame_rate_hz=15)
    assert probe.info.resolution_px == (0, 0)  # not known before open
    probe.open()
    info = probe.info
    probe.close()
    assert info.resolution_px == (W, H)
    assert info.field_of_view_um == (2.0 * W, 2.0 * H)
    assert info.frame_rate_hz == 15.0
    assert info.probe_id == "replay"


def test_sidecars_label_their_frames_as_a_scan(tmp_path):
    write(tmp_path / "a01.png", disc(40, 200))
    (tmp_path / "a01.png.json").write_text(json.dumps({"end": "A", "fiber": 1, "um_per_px": 0.25}))
    write(tmp_path / "a02.png", disc(40, 201))
    (tmp_path / "a02.json").write_text(json.dumps({"end": "A", "fiber": 2}))
    write(tmp_path / "a03.png", disc(40, 202))
    probe = ReplayProbe(tmp_path, um_per_px=0.5, frame_rate_hz=0)
    probe.open()
    frames = [probe.read() for _ in range(3)]
    probe.close()
    assert [(f.end, f.fiber, f.um_per_px) for f in frames] == [
        ("A", 1, 0.25),
        ("A", 2, 0.5),  # no scale in the sidecar: the probe's calibration
        (None, None, 0.5),
    ]


@pytest.mark.parametrize(
    ("sidecar", "reason"),
    [
        ({"fibre": 3}, "unknown key(s) fibre"),
        ({"fiber": 0}, "'fiber' must be a whole number from 1"),
        ({"fiber": "3"}, "'fiber' must be a whole number from 1"),
        ({"um_per_px": -1}, "'um_per_px' must be a number above 0"),
        ({"end": ""}, "'end' must be a non-empty string"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_an_image_with_a_bad_sidecar_is_skipped_with_the_reason(tmp_path, sidecar, reason):
    write(tmp_path / "a01.png", disc(40, 200))
    write(tmp_path / "a02.png", disc(40, 150))
    (tmp_path / "a02.png.json").write_text(json.dumps(sidecar))
    probe = ReplayProbe(tmp_path, frame_rate_hz=0, loop=False)
    probe.open()
    assert centre(probe.read()) == 200
    with pytest.raises(ProbeDisconnected):
        probe.read()
    assert reason in probe.skipped["a02.png"]
    assert "sidecar a02.png.json" in probe.skipped["a02.png"]


def test_a_sidecar_that_is_not_json_is_reported(tmp_path):
    write(tmp_path / "a01.png", disc(40, 200))
    (tmp_path / "a01.json").write_text("{end: A}")
    write(tmp_path / "a02.png", disc(40, 150))
    probe = ReplayProbe(tmp_path, frame_rate_hz=0)
    probe.open()
    assert centre(probe.read()) == 150
    assert "not valid JSON" in probe.skipped["a01.png"]


def test_a_corrupt_file_is_skipped_named_and_logged(captures, caplog):
    (captures / "fibre_3.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    good = (captures / "fibre_1.png").read_bytes()
    (captures / "fibre_4.png").write_bytes(good[: len(good) // 2])  # truncated
    (captures / "fibre_5.png").write_bytes(b"")
    (captures / "notes.txt").write_text("not an image, not a candidate")
    (captures / "._fibre_1.png").write_bytes(b"macOS resource fork")  # hidden: ignored
    probe = ReplayProbe(captures, frame_rate_hz=0, loop=False)
    with caplog.at_level(logging.WARNING, logger="hardware.probes.replay"):
        probe.open()
        played = []
        with pytest.raises(ProbeDisconnected, match="ended"):
            while True:
                played.append(probe.read())
    assert len(played) == 3
    assert [f.sequence for f in played] == [0, 1, 2]
    assert sorted(probe.skipped) == ["fibre_3.png", "fibre_4.png", "fibre_5.png"]
    assert probe.skipped["fibre_5.png"] == "empty file"
    assert "not a readable image" in probe.skipped["fibre_3.png"]
    logged = caplog.text
    assert all(name in logged for name in probe.skipped)
    assert "notes.txt" not in logged and "._fibre_1.png" not in logged


def test_scope_jpegs_replay_upright_and_a_cut_one_is_skipped(tmp_path, caplog):
    # As capture software writes them: EXIF orientation 6 (stored lying on its left side)
    # and padding to 64 KB after the end marker. The mark sits top-left when upright.
    upright = disc(40, 200)
    upright[2:12, 2:12] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(np.rot90(upright, 1))).save(
        buf, "JPEG", quality=95, exif=exif
    )
    data = buf.getvalue()
    (tmp_path / "a1.jpg").write_bytes(data + b"\0" * (-len(data) % 65536))
    (tmp_path / "a2.jpg").write_bytes(data[: len(data) // 2])
    probe = ReplayProbe(tmp_path, frame_rate_hz=0, loop=False)
    with caplog.at_level(logging.WARNING, logger="hardware.probes.replay"):
        probe.open()
        frame = probe.read()
        with pytest.raises(ProbeDisconnected):
            probe.read()
    assert frame.image.shape == (H, W)
    assert frame.image[4:10, 4:10].min() > 230 and abs(centre(frame) - 200) <= 4
    assert list(probe.skipped) == ["a2.jpg"]
    assert probe.skipped["a2.jpg"].startswith("truncated JPEG file")


def test_a_folder_without_readable_images_is_not_a_probe(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ProbeNotFound, match=re.escape(f"no readable images in {empty}")):
        ReplayProbe(empty).open()
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.png").write_bytes(b"garbage")
    (junk / "b.jpg").write_bytes(b"\xff\xd8\xff garbage")
    probe = ReplayProbe(junk)
    with pytest.raises(ProbeNotFound, match=re.escape(f"no readable images in {junk}")):
        probe.open()
    assert not probe.is_open


def test_a_missing_source_is_not_found(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ProbeNotFound, match="nowhere does not exist"):
        ReplayProbe(missing).open()


def test_without_loop_the_end_is_a_disconnection_and_with_loop_it_starts_over(captures):
    once = ReplayProbe(captures, frame_rate_hz=0, loop=False)
    once.open()
    for _ in range(3):
        once.read()
    with pytest.raises(ProbeDisconnected, match=re.escape(f"replay of {captures} ended")):
        once.read()
    with pytest.raises(ProbeDisconnected):  # and stays ended
        once.read()
    once.close()

    looping = ReplayProbe(captures, frame_rate_hz=0)
    looping.open()
    frames = [looping.read() for _ in range(7)]
    looping.close()
    assert [f.sequence for f in frames] == list(range(7))
    assert [f.image.dtype for f in frames[:4]] == [np.uint8, np.uint16, np.uint8, np.uint8]
    assert np.array_equal(frames[3].image, frames[0].image)
    assert np.array_equal(frames[6].image, frames[0].image)


def test_a_single_image_file_replays_as_a_one_frame_folder(tmp_path):
    path = tmp_path / "one.tif"
    write(path, disc(10, 250))
    probe = ReplayProbe(path, frame_rate_hz=0)
    probe.open()
    a, b = probe.read(), probe.read()
    probe.close()
    assert centre(a) == centre(b) == 250
    assert (a.sequence, b.sequence) == (0, 1)


def test_frames_are_paced_by_the_frame_rate(captures):
    clock = FakeClock()
    probe = ReplayProbe(captures, frame_rate_hz=10, clock=clock, sleep=clock.sleep)
    probe.open()
    probe.read()
    assert clock.sleeps == []  # the first frame is due at once
    probe.read()
    assert clock.sleeps == [pytest.approx(0.1)]
    clock.now += 0.03  # the consumer worked on the frame
    probe.read()
    assert clock.sleeps[-1] == pytest.approx(0.07)
    clock.now += 0.5  # a slow consumer: the next frame is overdue...
    probe.read()
    assert len(clock.sleeps) == 2  # ...and comes at once
    probe.read()
    assert clock.sleeps[-1] == pytest.approx(0.1)  # without a burst to catch up


def test_a_frame_not_due_within_the_timeout_is_a_timeout(captures):
    clock = FakeClock()
    probe = ReplayProbe(captures, frame_rate_hz=0.5, clock=clock, sleep=clock.sleep)
    probe.open()
    assert probe.read().sequence == 0
    with pytest.raises(ProbeTimeout, match="due in 2 s"):
        probe.read(timeout_s=0.5)
    assert clock.sleeps == [pytest.approx(0.5)]
    frame = probe.read(timeout_s=5.0)
    assert frame.sequence == 1
    assert clock.sleeps[-1] == pytest.approx(1.5)


def test_frame_rate_zero_delivers_as_fast_as_asked(captures):
    clock = FakeClock()
    probe = ReplayProbe(captures, frame_rate_hz=0, clock=clock, sleep=clock.sleep)
    probe.open()
    for _ in range(5):
        probe.read(timeout_s=0)
    assert clock.sleeps == []


def test_close_is_idempotent_and_reading_a_closed_replay_says_so(captures):
    probe = ReplayProbe(captures, probe_id="r1", frame_rate_hz=0)
    with pytest.raises(ProbeError, match="probe r1 is not open"):
        probe.read()
    probe.open()
    probe.open()  # already open: nothing changes
    assert probe.read().sequence == 0
    probe.close()
    probe.close()
    assert not probe.is_open
    with pytest.raises(ProbeError, match="not open"):
        probe.read()
    probe.open()
    assert probe.read().sequence == 0  # a new opening counts from 0


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"frame_rate_hz": -1}, ValueError, "frame_rate_hz"),
        ({"frame_rate_hz": float("nan")}, ValueError, "frame_rate_hz"),
        ({"um_per_px": 0}, ValueError, "um_per_px"),
        ({"um_per_px": "0.5"}, TypeError, "um_per_px"),
        ({"probe_id": ""}, ValueError, "probe_id"),
        ({"source": ""}, ValueError, "source"),
    ],
)
def test_bad_settings_are_refused_by_name(tmp_path, kwargs, error, message):
    args = {"source": tmp_path} | kwargs
    with pytest.raises(error, match=message):
        ReplayProbe(**args)


def test_a_negative_timeout_is_refused(captures):
    probe = ReplayProbe(captures)
    probe.open()
    with pytest.raises(ValueError, match="timeout_s"):
        probe.read(timeout_s=-1)


# --- video files ----------------------------------------------------------------------


def level(i: int) -> int:
    return 20 + 15 * i


def write_video(path, count: int) -> None:
    """Frames whose brightness says their number; MJPG in AVI works in the headless wheel."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (W, H))
    assert writer.isOpened(), "this OpenCV cannot write MJPG/AVI"
    for i in range(count):
        writer.write(_numbered(i))
    writer.release()


def _numbered(i: int) -> np.ndarray:
    img = np.full((H, W, 3), level(i), np.uint8)
    cv2.circle(img, (W // 2, H // 2), 20, (255, 255, 255), thickness=-1)
    return img


def test_a_video_replays_every_frame_in_order_then_ends(tmp_path):
    path = tmp_path / "scan.avi"
    write_video(path, 12)
    probe = ReplayProbe(path, probe_id="vid", um_per_px=1.0, frame_rate_hz=0, loop=False)
    probe.open()
    assert probe.info.resolution_px == (W, H)
    frames = []
    with pytest.raises(ProbeDisconnected, match=r"scan\.avi ended"):
        while True:
            frames.append(probe.read())
    probe.close()
    assert len(frames) == 12
    assert all((f.probe_id, f.um_per_px) == ("vid", 1.0) for f in frames)
    assert all(f.image.ndim == 2 and f.image.dtype == np.uint8 for f in frames)
    assert all(abs(corner(f) - level(i)) <= 4 for i, f in enumerate(frames)), [
        corner(f) for f in frames
    ]
    assert all(centre(f) >= 245 for f in frames)


def test_a_looping_video_starts_over(tmp_path):
    path = tmp_path / "scan.avi"
    write_video(path, 4)
    probe = ReplayProbe(path, frame_rate_hz=0)
    probe.open()
    frames = [probe.read() for _ in range(10)]
    probe.close()
    assert [f.sequence for f in frames] == list(range(10))
    assert all(abs(corner(f) - level(i % 4)) <= 4 for i, f in enumerate(frames))


def test_a_file_that_is_not_a_video_is_not_found(tmp_path):
    path = tmp_path / "broken.avi"
    path.write_bytes(b"RIFF\x00\x00\x00\x00AVI garbage" * 10)
    with pytest.raises(ProbeNotFound, match=r"broken\.avi"):
        ReplayProbe(path).open()
