"""The analog video chain: from the optical image to the file a capture card writes.

A video scope's camera sends two interlaced fields; the capture card samples
them into 720 non-square pixels a line, with a band-limited luma signal,
timing jitter from line to line and composite noise, and the capture software
writes a JPEG that it pads after the end-of-image marker to a whole block.

The two fields are shifted by half the field offset each way, and line jitter
has zero mean, so the truth (fibre centres, feature positions) stays where
the geometry puts it.
"""

from __future__ import annotations

import cv2
import numpy as np

from hardware.optics.looks import Appearance

JPEG_EOI = b"\xff\xd9"
COMPOSITE_SMEAR_PX = 1.2  # composite noise is band-limited along the line


def fields(img: np.ndarray, ap: Appearance) -> np.ndarray:
    """Interlace and luma bandwidth, in place where possible (float32 image)."""
    if ap.interlace_px or ap.field_softness_px:
        even, odd = img[0::2], img[1::2]
        even[...] = _shift_rows(even, -ap.interlace_px / 2.0)
        odd_img = _shift_rows(odd, ap.interlace_px / 2.0)
        if ap.field_softness_px > 0.2:
            odd_img = cv2.GaussianBlur(odd_img, (0, 0), ap.field_softness_px, sigmaY=0.01)
        odd[...] = odd_img
    if ap.video_bandwidth_px > 0.2:
        img = cv2.GaussianBlur(img, (0, 0), ap.video_bandwidth_px, sigmaY=0.01)
    return img


def line_jitter(img: np.ndarray, sigma_px: float, rng: np.random.Generator) -> np.ndarray:
    """Each line shifted sideways by its own small timing error."""
    h, w = img.shape
    shift = rng.normal(0.0, sigma_px, size=h).astype(np.float32)
    map_x = np.arange(w, dtype=np.float32)[None, :] - shift[:, None]
    map_y = np.repeat(np.arange(h, dtype=np.float32)[:, None], w, axis=1)
    return cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def composite_noise(shape: tuple[int, int], sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Noise smeared along each line, with the given standard deviation."""
    raw = rng.standard_normal(shape, dtype=np.float32)
    smeared = cv2.GaussianBlur(raw, (0, 0), COMPOSITE_SMEAR_PX, sigmaY=0.01)
    # Smearing lowers the spread: bring it back to sigma.
    spread = float(smeared.std()) or 1.0
    return smeared * np.float32(sigma / spread)


def encode_frame(image: np.ndarray, ap: Appearance) -> tuple[bytes, str]:
    """The file bytes and suffix a probe with this look writes for an 8-bit frame."""
    if not ap.jpeg_quality:
        ok, buf = cv2.imencode(".png", image)
        if not ok:
            raise ValueError("the frame could not be encoded as PNG")
        return buf.tobytes(), ".png"
    # Capture cards write colour JPEG even of a grey picture.
    colour = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
    ok, buf = cv2.imencode(".jpg", colour, [cv2.IMWRITE_JPEG_QUALITY, ap.jpeg_quality])
    if not ok:
        raise ValueError("the frame could not be encoded as JPEG")
    return pad_after_end(buf.tobytes(), ap.jpeg_pad_bytes), ".jpg"


def pad_after_end(data: bytes, block: int) -> bytes:
    """Pad a file with zero bytes to the next whole ``block`` past its end (as capture software does)."""
    if block <= 0:
        return data
    size = (len(data) // block + 1) * block
    return data + bytes(size - len(data))


def _shift_rows(rows: np.ndarray, dx_px: float) -> np.ndarray:
    """Rows moved right by ``dx_px`` (sub-pixel, linear), edges repeated."""
    if dx_px == 0:
        return rows
    m = np.array([[1.0, 0.0, dx_px], [0.0, 1.0, 0.0]], dtype=np.float64)
    h, w = rows.shape
    return cv2.warpAffine(
        np.ascontiguousarray(rows), m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
