"""Bad inputs get a clear reason and verdict ``error``; odd but valid ones grade like the rest."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from grading import ImageError, grade
from grading.image_io import decode_image, normalise, read_image, to_gray
from tests.grading.renders import SCALE, face

RULES = "iec-61300-3-35-ed2/sm-pc"


@pytest.fixture(scope="module")
def clean():
    return face("lc-upc").image


def grade_file(path, **kw):
    return grade(str(path), connector="lc-upc", rules=RULES, um_per_px=SCALE, **kw)


def png_bytes(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


@pytest.mark.parametrize(
    "name,content,reason",
    [
        ("empty.png", b"", "empty file"),
        ("text.png", b"this is not an image at all\n" * 10, "not a readable image"),
        ("noise.jpg", bytes(range(256)) * 40, "not a readable image"),
    ],
)
def test_unreadable_files_get_error_with_reason(tmp_path, name, content, reason):
    p = tmp_path / name
    p.write_bytes(content)
    r = grade_file(p)
    assert r.verdict == "error"
    assert reason in r.error
    assert r.fibers == ()
    assert r.to_dict()["error"] == r.error


def test_missing_file_and_folder(tmp_path):
    assert grade_file(tmp_path / "nope.png").error == "file not found"
    assert "folder" in grade_file(tmp_path).error


def test_truncated_png_and_jpeg_are_refused(tmp_path, clean):
    data = png_bytes(clean)
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    assert "truncated PNG" in grade_file(tmp_path / "cut.png").error
    _ok, jpg = cv2.imencode(".jpg", clean)
    (tmp_path / "cut.jpg").write_bytes(jpg.tobytes()[: len(jpg) // 2])
    assert "truncated JPEG" in grade_file(tmp_path / "cut.jpg").error


def scope_jpeg(img: np.ndarray, orientation: int = 1, block: int = 65536) -> bytes:
    """A colour JPEG as capture software writes one: EXIF header, padded to whole blocks."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img)).convert("RGB").save(
        buf, "JPEG", quality=95, exif=exif
    )
    data = buf.getvalue()
    return data + b"\xff" * (-len(data) % block)


def test_a_padded_scope_jpeg_grades_like_the_picture_it_holds(tmp_path, clean):
    (tmp_path / "scope.jpg").write_bytes(scope_jpeg(clean))
    base = grade(clean, connector="lc-upc", rules=RULES, um_per_px=SCALE)
    r = grade_file(tmp_path / "scope.jpg")
    assert r.verdict == "pass", r.error
    assert np.allclose(r.fibers[0].center_px, base.fibers[0].center_px, atol=0.5)


@pytest.mark.parametrize("orientation,stored", [(3, 2), (6, 1), (8, -1)])
def test_an_exif_turned_frame_is_graded_upright(tmp_path, orientation, stored):
    # The fibre off-centre, so a frame graded the wrong way round puts it elsewhere.
    upright = face("lc-upc", center_um=(50.0, 10.0)).image
    base = grade(upright, connector="lc-upc", rules=RULES, um_per_px=SCALE)
    path = tmp_path / f"turned{orientation}.jpg"
    path.write_bytes(scope_jpeg(np.rot90(upright, stored), orientation))
    r = grade_file(path)
    assert r.verdict == "pass", r.error
    assert np.allclose(r.fibers[0].center_px, base.fibers[0].center_px, atol=0.5)


@pytest.mark.parametrize("h,w", [(576, 720), (480, 720)])
def test_analog_capture_frames_decode_to_their_shape(tmp_path, clean, h, w):
    # Non-square pixels: the frame keeps the stored shape; calibration takes the aspect.
    small = cv2.resize(clean, (w, h), interpolation=cv2.INTER_AREA)
    (tmp_path / "analog.jpg").write_bytes(scope_jpeg(small, block=32768))
    img = read_image(tmp_path / "analog.jpg")
    assert img.shape == (h, w) and img.dtype == np.uint8
    assert np.abs(img.astype(int) - small).mean() < 1.0


def test_a_png_header_claiming_huge_dimensions_is_refused_before_decoding(tmp_path):
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    chunk += struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    iend = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    (tmp_path / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk + iend)
    assert "too large" in grade_file(tmp_path / "bomb.png").error


@pytest.mark.parametrize("value,word", [(0, "black"), (255, "white"), (128, "uniform")])
def test_blank_frames_are_refused(value, word):
    img = np.full((480, 640), value, np.uint8)
    r = grade(img, connector="lc-upc", rules=RULES)
    assert r.verdict == "error"
    assert f"blank image (all {word})" in r.error


def test_tiny_and_nan_images_are_refused():
    with pytest.raises(ImageError, match="too small"):
        to_gray(np.zeros((10, 10), np.uint8))
    bad = np.full((64, 64), np.nan, np.float32)
    with pytest.raises(ImageError, match="NaN"):
        to_gray(bad)


def test_sixteen_bit_and_colour_images_grade_like_eight_bit(tmp_path, clean):
    base = grade(clean, connector="lc-upc", rules=RULES, um_per_px=SCALE)
    assert base.verdict == "pass"
    deep = clean.astype(np.uint16) * 16  # a 12-bit camera in a 16-bit file
    cv2.imwrite(str(tmp_path / "deep.png"), deep)
    colour = cv2.cvtColor(clean, cv2.COLOR_GRAY2BGR)
    cv2.imwrite(str(tmp_path / "colour.png"), colour)
    for name in ("deep.png", "colour.png"):
        r = grade_file(tmp_path / name)
        assert r.verdict == "pass", (name, r.error)
        assert np.allclose(r.fibers[0].center_px, base.fibers[0].center_px, atol=0.3)


def test_normalise_stretches_a_dim_frame():
    dim = (np.random.default_rng(0).random((100, 100)) * 0.05).astype(np.float32)
    out = normalise(dim)
    assert out.max() > 0.9


def test_decode_refuses_non_images():
    with pytest.raises(ImageError):
        decode_image(b"GIF89a" + b"\x00" * 5)
