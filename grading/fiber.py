"""Grade one located fibre: detect, measure, place in zones, judge.

Each zone is searched at the resolution its rules need. Zones A and B judge
features of 1-5 um and are searched at full resolution; zone D (>= 10 um in
SM) is searched on a 3x coarser copy, which costs a tenth as much and finds a
10 um particle just as surely. A feature that runs from the fine area out into
the coarse one is measured whole by the coarse pass.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from grading.background import Background, Rings, fit_background
from grading.coverage import short_of_coverage, zone_coverage
from grading.locate import Circle
from grading.regions import Region, find_regions, region_from_pixels
from grading.results import ERROR, FAIL, PASS, Defect, FiberResult
from grading.rules import RuleSet, Zone
from grading.scratches import (
    MAX_GAP_UM,
    Line,
    collinear,
    find_lines,
    measure_line,
    merge_collinear,
)
from grading.sizing import Blob, deblurred, remeasure
from grading.structure import Structure, find_structure
from grading.verdict import failures
from grading.zones import place

SMOOTH_UM = 0.35  # pre-smoothing matched to the smallest features graded
MARGIN_UM = 8.0  # how far past the last fine zone the fine search looks
PX_PER_SMALLEST = 8.0  # a zone's smallest failing size spans at least this many pixels
SMEAR_UM = 1.5  # second look, smoothed this much, for faint but large residue
MIN_COARSE_PX = 16  # the coarse search keeps at least this many pixels across its disc
# Within this radius a particle on the core can cover every ring round the centre:
# there the clean-face model is held near the glass level (the single-mode core zone).
HOLD_UM = 12.5
EDGE_BAND_UM = 15.0  # from the end of the fine scratch search to beyond the epoxy ring


def grade_fiber(
    gray: np.ndarray,
    c: Circle,
    index: int,
    scale: float,
    ruleset: RuleSet,
    zones: tuple[Zone, ...],
    saturated: np.ndarray | None = None,
) -> FiberResult:
    judged = [z for z in zones if z.graded]
    coverage = zone_coverage(gray.shape, c.cx, c.cy, scale, zones)
    problem = short_of_coverage(coverage, zones)
    if problem:
        return FiberResult(
            index=index,
            center_px=(c.cx, c.cy),
            diameter_px=c.diameter,
            verdict=ERROR,
            error=problem,
            coverage=coverage,
        )
    structure = find_structure(gray, c, scale, ruleset.fiber)
    factors = {z.name: _factor(z, scale, ruleset.min_feature_um) for z in judged}
    fine_zones = [z for z in judged if factors[z.name] == 1]
    coarse = [f for f in factors.values() if f > 1]
    fine_um = max((z.outer_radius_um for z in fine_zones), default=0.0) + MARGIN_UM
    smooth_px = min(2.0, max(0.7, SMOOTH_UM / scale))
    blobs: list[Blob] = []
    lines: list[Line] = []  # in image pixels
    if fine_zones:
        fine = _Pass(
            gray, c, fine_um, 1, scale, ruleset.min_feature_um, smooth_px, structure, saturated
        )
        scratch_um = max((z.outer_radius_um for z in zones if z.scratch_limits), default=0.0)
        found: list[Line] = []
        if scratch_um > 0:
            bg = fine.bg
            found = find_lines(
                bg.residual, bg.sigma, bg.radius_px, fine_um / scale, scale, fine.psf_px
            )
        regions, found = _split_regions(fine.regions, found, fine, scale)
        blobs = [fine.to_blob(r) for r in regions]
        lines = [fine.line_to_image(ln) for ln in merge_collinear(found)]
    if coarse:
        outer_um = max(z.outer_radius_um for z in judged) + MARGIN_UM / 2
        wide = _Pass(
            gray, c, outer_um, min(coarse), scale, ruleset.min_feature_um, smooth_px, structure
        )
        # The fine scratches continue out here: their pieces are not blobs. The
        # fine search stopped short of the cladding edge, so each is carried on
        # outwards across the edge and the epoxy ring before pieces are matched.
        seeds = [wide.line_from_image(_outwards(ln, c, EDGE_BAND_UM / scale)) for ln in lines]
        regions, found = _split_regions(wide.regions, seeds, wide, scale)
        reach = [
            wide.full_resolution(gray, r, c, smooth_px)
            for r in regions
            if wide.to_blob(r).r_max_um > fine_um - 2.0 or not fine_zones
        ]
        for big in reach:
            blobs = [b for b in blobs if not _overlap(b, big, scale)]
        blobs += reach
        for ln in (wide.line_to_image(x) for x in found):
            same = [i for i, other in enumerate(lines) if collinear(ln, other)]
            if not same:
                lines.append(ln)
                continue
            i = same[0]
            ends = np.array([ln.start_px, ln.end_px])
            lines[i] = _lengthen(lines[i], ends[:, 0], ends[:, 1])
    defects = [d for d in (_blob_defect(b, ruleset, zones) for b in blobs) if d]
    defects += [d for d in (_line_defect(ln, c, scale, ruleset, zones) for ln in lines) if d]
    broken = failures(defects, zones)
    return FiberResult(
        index=index,
        center_px=(c.cx, c.cy),
        diameter_px=c.diameter,
        verdict=FAIL if broken else PASS,
        defects=tuple(sorted(defects, key=lambda d: (d.zone, d.kind, -d.size_um))),
        failures=tuple(broken),
        coverage=coverage,
    )


class _Pass:
    """One search of a disc around the fibre at one resolution."""

    def __init__(
        self,
        gray: np.ndarray,
        c: Circle,
        reach_um: float,
        factor: int,
        scale: float,
        min_feature_um: float,
        smooth_px: float,
        structure: Structure,
        saturated: np.ndarray | None = None,
    ) -> None:
        h, w = gray.shape
        reach = reach_um / scale + 2.0
        x0 = max(0, int(c.cx - reach))
        x1 = min(w, math.ceil(c.cx + reach) + 1)
        y0 = max(0, int(c.cy - reach))
        y1 = min(h, math.ceil(c.cy + reach) + 1)
        roi = gray[y0:y1, x0:x1]
        clipped = None
        # A rule that only counts huge features (a limit from 10 mm up) would shrink the
        # disc to nothing; no coarser than leaves MIN_COARSE_PX pixels across it.
        factor = max(1, min(factor, min(x1 - x0, y1 - y0) // MIN_COARSE_PX))
        if factor > 1:
            hh, ww = (y1 - y0) // factor, (x1 - x0) // factor
            roi = cv2.resize(
                roi[: hh * factor, : ww * factor], (ww, hh), interpolation=cv2.INTER_AREA
            )
            roi = cv2.GaussianBlur(roi, (0, 0), 0.7)
            self.psf_px = math.hypot(c.blur_px / factor, 0.7)
        else:
            raw = roi
            roi = cv2.GaussianBlur(roi, (0, 0), smooth_px)
            self.psf_px = math.hypot(c.blur_px, smooth_px)
            if saturated is not None and saturated[y0:y1, x0:x1].any():
                clipped = saturated[y0:y1, x0:x1]
        self.x0, self.y0, self.f = x0, y0, factor
        self.px_um = scale * factor
        self.cx = (c.cx - x0 + 0.5) / factor - 0.5
        self.cy = (c.cy - y0 + 0.5) / factor - 0.5
        glass = (c.r - 3.0 * c.blur_px - 2.0) / factor
        rings = Rings(
            edges=tuple((q.r_px / factor, q.width_px / factor) for q in structure.rings),
            knots=tuple((r / factor, *self.from_image((x, y))) for r, x, y in structure.knots(c)),
        )
        self.bg: Background = fit_background(
            roi,
            self.cx,
            self.cy,
            reach / factor,
            glass,
            rings=rings,
            hold_radius_px=HOLD_UM / self.px_um,
        )
        self.min_area = max(2.0, math.pi * (min_feature_um / 2.0 / self.px_um) ** 2 * 0.5)
        self.regions: list[Region] = find_regions(
            self.bg,
            reach_um / self.px_um,
            self.min_area,
            smear_px=SMEAR_UM / self.px_um,
            saturated=clipped,
            raw_residual=None if clipped is None else raw - self.bg.model,
            raw_psf_px=c.blur_px,
        )

    def blobs(self) -> list[Blob]:
        return [self.to_blob(r) for r in self.regions]

    def to_blob(self, r: Region) -> Blob:
        return Blob(
            center_px=self.to_image(r.center_px),
            size_um=deblurred(r.diameter_px, self.psf_px) * self.px_um,
            r_min_um=r.r_min_px * self.px_um,
            r_max_um=r.r_max_px * self.px_um,
            r_center_um=math.dist(r.center_px, (self.cx, self.cy)) * self.px_um,
        )

    def full_resolution(self, gray: np.ndarray, r: Region, c: Circle, smooth_px: float) -> Blob:
        """A blob of a coarse pass measured again on the full-resolution image."""
        if self.f == 1:
            return self.to_blob(r)
        fine = remeasure(
            gray,
            self.bg.model,
            self.f,
            (self.x0, self.y0),
            r,
            (c.cx, c.cy),
            self.px_um / self.f,
            smooth_px,
            math.hypot(c.blur_px, smooth_px),
        )
        return fine if fine is not None else self.to_blob(r)

    def to_image(self, p: tuple[float, float]) -> tuple[float, float]:
        f = self.f
        return ((p[0] + 0.5) * f - 0.5 + self.x0, (p[1] + 0.5) * f - 0.5 + self.y0)

    def from_image(self, p: tuple[float, float]) -> tuple[float, float]:
        f = self.f
        return ((p[0] - self.x0 + 0.5) / f - 0.5, (p[1] - self.y0 + 0.5) / f - 0.5)

    def line_from_image(self, ln: Line) -> Line:
        return Line(
            start_px=self.from_image(ln.start_px),
            end_px=self.from_image(ln.end_px),
            width_px=ln.width_px / self.f,
            contrast=ln.contrast,
        )

    def line_to_image(self, ln: Line) -> Line:
        return Line(
            start_px=self.to_image(ln.start_px),
            end_px=self.to_image(ln.end_px),
            width_px=ln.width_px * self.f,
            contrast=ln.contrast,
        )


def _factor(zone: Zone, scale: float, min_feature_um: float) -> int:
    sizes = [max(lim.lower_um, min_feature_um) for lim in zone.scratch_limits + zone.defect_limits]
    smallest = min(sizes) if sizes else min_feature_um
    return max(1, int(smallest / (scale * PX_PER_SMALLEST)))


def _overlap(a: Blob, b: Blob, scale: float) -> bool:
    d_um = math.dist(a.center_px, b.center_px) * scale
    return d_um < (a.size_um + b.size_um) / 2.0


def _split_regions(
    regions: list[Region], lines: list[Line], view: _Pass, scale: float
) -> tuple[list[Region], list[Line]]:
    """Separate scratches from blobs.

    A "line" that is mostly a row of compact blobs is not a scratch (neighbouring
    particles must each be counted). A blob lying along a scratch, or along its
    continuation across a break, is a piece of it and the scratch grows to cover
    it. A long thin blob is a scratch the line filter did not reach. What is left
    of a blob once a scratch's band is taken out (a particle sitting on a
    scratch) is measured as a blob of its own: a scratch never hides a particle.
    """
    psf_px = view.psf_px
    gap_px = MAX_GAP_UM / view.px_um
    lines = [ln for ln in lines if not _made_of_blobs(ln, regions, psf_px, gap_px)]
    pending = [(r, 0) for r in regions]
    grew = True
    while grew:
        grew = False
        still: list[tuple[Region, int]] = []
        for region, depth in pending:
            px, py = _pixels(region)
            for i, ln in enumerate(lines):
                band = ln.distance(px, py, gap_px) <= _half_band(ln, psf_px)
                if band.mean() >= 0.8:
                    lines[i] = _lengthen(ln, px[band], py[band])
                    grew = True
                    break
            else:
                still.append((region, depth))
        pending = still
    kept: list[Region] = []
    while pending:
        region, depth = pending.pop(0)
        px, py = _pixels(region)
        in_band = _in_bands(lines, px, py, psf_px, gap_px)
        long_um = region.length_px * view.px_um
        if (
            in_band.mean() < 0.8
            and region.elongation >= 4.0
            and long_um >= 8.0
            and depth < 2
            and not _beaded(region)
        ):
            line = measure_line(
                view.bg.residual,
                view.bg.sigma,
                region.center_px,
                region.axis,
                region.length_px / 2.0,
                psf_px,
                gap_px,
            )
            if line is not None:
                if not any(collinear(line, other) for other in lines):
                    lines.append(line)
                in_band |= _in_bands([line], px, py, psf_px, gap_px)
        if not in_band.any():
            kept.append(region)
            continue
        # What is left may be a particle, or the rest of a scratch broken by one.
        xs, ys = px.astype(int), py.astype(int)
        for rest in _leftovers(xs, ys, in_band, view.bg.radius_px, view.min_area, psf_px):
            if depth < 1 and rest.elongation >= 4.0 and rest.length_px * view.px_um >= 8.0:
                pending.append((rest, depth + 1))
            else:
                kept.append(rest)
    return kept, lines


def _beaded(region: Region) -> bool:
    """Whether a long region is a row of round blobs joined by thin necks, not a line.

    Two particles side by side merge into one long region on a coarse copy. A
    scratch broken in places merges the same way, but each of its pieces is long
    for its width; a bead is about as long as it is wide.
    """
    px, py = _pixels(region)
    ax, ay = region.axis
    t = (px - px.mean()) * ax + (py - py.mean()) * ay
    counts = np.bincount(np.round(t - t.min()).astype(int)).astype(float)
    if len(counts) < 6:
        return False
    width = np.convolve(counts, np.ones(3) / 3.0, mode="same")
    neck = width < 0.4 * width.max()
    neck[[0, -1]] = False  # the ends taper; only a narrowing between pieces is a neck
    pieces, start = [], 0
    for k in range(1, len(width) + 1):
        if k == len(width) or neck[k] != neck[start]:
            if not neck[start]:
                pieces.append(width[start:k])
            start = k
    if len(pieces) < 2:
        return False
    return all(len(piece) < 2.5 * piece.max() for piece in pieces)


def _pixels(region: Region) -> tuple[np.ndarray, np.ndarray]:
    x, y, _, _ = region.mask_bbox
    ys, xs = np.nonzero(region.mask)
    return (xs + x).astype(float), (ys + y).astype(float)


def _half_band(line: Line, psf_px: float) -> float:
    return line.width_px / 2.0 + 1.0 + psf_px


def _lengthen(line: Line, px: np.ndarray, py: np.ndarray) -> Line:
    """The same scratch, its ends moved out to cover pixels found beyond them."""
    (ax, ay), (bx, by) = line.start_px, line.end_px
    length = math.hypot(bx - ax, by - ay) or 1e-6
    ux, uy = (bx - ax) / length, (by - ay) / length
    t = (px - ax) * ux + (py - ay) * uy
    t0, t1 = min(0.0, float(t.min())), max(length, float(t.max()))
    return Line(
        start_px=(ax + ux * t0, ay + uy * t0),
        end_px=(ax + ux * t1, ay + uy * t1),
        width_px=line.width_px,
        contrast=line.contrast,
    )


def _made_of_blobs(line: Line, regions: list[Region], psf_px: float, gap_px: float) -> bool:
    """True when compact blobs, and the gaps the line filter bridged between
    them, account for most of a line's length."""
    length = line.length_px
    if length <= 0:
        return True
    u = np.subtract(line.end_px, line.start_px) / length
    covered: list[tuple[float, float]] = []
    for region in regions:
        if region.elongation >= 2.5:
            continue
        x, y, _, _ = region.mask_bbox
        ys, xs = np.nonzero(region.mask)
        px, py = (xs + x).astype(float), (ys + y).astype(float)
        across = (py - line.start_px[1]) * u[0] - (px - line.start_px[0]) * u[1]
        # A blob on the line: mostly within its band, or wider than the line and
        # crossed by it (a "scratch" drawn through a row of larger particles).
        on_band = np.mean(line.distance(px, py) <= line.width_px / 2.0 + 1.0 + psf_px) >= 0.5
        crossed = across.min() < 0.0 < across.max() and np.ptp(across) >= line.width_px
        if not (on_band or crossed):
            continue
        t = (px - line.start_px[0]) * u[0] + (py - line.start_px[1]) * u[1]
        covered.append((float(t.min()) - gap_px / 2.0, float(t.max()) + gap_px / 2.0))
    if not covered:
        return False
    covered.sort()
    total, (a, b) = 0.0, covered[0]
    for lo, hi in covered[1:]:
        if lo > b:
            total += b - a
            a, b = lo, hi
        else:
            b = max(b, hi)
    total += b - a
    return total >= 0.6 * length


