"""Reading end-face images and bringing them to one form: float32 grey in [0, 1].

Every way an input can be unusable gets its own plain reason, because the
operator (or the integrator's script) must know what to fix: a missing file,
an empty one, a truncated one, something that is not an image, a blank frame.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from hardware.imagefile import MAX_PIXELS, ImageFileError, decode_frame_file

MIN_SIDE_PX = 32


class ImageError(ValueError):
    """An input that cannot be graded, with the reason in plain words."""


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image file (PNG, JPEG, TIFF, BMP, WebP, GIF, PNM) by its content, not
    its extension."""
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
    """An image file's bytes as grey pixels, upright; see ``hardware.imagefile``
    (where the replay probe reads the same files): padded and EXIF-turned JPEGs are read,
    cut, empty, unknown and oversized files refused before or while decoding."""
    try:
        return decode_frame_file(data, MAX_PIXELS)
    except ImageFileError as exc:
        raise ImageError(str(exc)) from None


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
    # Percentiles from every other row and column: a quarter of the work, the same levels.
    sample = img[::2, ::2] if img.size > 200_000 else img
    hist = cv2.calcHist([np.ascontiguousarray(sample)], [0], None, [256], [0, 256]).ravel()
    cum = np.cumsum(hist)
    n = float(cum[-1])
    lo = int(np.searchsorted(cum, 0.002 * (n - 1) + 1)) / 255.0
    hi = int(np.searchsorted(cum, 0.998 * (n - 1) + 1)) / 255.0
    span = hi - lo
    if span < 4.0 / 255.0 * 0.25:
        level = "black" if hi < 0.05 else "white" if lo > 0.95 else "uniform"
        raise ImageError(f"blank image (all {level}): no end face to grade")
    gray = cv2.addWeighted(img, 1.0 / (255.0 * span), img, 0.0, -lo / span, dtype=cv2.CV_32F)
    return gray, (img == 255) if img.max() == 255 else None
