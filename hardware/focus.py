"""Focus: a sharpness score for a frame, and an autofocus search through any focus axis.

The score is the mean squared gradient (Tenengrad) of a lightly smoothed,
half-size copy, over the brightness squared: smoothing keeps sensor noise
from passing for detail (a raw Laplacian variance barely moves with focus at
this noise level), and dividing by brightness makes the score independent of
the LED level. The search needs only ``focus_to`` and a way to grab a frame,
so it works through the simulated stage, the serial stage, or a probe with
its own focus motor.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np


def focus_score(image: np.ndarray) -> float:
    """Sharpness of a grey frame; higher is sharper. Comparable across LED levels."""
    g = image.astype(np.float32)
    if g.ndim == 3:
        g = cv2.cvtColor(g, cv2.COLOR_BGR2GRAY)
    g = cv2.pyrDown(g)
    g = cv2.GaussianBlur(g, (0, 0), 1.0)
    mean = float(g.mean())
    if mean <= 1e-6:
        return 0.0
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    energy = float(np.mean(gx * gx + gy * gy))
    return 100.0 * math.sqrt(energy) / mean


@dataclass(frozen=True)
class FocusResult:
    position: int
    score: float
    evaluations: tuple[tuple[int, float], ...]  # every (position, score) tried, in order


class FocusError(Exception):
    """Autofocus could not find a sharp image (no focus axis, or nothing to focus on)."""


def autofocus(
    focus_to: Callable[[int], int],
    grab: Callable[[], np.ndarray],
    start: int,
    focus_range: tuple[int, int],
    coarse_step: int = 100,
    fine_step: int = 2,
    max_evaluations: int = 60,
) -> FocusResult:
    """Find the sharpest focus position, coarse to fine.

    A coarse sweep around ``start`` (widened while the best is at its edge),
    then around the best with the step shrinking by four until ``fine_step``.
    """
    lo, hi = focus_range
    seen: dict[int, float] = {}
    order: list[tuple[int, float]] = []

    def score_at(pos: int) -> float:
        pos = int(min(max(pos, lo), hi))
        if pos not in seen:
            if len(order) >= max_evaluations:
                return seen.get(pos, -1.0)
            reached = focus_to(pos)
            s = focus_score(grab())
            seen[pos] = s
            if reached != pos:
                seen[reached] = s
            order.append((reached, s))
        return seen[pos]

    step = coarse_step
    centre = start
    span = 4
    for _ in range(6):  # widen the coarse sweep while the best is at its edge
        positions = [centre + i * step for i in range(-span, span + 1)]
        scores = [score_at(p) for p in positions]
        i_best = int(np.argmax(scores))
        centre = int(min(max(positions[i_best], lo), hi))
        at_edge = i_best in (0, len(positions) - 1) and lo < centre < hi
        if not at_edge:
            break
    while step > fine_step:
        # Near the peak the score is close to a Gaussian of position: a parabola
        # through the logs of the best point and its neighbours lands near the
        # top, and a short look either side of that confirms it.
        jump = _peak(centre, step, score_at)
        step = max(fine_step, step // 4)
        centre = int(min(max(jump, lo), hi))
        positions = [centre + i * step for i in (-1, 0, 1)]
        scores = [score_at(p) for p in positions]
        centre = int(min(max(positions[int(np.argmax(scores))], lo), hi))
    best = max(order, key=lambda ps: ps[1])
    if best[1] <= 0:
        raise FocusError("no detail to focus on (blank frames at every focus position)")
    focus_to(best[0])
    return FocusResult(position=best[0], score=best[1], evaluations=tuple(order))


def refocus(
    focus_to: Callable[[int], int],
    grab: Callable[[], np.ndarray],
    start: int,
    focus_range: tuple[int, int],
    reach: int = 60,
) -> FocusResult:
    """A short local search, for a neighbouring fibre that sits a little higher or lower."""
    return autofocus(
        focus_to,
        grab,
        start,
        focus_range,
        coarse_step=max(2, reach // 4),
        fine_step=2,
        max_evaluations=25,
    )


def _peak(centre: int, step: int, score_at: Callable[[int], float]) -> int:
    """Vertex of the parabola through log-scores at centre - step, centre, centre + step."""
    a, b, c = (max(score_at(centre + d), 1e-9) for d in (-step, 0, step))
    la, lb, lc = math.log(a), math.log(b), math.log(c)
    denom = la - 2 * lb + lc
    if denom >= 0:  # not a peak (flat or a valley): stay
        return centre
    offset = 0.5 * (la - lc) / denom
    return round(centre + max(-1.0, min(1.0, offset)) * step)
