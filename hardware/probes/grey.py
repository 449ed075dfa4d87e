"""Bring whatever a device or file delivers to the probe frame's form: grey, 8- or 16-bit.

The grader works on brightness, and colour sensors are common in cheap
microscopes; converting once, at the probe, keeps every consumer simple. The
bit depth is kept because a 16-bit sensor's extra levels matter to faint defects.
"""

from __future__ import annotations

import cv2
import numpy as np

from hardware.imagefile import decode_frame_file


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
    """Decode an image file's bytes by content, not by extension, as grading reads them
    (``hardware.imagefile``: padded and EXIF-turned JPEGs read, cut and oversized files
    refused); ValueError saying what is wrong otherwise."""
    return to_grey(decode_frame_file(data))