def _in_bands(
    lines: list[Line], px: np.ndarray, py: np.ndarray, psf_px: float, gap_px: float
) -> np.ndarray:
    """Pixels within a scratch's band (its ends lengthened by half a bridged gap)."""
    inside = np.zeros(px.shape, bool)
    for ln in lines:
        inside |= ln.distance(px, py, gap_px / 2.0) <= _half_band(ln, psf_px)
    return inside


def _leftovers(
    xs: np.ndarray,
    ys: np.ndarray,
    in_band: np.ndarray,
    radius_px: np.ndarray,
    min_area: float,
    psf_px: float,
) -> list[Region]:
    """Parts of a blob outside scratch bands, each grown back over the band it touches."""
    rest = ~in_band
    if rest.sum() < min_area:
        return []
    x0, y0 = int(xs.min()), int(ys.min())
    canvas = np.zeros((int(ys.max()) - y0 + 1, int(xs.max()) - x0 + 1), np.uint8)
    canvas[ys[rest] - y0, xs[rest] - x0] = 1
    n, labels = cv2.connectedComponents(canvas, connectivity=8)
    band = np.zeros_like(canvas)
    band[ys[in_band] - y0, xs[in_band] - x0] = 1
    reach = max(1, round(2.0 + psf_px))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    out: list[Region] = []
    for i in range(1, n):
        part = (labels == i).astype(np.uint8)
        if part.sum() < min_area:
            continue
        # The particle's own pixels inside the band: those next to its visible part.
        grown = part | (cv2.dilate(part, kernel) & band)
        gy, gx = np.nonzero(grown)
        out.append(region_from_pixels(gx + x0, gy + y0, radius_px))
    return out


