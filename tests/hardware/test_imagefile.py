"""Frame files as scopes write them: read when the whole picture is there, refused when not.

Every file here is made in the test from synthetic pixels: padded after the end
marker, junk between segments, turned by EXIF, cut short, claiming huge sizes, and
each depth and layout the station reads.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps

from hardware.imagefile import MAX_PIXELS, ImageFileError, decode_frame_file

W, H = 96, 64  # not square, so a quarter turn shows in the shape


def frame(h: int = H, w: int = W) -> np.ndarray:
    """A grey end-face-like picture with a bright mark in its top-left corner."""
    rng = np.random.default_rng(h * w)
    img = (rng.normal(90, 6, (h, w))).clip(0, 255).astype(np.uint8)
    cv2.circle(img, (w // 2, h // 2), min(h, w) // 3, 200, thickness=-1)
    img[2:14, 2:14] = 255
    return img


def jpeg(img: np.ndarray, quality: int = 92) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def png(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


def padded(data: bytes, block: int, fill: str) -> bytes:
    """The file as capture software writes it: filled up to a whole number of blocks."""
    n = -len(data) % block or block
    if fill == "random":
        return data + np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    return data + {"zeros": b"\x00", "ff": b"\xff"}[fill] * n


def segments(data: bytes) -> dict[int, int]:
    """Offset of each JPEG header segment by marker byte, up to the start of scan."""
    out, i = {}, 2
    while True:
        marker = data[i + 1]
        out.setdefault(marker, i)
        if marker == 0xDA:
            return out
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")


def decoded_by_pillow(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("L"))


# -- padding and junk: whole files that used to be refused ------------------------------------


@pytest.mark.parametrize("block", [32 * 1024, 64 * 1024])
@pytest.mark.parametrize("fill", ["zeros", "ff", "random"])
def test_a_jpeg_padded_after_its_end_marker_reads_as_the_same_picture(block, fill):
    data = jpeg(frame())
    file = padded(data, block, fill)
    assert len(file) % block == 0
    if fill != "random":  # no end marker in the last kilobyte: the old check refused these
        assert b"\xff\xd9" not in file[-1024:]
    assert np.array_equal(decode_frame_file(file), decode_frame_file(data))


@pytest.mark.parametrize(
    "where",
    [
        "between header segments",
        "before the frame header",
        "before the start of scan",
        "before the end marker",
    ],
)
def test_extraneous_bytes_before_a_marker_are_skipped(where):
    data = jpeg(frame())
    seg = segments(data)
    at = {
        "between header segments": seg[0xDB],
        "before the frame header": seg[0xC0],
        "before the start of scan": seg[0xDA],
        "before the end marker": len(data) - 2,
    }[where]
    junk = data[:at] + b"\x00\x13\x37junk" + data[at:]
    assert np.array_equal(decode_frame_file(junk), decode_frame_file(data))


def test_a_padded_jpeg_with_a_colour_exif_header_reads(tmp_path):
    # Capture software writes colour JPEGs with EXIF, padded to 64 KB blocks.
    bgr = cv2.cvtColor(frame(576, 720), cv2.COLOR_GRAY2BGR)
    exif = Image.Exif()
    exif[0x010F] = "scope maker"
    buf = io.BytesIO()
    Image.fromarray(bgr[:, :, ::-1]).save(buf, "JPEG", quality=90, exif=exif)
    img = decode_frame_file(padded(buf.getvalue(), 64 * 1024, "zeros"))
    assert img.shape == (576, 720) and img.dtype == np.uint8


# -- EXIF orientation --------------------------------------------------------------------------

# How the camera stored an upright picture, for each EXIF orientation.
STORED = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.T,
    6: lambda a: np.rot90(a, 1),  # lying on its left side: shown turned clockwise
    7: lambda a: a[::-1, ::-1].T,
    8: lambda a: np.rot90(a, -1),  # lying on its right side: shown turned anticlockwise
}


def with_orientation(stored: np.ndarray, orientation: int, fmt: str) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    extra = {"quality": 95} if fmt == "JPEG" else {}
    Image.fromarray(np.ascontiguousarray(stored)).save(buf, fmt, exif=exif, **extra)
    return buf.getvalue()


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_an_exif_turned_jpeg_comes_out_upright(orientation):
    upright = frame()
    data = with_orientation(STORED[orientation](upright), orientation, "JPEG")
    img = decode_frame_file(padded(data, 32 * 1024, "zeros"))
    assert img.shape == (H, W)
    assert img[4:12, 4:12].min() > 230, "the mark is not in the top-left corner"
    assert img[-12:-4, -12:-4].max() < 150 and img[4:12, -12:-4].max() < 150
    assert np.abs(img.astype(int) - upright).mean() < 3.0


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_turns_exactly_as_pillow_shows_it(orientation):
    upright = frame()
    data = with_orientation(STORED[orientation](upright), orientation, "PNG")
    img = decode_frame_file(data)
    assert np.array_equal(img, upright)
    assert np.array_equal(img, decoded_by_pillow(data))


def test_a_nonsense_orientation_is_ignored():
    data = with_orientation(frame(), 42, "JPEG")
    assert decode_frame_file(data).shape == (H, W)


# -- what is still refused ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["JPEG", "PNG"])
@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.95])
def test_a_file_cut_short_is_refused_not_filled_with_grey(kind, fraction):
    data = {"JPEG": jpeg, "PNG": png}[kind](frame(576, 720))
    cut = data[: int(len(data) * fraction)]
    with pytest.raises(ImageFileError, match=rf"^truncated {kind} file \("):
        decode_frame_file(cut)
    # Padding after the cut (a pre-allocated file whose writing stopped) does not make it
    # whole: the pixels are still missing, though zeros are valid JPEG coded data.
    for fill in ("zeros", "ff", "random"):
        with pytest.raises(
            ImageFileError, match=rf"^(truncated {kind} file|not a readable image \(corrupt {kind})"
        ):
            decode_frame_file(padded(cut, 65536, fill))


def test_a_jpeg_missing_only_its_end_marker_is_refused():
    data = jpeg(frame())
    with pytest.raises(ImageFileError, match="truncated JPEG"):
        decode_frame_file(data[:-2])


def test_refusing_a_cut_file_leaves_pillow_s_global_setting_alone():
    decode_frame_file(jpeg(frame()))
    with pytest.raises(ImageFileError):
        decode_frame_file(jpeg(frame())[:500])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize(
    "data,reason",
    [
        (b"", "empty file"),
        (b"this is not an image at all\n" * 10, "not a readable image (unknown format"),
        (b"\xff\xd8\xff garbage", "not a readable image"),
        (b"\x89PNG\r\n\x1a\n not really a png", "not a readable image"),
    ],
)
def test_empty_and_unreadable_files_are_refused_with_the_reason(data, reason):
    with pytest.raises(ImageFileError) as err:
        decode_frame_file(data)
    assert str(err.value).startswith(reason)
    assert len(str(err.value).splitlines()) == 1


@pytest.mark.parametrize("ext", [".jp2", ".sr", ".hdr"])
def test_formats_outside_the_list_are_refused_as_unknown(ext):
    # JPEG 2000 can claim 2^32 x 2^32 pixels; Sun raster and Radiance are formats Pillow
    # or OpenCV read, but not parsers the station exposes to its files.
    img = cv2.cvtColor(frame(), cv2.COLOR_GRAY2BGR).astype(np.float32) if ext == ".hdr" else frame()
    ok, buf = cv2.imencode(ext, img)
    assert ok
    with pytest.raises(ImageFileError, match="PNG, JPEG, TIFF, BMP, WebP, GIF, PNM files are read"):
        decode_frame_file(buf.tobytes())


def test_an_ico_file_pillow_knows_is_still_not_read():
    buf = io.BytesIO()
    Image.fromarray(frame(64, 64)).save(buf, "ICO")
    with pytest.raises(ImageFileError, match="unknown format"):
        decode_frame_file(buf.getvalue())


# -- the decompression-bomb guard ---------------------------------------------------------------


def png_claiming(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    idat = zlib.compress(b"\x00" * 64)
    chunk += struct.pack(">I", len(idat)) + b"IDAT" + idat
    chunk += struct.pack(">I", zlib.crc32(b"IDAT" + idat))
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00\x00\x00\x00IEND\xaeB`\x82"


@pytest.mark.parametrize(
    "w,h",
    [
        (8000, 5001),  # just over the station's limit, far under Pillow's own
        (10_000, 10_000),  # where Pillow warns of a bomb
        (100_000, 100_000),  # where Pillow refuses itself
    ],
)
def test_a_header_claiming_too_many_pixels_is_refused_before_decoding_and_silently(w, h):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(ImageFileError, match="image too large") as err:
            decode_frame_file(png_claiming(w, h))
    assert seen == [], [str(x.message) for x in seen]
    assert f"at most {MAX_PIXELS} pixels" in str(err.value)
    if w * h < 2 * Image.MAX_IMAGE_PIXELS:
        assert f"{w}x{h} px" in str(err.value)


def test_the_limit_is_the_caller_s():
    data = png(frame())
    with pytest.raises(ImageFileError, match=f"{W}x{H} px"):
        decode_frame_file(data, max_pixels=W * H - 1)
    assert decode_frame_file(data, max_pixels=W * H).shape == (H, W)


# -- sizes, depths and layouts ------------------------------------------------------------------


@pytest.mark.parametrize("h,w", [(576, 720), (480, 720)])
def test_analog_capture_frames_keep_their_shape(h, w):
    # 720x576 (PAL) and 720x480 (NTSC) frames have non-square pixels; the file is read as
    # stored, and the grader's calibration takes the pixel aspect.
    img = decode_frame_file(
        padded(jpeg(cv2.cvtColor(frame(h, w), cv2.COLOR_GRAY2BGR)), 65536, "ff")
    )
    assert img.shape == (h, w)


def cv2_file(img: np.ndarray, ext: str) -> bytes:
    ok, buf = cv2.imencode(ext, img)
    assert ok
    return buf.tobytes()


@pytest.mark.parametrize("ext", [".png", ".tiff", ".pgm"])
def test_sixteen_bit_grey_keeps_its_depth(ext):
    deep = frame().astype(np.uint16) * 257
    img = decode_frame_file(cv2_file(deep, ext))
    assert img.dtype == np.uint16 and np.array_equal(img, deep)


@pytest.mark.parametrize(
    "ext,channels", [(".png", 3), (".png", 4), (".tiff", 3), (".tiff", 4), (".ppm", 3)]
)
def test_sixteen_bit_colour_keeps_its_depth(ext, channels):
    grey = frame().astype(np.uint16) * 257 + 3
    deep = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR if channels == 3 else cv2.COLOR_GRAY2BGRA)
    deep[:, :, 0] -= 2  # blue differs from red: the channel order shows
    img = decode_frame_file(cv2_file(deep, ext))
    assert img.dtype == np.uint16
    assert np.array_equal(img, cv2.cvtColor(deep[:, :, :3], cv2.COLOR_BGR2GRAY))


def test_a_cut_sixteen_bit_colour_png_is_refused():
    deep = cv2.cvtColor(frame(480, 720).astype(np.uint16) * 257, cv2.COLOR_GRAY2BGR)
    data = cv2_file(deep, ".png")
    with pytest.raises(ImageFileError, match="truncated PNG"):
        decode_frame_file(data[: len(data) // 2])


def test_float_tiff_is_read_as_float():
    values = frame().astype(np.float32) / 255.0
    img = decode_frame_file(cv2_file(values, ".tiff"))
    assert img.dtype == np.float32 and np.array_equal(img, values)


@pytest.mark.parametrize(
    "layout,ext",
    [
        ("grey", ".png"),
        ("grey", ".bmp"),
        ("grey", ".tiff"),
        ("grey", ".pgm"),
        ("colour", ".png"),
        ("colour", ".jpg"),
        ("colour", ".bmp"),
        ("colour", ".webp"),
        ("colour", ".ppm"),
        ("alpha", ".png"),
        ("alpha", ".tiff"),
        ("alpha", ".webp"),
    ],
)
def test_every_format_and_layout_reads_as_grey(layout, ext):
    grey = frame()
    if layout == "grey":
        img = grey
    else:
        img = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR if layout == "colour" else cv2.COLOR_GRAY2BGRA)
        img[:, :, 0] //= 2  # blue unlike red: a swapped channel order shows
    got = decode_frame_file(cv2_file(img, ext))
    want = grey if layout == "grey" else cv2.cvtColor(img[:, :, :3], cv2.COLOR_BGR2GRAY)
    assert got.shape == (H, W) and got.dtype == np.uint8
    lossy = ext in (".jpg", ".webp")
    assert np.abs(got.astype(int) - want).mean() < (2.0 if lossy else 1e-9)


@pytest.mark.parametrize("mode", ["LA", "P", "1", "CMYK"])
def test_pillow_only_layouts_read_as_grey(mode):
    grey = Image.fromarray(frame())
    im = grey.convert(mode)
    buf = io.BytesIO()
    if mode == "CMYK":
        im.save(buf, "JPEG", quality=95)
    else:
        im.save(buf, "GIF" if mode == "P" else "PNG")
    got = decode_frame_file(buf.getvalue())
    assert got.dtype == np.uint8 and got.shape == (H, W)
    assert np.abs(got.astype(int) - frame()).mean() < (3.0 if mode != "1" else 128.0)
