"""Bring whatever a device or file delivers to the probe frame's form: grey, 8- or 16-bit.

The grader works on brightness, and colour sensors are common in cheap
microscopes; converting once, at the probe, keeps every consumer simple. The
bit depth is kept because a 16-bit sensor's extra levels matter to faint defects.
"""

from __future__ import annotations

import cv2
import numpy as np


def to_grey(image: np.ndarray) -> np.ndarray:
    """Grey uint8 or uint16, rows x columns; ValueError saying what is wrong otherwise."""
    if not isinstance(image, np.ndarray) or image.size == 0:
        raise ValueError("empty image")
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"unsupported pixel type {image.dtype}: expected 8- or 16-bit")
    if image.ndim == 2:
        return image
    if image.ndim != 3:
        raise ValueError(f"unsupported image shape {image.shape}")
    channels = image.shape[2]
    if channels == 1:
        return np.ascontiguousarray(image[:, :, 0])
    if channels == 2:  # grey + alpha
        return np.ascontiguousarray(image[:, :, 0])
    if channels == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    raise ValueError(f"unsupported channel count {channels}")


def decode_grey(data: bytes) -> np.ndarray:
    """Decode an image file's bytes (PNG, JPEG, TIFF, BMP) by content, not by extension."""
    if not data:
        raise ValueError("empty file")
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        image = None
    if image is None:
        raise ValueError("not a readable image (unknown format or corrupt data)")
    return to_grey(image)