def _blob_defect(b: Blob, ruleset: RuleSet, zones: tuple[Zone, ...]) -> Defect | None:
    if b.size_um < ruleset.min_feature_um:
        return None
    zone = place(
        "defect", b.size_um, b.r_min_um, b.r_max_um, b.r_center_um, zones, ruleset.straddle
    )
    if zone is None:
        return None
    return Defect(kind="defect", zone=zone.name, size_um=b.size_um, center_px=b.center_px)


def _line_defect(
    line: Line, c: Circle, scale: float, ruleset: RuleSet, zones: tuple[Zone, ...]
) -> Defect | None:
    cx, cy = c.cx, c.cy
    width_um = line.width_px * scale
    if width_um < ruleset.min_feature_um * 0.5:
        return None
    near = float(line.distance(np.array([cx]), np.array([cy]))[0])
    far = max(math.dist(line.start_px, (cx, cy)), math.dist(line.end_px, (cx, cy)))
    half = line.width_px / 2.0
    # The measured ends already include the scratch's tip: its width counts only
    # where the nearest point is along its side, not at an end.
    reach_in = near - half if _foot_inside(line, cx, cy) else near
    far = math.hypot(far, half)
    zone = place(
        "scratch",
        width_um,
        max(0.0, reach_in) * scale,
        far * scale,
        near * scale,
        zones,
        ruleset.straddle,
    )
    if zone is None:
        return None
    return Defect(
        kind="scratch",
        zone=zone.name,
        size_um=width_um,
        center_px=line.center_px,
        length_um=line.length_px * scale,
        ends_px=(line.start_px, line.end_px),
    )


def _foot_inside(line: Line, x: float, y: float) -> bool:
    """Whether the perpendicular from (x, y) meets the segment between its ends."""
    (ax, ay), (bx, by) = line.start_px, line.end_px
    dx, dy = bx - ax, by - ay
    l2 = dx * dx + dy * dy
    if l2 == 0:
        return False
    t = ((x - ax) * dx + (y - ay) * dy) / l2
    return 0.0 < t < 1.0


def _outwards(line: Line, c: Circle, extra_px: float) -> Line:
    """The line lengthened at its end farther from the fibre centre."""
    a, b = np.array(line.start_px), np.array(line.end_px)
    if math.dist(a, (c.cx, c.cy)) > math.dist(b, (c.cx, c.cy)):
        a, b = b, a
    u = (b - a) / (np.linalg.norm(b - a) or 1.0)
    b = b + u * extra_px
    return Line(start_px=tuple(a), end_px=tuple(b), width_px=line.width_px, contrast=line.contrast)
