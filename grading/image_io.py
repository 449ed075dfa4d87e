"""Reading end-face images and bringing them to one form: float32 grey in [0, 1].

Every way an input can be unusable gets its own plain reason, because the
operator (or the integrator's script) must know what to fix: a missing file,
an empty one, a truncated one, something that is not an image, a blank frame.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import cv2
import numpy as np

MAX_PIXELS = 40_000_000  # far beyond any probe; refuses decompression bombs
MIN_SIDE_PX = 32


class ImageError(ValueError):
    """An input that cannot be graded, with the reason in plain words."""


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image file (PNG, JPEG, TIFF, BMP...) without trusting its extension."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ImageError("file not found") from None
    except IsADirectoryError:
        raise ImageError("is a folder, not an image file") from None
    except PermissionError:
        raise ImageError("permission denied") from None
    except OSError as exc:
        raise ImageError(f"cannot be read ({exc.strerror or exc})") from None
    return decode_image(data)


def decode_image(data: bytes) -> np.ndarray:
    if not data:
        raise ImageError("empty file")
    _check_complete(data)
    _check_dimensions(data)
    buf = np.frombuffer(data, np.uint8)
    try:
        img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    except cv2.error:
        img = None
    if img is None:
        raise ImageError("not a readable image (unknown format or corrupt data)")
    return img


def to_gray(img: np.ndarray) -> np.ndarray:
    """Any decoded image (8/16-bit, float, grey/colour/alpha) as float32 grey in [0, 1]."""
    if not isinstance(img, np.ndarray) or img.size == 0:
        raise ImageError("empty image")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3:
        if img.shape[2] == 4:
            img = img[:, :, :3]
        if img.shape[2] != 3:
            raise ImageError(f"unsupported channel count {img.shape[2]}")
        if img.dtype.kind == "f":  # to [0, 1] first: the colour weights must not overflow
            img = _unit_float(img)
        elif img.dtype not in (np.uint8, np.uint16):
            img = img.astype(np.float32)
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    if img.ndim != 2:
        raise ImageError(f"unsupported image shape {img.shape}")
    h, w = img.shape
    if min(h, w) < MIN_SIDE_PX:
        raise ImageError(f"image too small ({w}x{h} px); at least {MIN_SIDE_PX} px a side")
    if h * w > MAX_PIXELS:
        raise ImageError(f"image too large ({w}x{h} px); at most {MAX_PIXELS} pixels")
    if img.dtype == np.uint8:
        out = img.astype(np.float32) * np.float32(1.0 / 255.0)
    elif img.dtype == np.uint16:
        out = img.astype(np.float32) * np.float32(1.0 / 65535.0)
    elif img.dtype == np.bool_:
        out = img.astype(np.float32)
    else:
        out = _unit_float(img)
    return out


def _unit_float(img: np.ndarray) -> np.ndarray:
    """Float (or integer) pixels as float32 in [0, 1]: kept when already there, else
    stretched from their own min and max; NaN and infinity refused.

    In float64, and halved, so that even values near the float64 limit cannot overflow
    on the way (float32 overflows beyond 3.4e38).
    """
    wide = img.astype(np.float64)
    if not np.all(np.isfinite(wide)):
        raise ImageError("image contains NaN or infinite values")
    lo, hi = float(wide.min()), float(wide.max())
    if lo < 0.0 or hi > 1.0:
        if hi > lo:
            wide = (wide * 0.5 - lo * 0.5) / (hi * 0.5 - lo * 0.5)
            np.clip(wide, 0.0, 1.0, out=wide)
        else:
            wide = np.zeros_like(wide)
    return wide.astype(np.float32)


def normalise(gray: np.ndarray) -> np.ndarray:
    """Stretch so the bulk of the histogram spans [0, 1]; refuse blank frames.

    Cameras differ in gain and bit depth (a 12-bit sensor in a 16-bit file fills
    a sixteenth of the range); the analysis works on relative contrast, so it
    sees every frame stretched the same way.
    """
    lo, hi = _percentiles(gray)
    span = float(hi - lo)
    if span < 4.0 / 255.0 * 0.25:
        level = "black" if hi < 0.05 else "white" if lo > 0.95 else "uniform"
        raise ImageError(f"blank image (all {level}): no end face to grade")
    out = np.subtract(gray, np.float32(lo), dtype=np.float32)
    out *= np.float32(1.0 / span)
    return out


def _percentiles(gray: np.ndarray) -> tuple[float, float]:
    """The 0.2 and 99.8 percentiles, from a sparse sample of the frame."""
    sample = gray[::4, ::4] if gray.size > 200_000 else gray
    flat = sample.ravel()
    k_lo = int(0.002 * (flat.size - 1))
    k_hi = int(0.998 * (flat.size - 1))
    part = np.partition(flat, (k_lo, k_hi))
    return float(part[k_lo]), float(part[k_hi])


def _check_complete(data: bytes) -> None:
    """Catch truncated files that decoders would silently fill with grey."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        if b"IEND" not in data[-64:]:
            raise ImageError("truncated PNG file (no end marker)")
    # Some cameras append a trailer after a JPEG's end marker; look near the end.
    elif data[:3] == b"\xff\xd8\xff" and b"\xff\xd9" not in data[-1024:]:
        raise ImageError("truncated JPEG file (no end marker)")


def _check_dimensions(data: bytes) -> None:
    """Read the header to refuse absurd sizes before decoding (a small file can claim 16384 x
    16384 pixels); refuse formats whose header is not read here, as they cannot be checked."""
    kind = image_format(data)
    if kind is None:
        raise ImageError(
            "not a readable image (unknown format or corrupt data; "
            f"{', '.join(READ_FORMATS)} files are read)"
        )
    size = header_size(data, kind)
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        w, h = size
        raise ImageError(f"image too large ({w}x{h} px); at most {MAX_PIXELS} pixels")


