"""Image inputs: any file or array is graded, or becomes verdict ``error`` with a one-line reason.

Random bytes, real images of every format the station reads cut at random points or with
random bytes changed, headers that claim huge sizes (decompression bombs), and arrays of every
depth, shape and content (16-bit, colour, all-black, all-white, tiny, NaN, inf). Nothing may
raise out of ``grade`` except GradingUsageError, and nothing may pass that was not judged.

tests/grading/test_image_inputs.py has the named cases; these add property-based coverage.
"""

from __future__ import annotations

import struct
import time
import zlib

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grading import ImageError, grade
from grading.image_io import MAX_PIXELS, decode_image, normalise, read_image, to_gray
from tests.grading.renders import SCALE, face
from tests.reliability.fuzzkit import assert_clear, bounded

RULES = "iec-61300-3-35-ed2/sm-pc"
FORMATS = (".png", ".jpg", ".tiff", ".bmp", ".webp", ".pgm")


def check_result(result) -> None:
    assert result.verdict in ("pass", "fail", "error")
    if result.verdict == "error":
        assert_clear(result.error)
    if result.verdict == "pass":
        assert result.fibers and all(f.verdict == "pass" for f in result.fibers)
    result.to_dict()


@pytest.fixture(scope="module")
def encoded():
    """The rendered LC end face, cut down to keep each example fast, in every format read."""
    img = cv2.resize(face("lc-upc").image, (320, 240), interpolation=cv2.INTER_AREA)
    out = {}
    for ext in FORMATS:
        ok, buf = cv2.imencode(ext, img)
        assert ok, ext
        out[ext] = buf.tobytes()
    return out


@pytest.fixture(scope="module")
def full_face():
    return face("lc-upc").image


@bounded(200)
@given(st.binary(max_size=2000))
def test_random_bytes_decode_or_are_refused_clearly(data):
    try:
        img = decode_image(data)
    except ImageError as exc:
        assert_clear(str(exc))
        return
    assert isinstance(img, np.ndarray) and img.size > 0


@bounded(150)
@given(st.sampled_from(FORMATS), st.floats(0.0, 1.0, exclude_max=True))
def test_an_image_cut_at_any_point_is_refused_or_decoded(encoded, ext, where):
    data = encoded[ext]
    cut = data[: int(len(data) * where)]
    try:
        img = decode_image(cut)
    except ImageError as exc:
        assert_clear(str(exc))
        if ext in (".png", ".jpg") and cut:
            # Decoders fill a cut PNG or JPEG with grey; these two are recognised as cut.
            assert "truncated" in str(exc) or "not a readable image" in str(exc), str(exc)
        return
    if ext in (".png", ".jpg"):
        # A file is whole when the decoder returns the whole image: a cut that took only
        # what follows the pixel data (the PNG end chunk) loses nothing, anything else is
        # refused, never filled with grey.
        assert np.array_equal(img, decode_image(data)), (
            f"a {ext} cut at {len(cut)} of {len(data)} bytes decoded with pixels missing"
        )
    check_result(grade(img, connector="lc-upc", rules=RULES))


@bounded(120)
@given(
    st.sampled_from(FORMATS),
    st.lists(
        st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 255)),
        min_size=1,
        max_size=6,
    ),
)
def test_an_image_with_bytes_changed_is_graded_or_refused(tmp_path_factory, encoded, ext, flips):
    data = bytearray(encoded[ext])
    for where, value in flips:
        data[int(len(data) * where)] = value
    path = tmp_path_factory.mktemp("img") / f"damaged{ext}"
    path.write_bytes(bytes(data))
    check_result(grade(str(path), connector="lc-upc", rules=RULES))


# -- headers that claim huge sizes --------------------------------------------------------------


