"""Connected components with their statistics, labelled the cheap way.

OpenCV's default labeller computes statistics on a path that costs three times
its block-based (Grana) labeller's on the sparse masks grading labels (1.1 ms
against 0.35 ms for a 426 px square); both number components in raster order
and give the same labels and statistics.
"""

from __future__ import annotations

import cv2
import numpy as np


def components(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """(count with the background, int32 labels, stats) of an 8-connected uint8 or bool mask."""
    n, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        mask.astype(np.uint8, copy=False), 8, cv2.CV_32S, cv2.CCL_GRANA
    )
    return n, labels, stats