READ_FORMATS = ("PNG", "JPEG", "TIFF", "BMP", "WebP", "GIF", "PNM")
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_SOF_MARKER = re.compile(b"\\xff[" + re.escape(bytes(sorted(_SOF))) + b"]")
_PNM = re.compile(rb"P[1-6]")
_PNM_TOKEN = re.compile(rb"(?:\s|#[^\r\n]*[\r\n])*(\d{1,12})")


def image_format(data: bytes) -> str | None:
    """The format named by the file's signature, among those read here; None for any other."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if data[:2] == b"BM":
        return "BMP"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if _PNM.match(data[:2]) and data[2:3].isspace():
        return "PNM"
    return None


def header_size(data: bytes, kind: str) -> tuple[int, int] | None:
    """(width, height) as the header claims it; None when the header is too short to say."""
    try:
        return _SIZE_READERS[kind](data)
    except (IndexError, ValueError, struct.error):
        return None


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24:
        return None
    return struct.unpack(">II", data[16:24])


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 8 < len(data):
        if data[i] != 0xFF:
            break  # not at a marker: the header is damaged
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        if marker == 0xDA:  # start of scan without a frame header before it
            break
        if marker in _SOF:
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h
        seg_len = int.from_bytes(data[i + 2 : i + 4], "big")
        if seg_len < 2:
            break
        i += 2 + seg_len
    # A damaged header: the decoder skips junk to the next marker, so judge by the largest
    # frame header anywhere (0xFF then a SOF byte never occurs inside coded data).
    sizes = [
        struct.unpack(">HH", data[m.start() + 5 : m.start() + 9])[::-1]
        for m in _SOF_MARKER.finditer(data)
        if m.start() + 9 <= len(data)
    ]
    return max(sizes, key=lambda wh: wh[0] * wh[1]) if sizes else None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    order = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack(order + "I", data[4:8])
    (count,) = struct.unpack(order + "H", data[ifd : ifd + 2])
    found: dict[int, int] = {}
    for k in range(count):
        entry = data[ifd + 2 + 12 * k : ifd + 14 + 12 * k]
        tag, typ = struct.unpack(order + "HH", entry[:4])
        if tag in (256, 257):
            short = typ == 3  # SHORT, else LONG
            (value,) = struct.unpack(
                order + ("H" if short else "I"), entry[8 : 10 if short else 12]
            )
            found[tag] = max(found.get(tag, 0), value)  # a repeated tag: the larger counts
    if 256 in found and 257 in found:
        return found[256], found[257]
    return None


def _bmp_size(data: bytes) -> tuple[int, int] | None:
    (header,) = struct.unpack("<I", data[14:18])
    if header == 12:  # OS/2 core header
        return struct.unpack("<HH", data[18:22])
    w, h = struct.unpack("<ii", data[18:26])
    return abs(w), abs(h)  # a negative height is a top-down bitmap


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    return None


def _gif_size(data: bytes) -> tuple[int, int] | None:
    return struct.unpack("<HH", data[6:10])


def _pnm_size(data: bytes) -> tuple[int, int] | None:
    m1 = _PNM_TOKEN.match(data, 2)
    m2 = m1 and _PNM_TOKEN.match(data, m1.end())
    if not m2:
        return None
    return int(m1.group(1)), int(m2.group(1))


_SIZE_READERS = {
    "PNG": _png_size,
    "JPEG": _jpeg_size,
    "TIFF": _tiff_size,
    "BMP": _bmp_size,
    "WebP": _webp_size,
    "GIF": _gif_size,
    "PNM": _pnm_size,
}


def prepared(img: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(normalised float32 grey, the pixels the camera clipped or None) of a decoded frame.

    8-bit frames, what probes deliver, take a short road: the percentiles come
    from the histogram and the stretch is one conversion, where the general road
    (``to_gray`` then ``normalise``) makes four passes over a megapixel frame.
    """
    if isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim in (2, 3):
        if img.ndim == 3 and img.shape[2] in (3, 4):
            img = cv2.cvtColor(
                img, cv2.COLOR_BGRA2GRAY if img.shape[2] == 4 else cv2.COLOR_BGR2GRAY
            )
        if img.ndim == 2 and min(img.shape) >= MIN_SIDE_PX and img.size <= MAX_PIXELS:
            return _prepared_u8(np.ascontiguousarray(img))
    linear = to_gray(img)
    return normalise(linear), linear >= SATURATED_LEVEL


SATURATED_LEVEL = 1.0 - 0.5 / 255.0  # at the top of the sensor's range


def _prepared_u8(img: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    hist = cv2.calcHist([img], [0], None, [256], [0, 256]).ravel()
    cum = np.cumsum(hist)
    n = float(cum[-1])
    lo = int(np.searchsorted(cum, 0.002 * (n - 1) + 1)) / 255.0
    hi = int(np.searchsorted(cum, 0.998 * (n - 1) + 1)) / 255.0
    span = hi - lo
    if span < 4.0 / 255.0 * 0.25:
        level = "black" if hi < 0.05 else "white" if lo > 0.95 else "uniform"
        raise ImageError(f"blank image (all {level}): no end face to grade")
    gray = cv2.addWeighted(img, 1.0 / (255.0 * span), img, 0.0, -lo / span, dtype=cv2.CV_32F)
    return gray, (img == 255) if hist[255] > 0 else None