def png_claiming(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    chunk = (
        struct.pack(">I", len(ihdr))
        + b"IHDR"
        + ihdr
        + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    )
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00\x00\x00\x00IEND\xaeB`\x82"


def patch_size(data: bytes, ext: str, w: int, h: int) -> bytes:
    """A real file of that format whose header now claims w x h."""
    b = bytearray(data)
    if ext == ".png":  # with the header's checksum made right, as a forger would
        b[16:24] = struct.pack(">II", w, h)
        b[29:33] = struct.pack(">I", zlib.crc32(bytes(b[12:29])))
    elif ext == ".jpg":
        i = 2
        while b[i + 1] not in (0xC0, 0xC2):
            i += 2 + int.from_bytes(b[i + 2 : i + 4], "big")
        b[i + 5 : i + 9] = struct.pack(">HH", min(h, 65535), min(w, 65535))
    elif ext == ".bmp":
        b[18:26] = struct.pack("<ii", min(w, 2**31 - 1), min(h, 2**31 - 1))
    elif ext == ".gif":
        b[6:10] = struct.pack("<HH", min(w, 65535), min(h, 65535))
    elif ext == ".pgm":
        b = bytearray(f"P5\n{w} {h}\n255\n".encode()) + b[b.index(b"255\n") + 4 :]
    return bytes(b)


@bounded(100)
@given(
    st.sampled_from([".png", ".jpg", ".bmp", ".pgm"]),
    st.integers(1, 2**20),
    st.integers(1, 2**20),
)
def test_a_header_claiming_a_huge_size_is_refused_before_decoding(encoded, ext, w, h):
    data = patch_size(encoded[ext], ext, w, h)
    claimed = min(w, 65535) * min(h, 65535) if ext == ".jpg" else w * h
    started = time.monotonic()
    try:
        img = decode_image(data)
    except ImageError as exc:
        assert_clear(str(exc))
        if claimed > MAX_PIXELS:
            assert "too large" in str(exc)
        return
    finally:
        assert time.monotonic() - started < 2.0
    assert claimed <= MAX_PIXELS and img.size <= MAX_PIXELS * 4


@pytest.mark.parametrize("ext", [".webp", ".tiff", ".png", ".jpg", ".bmp", ".pgm"])
def test_a_small_file_that_decodes_to_a_huge_image_is_refused_before_decoding(ext):
    # A real 8000 x 8000 image of one grey: a few kB as WebP, about a megabyte as TIFF.
    # 64 Mpx is above MAX_PIXELS, so it must be refused from the header, not after decoding.
    big = np.zeros((8000, 8000), np.uint8)
    ok, buf = cv2.imencode(ext, big)
    assert ok
    started = time.monotonic()
    with pytest.raises(ImageError, match="too large"):
        decode_image(buf.tobytes())
    assert time.monotonic() - started < 0.5


def test_formats_whose_size_cannot_be_read_first_are_refused_clearly():
    # JPEG 2000 can claim 2^32 x 2^32; its header is not read here, so it is not decoded.
    img = np.full((64, 64), 100, np.uint8)
    ok, jp2 = cv2.imencode(".jp2", img)
    assert ok
    with pytest.raises(ImageError) as err:
        decode_image(jp2.tobytes())
    assert_clear(str(err.value), "not a readable image")


# -- arrays ----------------------------------------------------------------------------------------

DTYPES = st.sampled_from(
    [np.uint8, np.uint16, np.int16, np.int32, np.float16, np.float32, np.float64, np.bool_]
)
SHAPES = st.one_of(
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=80),
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=32, max_side=96),
    st.tuples(st.integers(1, 80), st.integers(1, 80), st.integers(0, 5)),
    hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6),
)


@st.composite
def arrays(draw):
    dtype = np.dtype(draw(DTYPES))
    shape = draw(SHAPES)
    how = draw(st.sampled_from(["random", "black", "white", "constant", "special"]))
    if how == "random":
        return draw(hnp.arrays(dtype, shape, elements=hnp.from_dtype(dtype)))
    if how == "black":
        return np.zeros(shape, dtype)
    if how == "white":
        top = 1.0 if dtype.kind == "f" else True if dtype.kind == "b" else np.iinfo(dtype).max
        return np.full(shape, top, dtype)
    if how == "constant":
        return np.full(shape, draw(hnp.from_dtype(dtype)), dtype)
    if dtype.kind != "f":
        return np.zeros(shape, dtype)
    arr = np.linspace(0, 1, int(np.prod(shape)) or 0, dtype=np.float64).reshape(shape).astype(dtype)
    if arr.size:
        special = draw(st.sampled_from([np.nan, np.inf, -np.inf, -1e30, 1e30, 3e38, -3e38]))
        with np.errstate(over="ignore"):  # 3e38 in float16 is inf: that is the point
            arr.flat[draw(st.integers(0, arr.size - 1))] = special
    return arr


@bounded(200)
@given(arrays())
def test_any_array_grades_or_is_an_error_result(arr):
    check_result(grade(arr, connector="lc-upc", rules=RULES))


@bounded(150)
@given(arrays())
def test_to_gray_gives_finite_grey_in_range_or_an_image_error(arr):
    try:
        grey = to_gray(arr)
    except ImageError as exc:
        assert_clear(str(exc))
        return
    assert grey.ndim == 2 and grey.dtype == np.float32
    assert np.isfinite(grey).all()
    assert grey.min() >= 0.0 and grey.max() <= 1.0
    try:
        out = normalise(grey)
    except ImageError as exc:
        assert_clear(str(exc), "blank image")
        return
    assert np.isfinite(out).all()


@bounded(120)
@given(
    st.sampled_from([np.float16, np.float32, np.float64]),
    st.lists(
        st.sampled_from([np.nan, np.inf, -np.inf, -1e30, 1e30, 3e38, -3e38, 1e300, -1e300, 0.0]),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(["ramp", "flat", "noise"]),
)
def test_float_frames_with_extreme_values_grade_or_are_refused(dtype, specials, base):
    rng = np.random.default_rng(len(specials))
    if base == "ramp":
        arr = np.tile(np.linspace(0.0, 1.0, 64), (48, 1))
    elif base == "flat":
        arr = np.full((48, 64), 0.5)
    else:
        arr = rng.random((48, 64))
    for k, value in enumerate(specials):
        arr[k * 7 % 48, k * 13 % 64] = value
    with np.errstate(over="ignore"):
        arr = arr.astype(dtype)
    try:
        grey = to_gray(arr)
    except ImageError as exc:
        assert_clear(str(exc))
    else:
        assert np.isfinite(grey).all() and grey.min() >= 0.0 and grey.max() <= 1.0
    check_result(grade(arr, connector="lc-upc", rules=RULES))


@bounded(40)
@given(
    st.sampled_from(["uint16", "colour", "float", "float-wide", "alpha"]),
    st.floats(0.05, 1.0),
)
def test_the_same_face_in_other_depths_and_layouts_still_grades(full_face, layout, gain):
    img = full_face.astype(np.float64) * gain
    if layout == "uint16":
        arr = (img * 257).astype(np.uint16)
    elif layout == "colour":
        arr = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_GRAY2BGR)
    elif layout == "alpha":
        arr = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_GRAY2BGRA)
    elif layout == "float":
        arr = (img / 255.0).astype(np.float32)
    else:
        arr = (img * 1000.0 - 5000.0).astype(np.float64)  # outside [0, 1]: stretched
    result = grade(arr, connector="lc-upc", rules=RULES, um_per_px=SCALE)
    check_result(result)
    if gain > 0.3 and layout != "colour":
        assert result.verdict == "pass", result.error


@bounded(30)
@given(st.binary(max_size=200))
def test_reading_a_file_never_raises_anything_but_image_error(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("read")
    path = folder / "frame.png"
    path.write_bytes(data)
    for target in (path, folder, folder / "missing.png"):
        try:
            read_image(target)
        except ImageError as exc:
            assert_clear(str(exc))
