"""Reading end-face images and bringing them to one form: float32 grey in [0, 1].

Every way an input can be unusable gets its own plain reason, because the
operator (or the integrator's script) must know what to fix: a missing file,
an empty one, a truncated one, something that is not an image, a blank frame.
"""

from __future__ import annotations

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
        if img.dtype not in (np.uint8, np.uint16, np.float32):
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
        out = img.astype(np.float32)
        if not np.all(np.isfinite(out)):
            raise ImageError("image contains NaN or infinite values")
        lo, hi = float(out.min()), float(out.max())
        if lo < 0.0 or hi > 1.0:
            out = (out - lo) / (hi - lo) if hi > lo else np.zeros_like(out)
    return out


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
    """Read PNG/JPEG headers to refuse absurd sizes before decoding them."""
    w = h = None
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w = int.from_bytes(data[16:20], "big")
        h = int.from_bytes(data[20:24], "big")
    elif data[:3] == b"\xff\xd8\xff":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                break
            marker = data[i + 1]
            seg_len = int.from_bytes(data[i + 2 : i + 4], "big")
            if marker in (
                0xC0,
                0xC1,
                0xC2,
                0xC3,
                0xC5,
                0xC6,
                0xC7,
                0xC9,
                0xCA,
                0xCB,
                0xCD,
                0xCE,
                0xCF,
            ):
                h = int.from_bytes(data[i + 5 : i + 7], "big")
                w = int.from_bytes(data[i + 7 : i + 9], "big")
                break
            i += 2 + seg_len
    if w is not None and h is not None and w * h > MAX_PIXELS:
        raise ImageError(f"image too large ({w}x{h} px); at most {MAX_PIXELS} pixels")
