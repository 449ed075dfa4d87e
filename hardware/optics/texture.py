"""Ferrule surface texture: value noise anchored to ferrule micrometres.

Anchoring the noise to the ferrule (not to pixels) keeps the same grain under
the probe when the fixture steps away and back, as a real ferrule would.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xC2B2AE3D27D4EB4F)
_M3 = np.uint64(0xFF51AFD7ED558CCD)
_M4 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_S11 = np.uint64(11)


def lattice_values(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    """Deterministic pseudo-random values in [-1, 1) for integer lattice points."""
    with np.errstate(over="ignore"):
        hx = ix.astype(np.int64).astype(np.uint64) * _M1
        h = hx ^ (iy.astype(np.int64).astype(np.uint64) * _M2)
        h ^= np.uint64((seed * 0x165667B1 + 0x27D4EB2F) & 0xFFFFFFFFFFFFFFFF)
        h ^= h >> _S33
        h *= _M3
        h ^= h >> _S33
        h *= _M4
        h ^= h >> _S33
    return ((h >> _S11).astype(np.float64) / float(1 << 53) * 2.0 - 1.0).astype(np.float32)


def value_noise(x_um: np.ndarray, y_um: np.ndarray, grain_um: float, seed: int) -> np.ndarray:
    """Smooth noise of the given grain over the pixel grid ``x_um`` (cols) x ``y_um`` (rows).

    ``x_um`` and ``y_um`` are the ferrule coordinates of the pixel centres, evenly
    spaced. Grain finer than a pixel is averaged down, as the sensor would.
    """
    step_x = float(x_um[1] - x_um[0]) if len(x_um) > 1 else 1.0
    step_y = float(y_um[1] - y_um[0]) if len(y_um) > 1 else 1.0
    px_um = max(abs(step_x), abs(step_y))
    grain = max(grain_um, 1.5 * px_um)
    amplitude = min(1.0, grain_um / grain)
    ix0 = math.floor(min(x_um[0], x_um[-1]) / grain) - 2
    ix1 = math.ceil(max(x_um[0], x_um[-1]) / grain) + 2
    iy0 = math.floor(min(y_um[0], y_um[-1]) / grain) - 2
    iy1 = math.ceil(max(y_um[0], y_um[-1]) / grain) + 2
    ix = np.arange(ix0, ix1 + 1)
    iy = np.arange(iy0, iy1 + 1)
    lattice = lattice_values(ix[None, :], iy[:, None], seed)
    # Pixel (col, row) -> lattice (x_um / grain - ix0, y_um / grain - iy0).
    m = np.array(
        [
            [step_x / grain, 0.0, x_um[0] / grain - ix0],
            [0.0, step_y / grain, y_um[0] / grain - iy0],
        ],
        dtype=np.float64,
    )
    out = cv2.warpAffine(
        lattice,
        m,
        (len(x_um), len(y_um)),
        flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )
    return out * np.float32(amplitude)
