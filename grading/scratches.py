"""Scratches: thin, long, faint, often broken lines.

Blob analysis misses them (each piece is too faint, or too short to look like
a line), so they are found the way Mei et al.'s linear enhancement does it:
the normalised residual is averaged along short line segments at many
orientations. Along a scratch the averages add up; across noise they cancel.
Components of strong response that are long and narrow are then measured at
full resolution from the scratch's mean cross-section: its area (contrast x
width) survives blur, its peak does not, and the two together with the
measured blur give the width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from grading.robust import median, quantile

N_ORIENTATIONS = 12
LINE_LENGTH_UM = 12.0
WORK_UM_PER_PX = 0.9
SEED_SIGMA = 6.0
GROW_SIGMA = 3.5
Z_CLIP = 6.0
MAX_GAP_UM = 5.0  # breaks along one scratch that are bridged
MIN_ASPECT = 4.0  # length / width below which a "line" is a blob


@dataclass(frozen=True)
class Line:
    """A measured scratch, in ROI pixel coordinates."""

    start_px: tuple[float, float]
    end_px: tuple[float, float]
    width_px: float
    contrast: float  # signed mean residual at the line's centre

    @property
    def length_px(self) -> float:
        return math.dist(self.start_px, self.end_px)

    @property
    def center_px(self) -> tuple[float, float]:
        return (
            (self.start_px[0] + self.end_px[0]) / 2.0,
            (self.start_px[1] + self.end_px[1]) / 2.0,
        )

    def distance(self, x: np.ndarray, y: np.ndarray, extend_px: float = 0.0) -> np.ndarray:
        """Distance of points to the segment, optionally lengthened at both ends."""
        ax, ay = self.start_px
        bx, by = self.end_px
        dx, dy = bx - ax, by - ay
        length = math.hypot(dx, dy) or 1e-6
        if extend_px:
            ux, uy = dx / length, dy / length
            ax, ay = ax - ux * extend_px, ay - uy * extend_px
            bx, by = bx + ux * extend_px, by + uy * extend_px
            dx, dy = bx - ax, by - ay
        l2 = dx * dx + dy * dy or 1e-12
        t = np.clip(((x - ax) * dx + (y - ay) * dy) / l2, 0.0, 1.0)
        return np.hypot(x - (ax + t * dx), y - (ay + t * dy))


def find_lines(
    residual: np.ndarray,
    sigma: np.ndarray,
    radius_px: np.ndarray,
    search_radius_px: float,
    um_per_px: float,
    psf_px: float,
) -> list[Line]:
    """Scratches within ``search_radius_px`` of the fibre centre."""
    d = max(1, round(WORK_UM_PER_PX / um_per_px))
    z = np.clip(residual / sigma, -Z_CLIP, Z_CLIP)
    z[radius_px > search_radius_px] = 0.0
    h, w = z.shape
    hw, ww = max(1, h // d), max(1, w // d)
    zw = cv2.resize(z[: hw * d, : ww * d], (ww, hw), interpolation=cv2.INTER_AREA)
    inside_w = cv2.resize(
        (radius_px[: hw * d, : ww * d] <= search_radius_px).astype(np.uint8),
        (ww, hw),
        interpolation=cv2.INTER_NEAREST,
    ).astype(bool)
    length_w = max(5, round(LINE_LENGTH_UM / (um_per_px * d)) | 1)
    best, orientation = _oriented_response(zw, inside_w, length_w)
    seeds = best > SEED_SIGMA
    if not seeds.any():
        return []
    grow = (best > GROW_SIGMA).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(grow, connectivity=8)
    lines: list[Line] = []
    for i in range(1, n):
        if stats[i, cv2.CC_STAT_AREA] < length_w:
            continue
        comp = labels == i
        if not (seeds & comp).any():
            continue
        for pieces in _by_orientation(comp, best, orientation, length_w):
            # The pieces of one orientation together first: a scratch cut in two
            # where another crosses it is still one scratch.
            tries = [np.logical_or.reduce(pieces)] + (pieces if len(pieces) > 1 else [])
            for part in tries:
                if not (seeds & part).any():
                    continue
                line = _line_of(part, best, length_w, d, residual, sigma, psf_px, um_per_px)
                if line is not None:
                    lines.append(line)
                    if part is tries[0]:
                        break
    return merge_collinear(lines)


def _by_orientation(
    comp: np.ndarray, best: np.ndarray, orientation: np.ndarray, length_w: int
) -> list[list[np.ndarray]]:
    """A component split where two scratches cross: the pieces of each dominant orientation.

    Crossing scratches make one connected X of strong response; measured as one,
    it is a single wide "scratch" along neither. Each pixel answers most strongly
    at its own scratch's orientation, so a component whose orientations have two
    modes is cut in two by them.
    """
    n = N_ORIENTATIONS
    votes = np.bincount(orientation[comp], weights=best[comp], minlength=n)
    smooth = votes + 0.5 * (np.roll(votes, 1) + np.roll(votes, -1))
    first = int(np.argmax(smooth))
    apart = [k for k in range(n) if min(abs(k - first), n - abs(k - first)) >= 2]
    if not apart:
        return [[comp]]
    other = max(apart, key=lambda k: smooth[k])
    if smooth[other] < 0.3 * smooth[first]:
        return [[comp]]
    ks = np.arange(n)
    dist_first = np.minimum(abs(ks - first), n - abs(ks - first))
    dist_other = np.minimum(abs(ks - other), n - abs(ks - other))
    nearer_first = (dist_first <= dist_other)[orientation]
    groups = []
    for side in (nearer_first, ~nearer_first):
        m, lab, st, _ = cv2.connectedComponentsWithStats(
            (comp & side).astype(np.uint8), connectivity=8
        )
        pieces = [lab == j for j in range(1, m) if st[j, cv2.CC_STAT_AREA] >= length_w]
        if pieces:
            groups.append(pieces)
    return groups or [[comp]]


def _line_of(
    comp: np.ndarray,
    best: np.ndarray,
    length_w: int,
    d: int,
    residual: np.ndarray,
    sigma: np.ndarray,
    psf_px: float,
    um_per_px: float,
) -> Line | None:
    """The scratch one component of strong response stands for, measured at full resolution."""
    ys, xs = np.nonzero(comp)
    weights = best[ys, xs]
    pts = np.stack([xs, ys], axis=1).astype(np.float64)
    centre = (pts * weights[:, None]).sum(axis=0) / weights.sum()
    c = pts - centre
    cov = (c * weights[:, None]).T @ c / weights.sum()
    _evals, evecs = np.linalg.eigh(cov)
    u = evecs[:, 1]
    proj = c @ u
    across = c @ np.array([-u[1], u[0]])
    length = float(proj.max() - proj.min()) + 1.0
    width = quantile(np.abs(across), 0.9) * 2.0 + 1.0
    # A blob answers every orientation within half a filter length of it: a
    # round response. A scratch gives a response longer than the filter.
    if length < 1.3 * length_w or width > 0.45 * length:
        return None
    mid = ((centre[0] + 0.5) * d - 0.5, (centre[1] + 0.5) * d - 0.5)
    half_len = (length - length_w) * d / 2.0 + length_w * d * 0.25
    u_mid = (float(u[0]), float(u[1]))
    return measure_line(residual, sigma, mid, u_mid, half_len, psf_px, MAX_GAP_UM / um_per_px)


def _oriented_response(
    zw: np.ndarray, inside: np.ndarray, length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, the strongest line-average response, in its own noise units, and
    the orientation (0 .. N_ORIENTATIONS - 1) that gave it.

    Orientations come in perpendicular pairs that share one rotation: in the
    rotated frame one is a row average, the other a column average.
    """
    h, w = zw.shape
    diag = math.ceil(math.hypot(h, w)) + length
    centre_src = ((w - 1) / 2.0, (h - 1) / 2.0)
    centre_dst = ((diag - 1) / 2.0, (diag - 1) / 2.0)
    best = np.zeros_like(zw)
    orientation = np.zeros(zw.shape, np.uint8)
    mask = inside.astype(np.uint8)
    for k in range(N_ORIENTATIONS // 2):
        angle = 180.0 * k / N_ORIENTATIONS
        m = cv2.getRotationMatrix2D(centre_src, angle, 1.0)
        m[0, 2] += centre_dst[0] - centre_src[0]
        m[1, 2] += centre_dst[1] - centre_src[1]
        rotated = cv2.warpAffine(zw, m, (diag, diag), flags=cv2.INTER_LINEAR, borderValue=0.0)
        where = cv2.warpAffine(mask, m, (diag, diag), flags=cv2.INTER_NEAREST, borderValue=0)
        sample = np.flatnonzero(where.ravel())[::3]
        pair = None
        second = None  # where the column average (the perpendicular) is the stronger
        for ksize in ((length, 1), (1, length)):
            resp = np.abs(cv2.blur(rotated, ksize, borderType=cv2.BORDER_CONSTANT))
            # Mean |x| of a normal variable is 0.8 sigma: the response's own noise level.
            scale = float(resp.ravel()[sample].mean()) * 1.2533 if sample.size else 0.0
            if scale <= 1e-6:
                continue
            resp *= np.float32(1.0 / scale)
            if pair is None:
                pair = resp
            else:
                second = (resp > pair).astype(np.uint8)
                np.maximum(pair, resp, out=pair)
        if pair is None:
            continue
        back = cv2.warpAffine(
            pair, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0.0
        )
        stronger = back > best
        best[stronger] = back[stronger]
        orientation[stronger] = k
        if second is not None:
            turned = cv2.warpAffine(
                second, m, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP, borderValue=0
            ).astype(bool)
            orientation[stronger & turned] = k + N_ORIENTATIONS // 2
    best[~inside] = 0.0
    return best, orientation


def measure_line(
    residual: np.ndarray,
    sigma: np.ndarray,
    mid: tuple[float, float],
    u: tuple[float, float],
    half_len_px: float,
    psf_px: float,
    gap_px: float,
) -> Line | None:
    """Measure a scratch near a guessed line: true ends, width, contrast.

    Breaks shorter than ``gap_px`` are bridged: a scratch interrupted by a
    clean patch is still one scratch.
    """
    ux, uy = u
    nx, ny = -uy, ux
    half_w = max(6.0, 3.0 * psf_px + 8.0)
    o_step = 0.25
    offs = np.arange(-half_w, half_w + o_step / 2, o_step, dtype=np.float32)
    reach = half_len_px + 10.0
    ts = np.arange(-reach, reach + 0.5, 1.0, dtype=np.float32)
    prof = _sample(residual, mid, (ux, uy), (nx, ny), ts, offs)
    # Re-centre: the line guessed from the coarse image may be a pixel off or tilted.
    for _ in range(2):
        polarity = 1.0 if median(prof[:, np.abs(offs) <= 1.0]) >= 0 else -1.0
        pos = np.clip(prof * polarity, 0.0, None)
        core = np.abs(offs) <= half_w * 0.6
        mass = pos[:, core].sum(axis=1)
        strong = mass > median(mass)
        if strong.sum() < 4:
            return None
        centroid = (pos[:, core] * offs[core]).sum(axis=1) / np.maximum(mass, 1e-9)
        b, a = _robust_line(ts[strong], centroid[strong])  # slope, intercept
        mid = (mid[0] + a * nx, mid[1] + a * ny)
        tilt = math.atan(b)
        ca, sa = math.cos(tilt), math.sin(tilt)
        ux, uy = ux * ca + nx * sa, uy * ca + ny * sa
        norm = math.hypot(ux, uy)
        ux, uy = ux / norm, uy / norm
        nx, ny = -uy, ux
        prof = _sample(residual, mid, (ux, uy), (nx, ny), ts, offs)
    polarity = 1.0 if median(prof[:, np.abs(offs) <= 1.0]) >= 0 else -1.0
    signed = prof * polarity
    # Baseline from the cleaner flank: dirt beside the scratch sits on one side only.
    left = np.median(signed[:, offs <= -(half_w - 2.0)], axis=1)
    right = np.median(signed[:, offs >= half_w - 2.0], axis=1)
    baseline = np.where(np.abs(left) < np.abs(right), left, right)
    signed = signed - baseline[:, None]
    band = np.abs(offs) <= 1.5
    along = signed[:, band].mean(axis=1)
    along = cv2.GaussianBlur(along.reshape(-1, 1).astype(np.float32), (1, 0), 1.5).ravel()
    noise_t = median(_sample(sigma, mid, (ux, uy), (nx, ny), ts, np.zeros(1, np.float32)))
    present = along > 3.0 * noise_t / math.sqrt(max(band.sum() * o_step, 1.0))
    run = _longest_run(present, max_gap=max(3, round(gap_px)))
    if run is None:
        return None
    i0, i1 = run
    # The ends are where the line's signal falls to half its typical level, as
    # sizes are measured at half contrast: blur must not stretch a scratch.
    typical = median(along[i0 : i1 + 1][present[i0 : i1 + 1]])
    strong_end = np.nonzero(along[i0 : i1 + 1] >= 0.5 * typical)[0]
    if len(strong_end):
        i0, i1 = i0 + int(strong_end[0]), i0 + int(strong_end[-1])
    if i1 - i0 + 1 < 4:
        return None
    on = np.zeros(len(ts), bool)
    on[i0 : i1 + 1] = present[i0 : i1 + 1]
    # The typical cross-section, not the mean: where another scratch crosses, or a
    # particle sits on the line, a few rows hold the other feature as well.
    rows = signed[on]
    mean = np.median(rows, axis=0) if len(rows) >= 8 else rows.mean(axis=0)
    peak = float(mean[np.abs(offs) <= 2.0].max())
    if peak <= 0:
        return None
    # Integrate the cross-section out to where it has fallen into the noise.
    span = np.abs(offs) <= _support(mean, offs, peak)
    area = float(mean[span].sum()) * o_step
    if area <= 0:
        return None
    n_on = int(on.sum())
    if peak < 4.0 * noise_t / math.sqrt(max(n_on / 2.0, 1.0)):
        return None
    width = width_from_profile(area, peak, psf_px)
    t0, t1 = float(ts[i0]), float(ts[i1])
    # A scratch is long for its width; anything shorter and wider is a blob seen along a line.
    if t1 - t0 < MIN_ASPECT * max(width, 1.0):
        return None
    start = (mid[0] + ux * t0, mid[1] + uy * t0)
    end = (mid[0] + ux * t1, mid[1] + uy * t1)
    return Line(start_px=start, end_px=end, width_px=width, contrast=polarity * peak)


def _robust_line(t: np.ndarray, y: np.ndarray, tolerance: float = 0.75) -> tuple[float, float]:
    """Slope and intercept of y(t) that most rows agree with, refitted on those rows.

    Where another scratch crosses, the rows near the crossing see two lines and
    their centroids are pulled towards the other; a least-squares fit through all
    of them tilts. The line through two rows that the most rows lie on does not.
    """
    pick = np.unique(np.linspace(0, len(t) - 1, min(len(t), 40)).round().astype(int))
    ti, yi = t[pick], y[pick]
    i, j = np.triu_indices(len(pick), k=1)
    ok = np.abs(ti[j] - ti[i]) >= 4.0
    if not ok.any():
        b, a = np.polyfit(t, y, 1)
        return float(b), float(a)
    i, j = i[ok], j[ok]
    slope = (yi[j] - yi[i]) / (ti[j] - ti[i])
    icept = yi[i] - slope * ti[i]
    votes = (np.abs(y[None, :] - (icept[:, None] + slope[:, None] * t[None, :])) <= tolerance).sum(
        1
    )
    k = int(np.argmax(votes))
    near = np.abs(y - (icept[k] + slope[k] * t)) <= tolerance
    if near.sum() < 4:
        b, a = np.polyfit(t, y, 1)
        return float(b), float(a)
    b, a = np.polyfit(t[near], y[near], 1)
    return float(b), float(a)


def width_from_profile(area: float, peak: float, psf_px: float) -> float:
    """Width of a bar whose blurred cross-section has this area and peak.

    A bar of width w and contrast c blurred by a Gaussian of sigma s keeps its
    area c*w, while its peak drops to c*erf(w / (2*sqrt(2)*s)).
    """
    if psf_px < 0.2:
        return area / peak
    k = 2.0 * math.sqrt(2.0) * psf_px
    if peak >= area / (psf_px * math.sqrt(2.0 * math.pi)) * 0.999:
        return area / peak  # narrower than the optics resolve; report its equivalent width
    lo, hi = 1e-3, max(area / peak * 4.0, 10.0)
    for _ in range(60):
        mid = (lo + hi) / 2.0
        if area / mid * math.erf(mid / k) > peak:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


def _support(mean: np.ndarray, offs: np.ndarray, peak: float) -> float:
    """Half-width beyond which the cross-section is below a tenth of its peak."""
    centre = len(offs) // 2
    limit = float(offs[-1])
    for side in (1, -1):
        i = centre
        while 0 <= i < len(offs) and mean[i] > 0.1 * peak:
            i += side
        edge = abs(float(offs[min(max(i, 0), len(offs) - 1)]))
        limit = min(limit, edge) if side == -1 else edge
    return limit + 1.0


def _sample(img, mid, u, n, ts, offs) -> np.ndarray:
    mx = (mid[0] + ts[:, None] * u[0] + offs[None, :] * n[0]).astype(np.float32)
    my = (mid[1] + ts[:, None] * u[1] + offs[None, :] * n[1]).astype(np.float32)
    return cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _longest_run(flags: np.ndarray, max_gap: int) -> tuple[int, int] | None:
    """First and last index of the longest stretch of True, bridging short gaps."""
    idx = np.nonzero(flags)[0]
    if len(idx) == 0:
        return None
    best, start, prev = None, idx[0], idx[0]
    for i in idx[1:]:
        if i - prev > max_gap + 1:
            if best is None or prev - start > best[1] - best[0]:
                best = (start, prev)
            start = i
        prev = i
    if best is None or prev - start > best[1] - best[0]:
        best = (start, prev)
    return int(best[0]), int(best[1])


def merge_collinear(lines: list[Line]) -> list[Line]:
    """Pieces of one broken scratch that the filter did not bridge become one."""
    merged = list(lines)
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                a, b = merged[i], merged[j]
                if collinear(a, b):
                    merged[i] = _join(a, b)
                    del merged[j]
                    changed = True
                    break
            if changed:
                break
    return merged


def collinear(a: Line, b: Line) -> bool:
    va = np.subtract(a.end_px, a.start_px)
    vb = np.subtract(b.end_px, b.start_px)
    la, lb = np.linalg.norm(va), np.linalg.norm(vb)
    if la < 1e-6 or lb < 1e-6:
        return False
    cos = abs(float(va @ vb) / (la * lb))
    if cos < math.cos(math.radians(6)):
        return False
    if np.sign(a.contrast) != np.sign(b.contrast):
        return False
    # Perpendicular distance of b's ends from a's line, and the gap between them.
    pts = np.array([b.start_px, b.end_px])
    ux, uy = va / la
    rel = pts - np.array(a.start_px)
    perp = np.abs(rel[:, 0] * -uy + rel[:, 1] * ux)
    if perp.max() > max(3.0, a.width_px + b.width_px):
        return False
    along = rel @ np.array([ux, uy])
    gap = max(along.min() - la, -along.max(), 0.0)
    return gap <= 0.3 * (la + lb)


def _join(a: Line, b: Line) -> Line:
    pts = np.array([a.start_px, a.end_px, b.start_px, b.end_px])
    va = np.subtract(a.end_px, a.start_px)
    u = va / np.linalg.norm(va)
    proj = (pts - pts[0]) @ u
    i0, i1 = int(np.argmin(proj)), int(np.argmax(proj))
    la, lb = a.length_px, b.length_px
    return Line(
        start_px=tuple(pts[i0]),
        end_px=tuple(pts[i1]),
        width_px=(a.width_px * la + b.width_px * lb) / (la + lb),
        contrast=(a.contrast * la + b.contrast * lb) / (la + lb),
    )
