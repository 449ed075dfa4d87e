"""Centres of circles of a given radius, found by the votes of their edges.

A disc detector (a Laplacian of Gaussian) sees a fibre by the brightness of its
inside against its outside; a fibre whose glass is nearly the ferrule's grey,
outlined only by a thin adhesive line, barely answers it. Every point of a
circle's edge, however faint, points across the edge: voting one radius along
that direction, inwards and outwards (the polarity is unknown), puts the votes
of a whole circle on its centre while grain and dirt scatter theirs. This is a
fast radial symmetry transform at one radius, on a copy scaled so that the
radius is about twelve pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

from grading.robust import quantile

WORK_RADIUS_PX = 12.0


def circle_centres(
    image: np.ndarray, radius_px: float, count: int
) -> list[tuple[float, float, float]]:
    """Up to ``count`` (score, x, y) centres of circles of ``radius_px``, strongest first.

    The score is the share of the circle's circumference whose edge voted for the
    centre, weighted by edge strength relative to the frame's typical edge.
    """
    h, w = image.shape
    f = 1
    while radius_px / (2 * f) >= WORK_RADIUS_PX and min(h, w) // (2 * f) >= 32:
        f *= 2
    work = image
    if f > 1:
        work = cv2.resize(image, (w // f, h // f), interpolation=cv2.INTER_AREA)
    rw = radius_px / f
    smooth = cv2.GaussianBlur(work, (0, 0), max(0.8, rw / 12.0))
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    mag = cv2.magnitude(gx, gy)
    # Every pixel with an edge at all votes once: the direction carries the evidence,
    # and a faint circle outvotes strong but incoherent grain.
    floor = quantile(mag[::2, ::2], 0.5)
    ys, xs = np.nonzero(mag > floor)
    if len(xs) == 0:
        return []
    m = mag[ys, xs]
    ux, uy = gx[ys, xs] / m, gy[ys, xs] / m
    weight = np.ones(len(xs), np.float32)
    hw, ww = work.shape
    votes = np.zeros(hw * ww, np.float32)
    for side in (1.0, -1.0):
        px = np.rint(xs + side * rw * ux).astype(np.int64)
        py = np.rint(ys + side * rw * uy).astype(np.int64)
        ok = (px >= 0) & (px < ww) & (py >= 0) & (py < hw)
        votes += np.bincount(py[ok] * ww + px[ok], weights=weight[ok], minlength=hw * ww).astype(
            np.float32
        )
    acc: np.ndarray = cv2.GaussianBlur(votes.reshape(hw, ww), (0, 0), 1.0)
    # Above the votes that land anywhere by chance, as a share of a whole circle's.
    acc -= np.float32(float(np.median(acc)))
    acc /= np.float32(2.0 * np.pi * rw)
    peaks = (acc >= cv2.dilate(acc, np.ones((5, 5), np.uint8))) & (acc > 0.01)
    py_, px_ = np.nonzero(peaks)
    if len(px_) == 0:
        return []
    scores = acc[py_, px_]
    order = np.argsort(-scores)[:count]
    return [(float(scores[i]), (px_[i] + 0.5) * f - 0.5, (py_[i] + 0.5) * f - 0.5) for i in order]
