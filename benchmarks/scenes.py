"""Random end faces with known truth, for the accuracy benchmark.

Sizes are drawn clearly away from every threshold of the rule set in use, and
features clearly away from zone boundaries, so that the truth verdict is not a
matter of a tenth of a micrometre. The truth verdict is computed with the same
rule engine the station uses, from the renderer's exact geometry.

Two kinds of case: today's (the classic look at 0.24-0.45 um/px, as the
benchmark drew them before issue 10) and wide ones, drawn from every look
family at 0.25-0.8 um/px, on sensors of several sizes, with the fibre off
centre so that zone D often runs off the frame. A fibre whose zones are not
covered enough (A, B, C whole; D at least half, unless the rule set says
otherwise) must be an ``error``; coverages too near that limit are not drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from grading import load_rules
from grading.geometry import connector
from grading.results import Defect
from grading.rules import RuleSet, Zone
from grading.verdict import failures
from grading.zones import place
from hardware.optics.looks import VIDEO_FORMATS, Appearance, look
from hardware.optics.render import PixelGrid
from hardware.optics.scene import Feature, Scene, View, scene_from_layout

# (connector, rule set, fibre type)
HIGH_MAG_CASES = [
    ("lc-upc", "iec-61300-3-35-ed2/sm-pc", "sm"),
    ("sc-upc", "iec-61300-3-35-ed2/sm-pc", "sm"),
    ("lc-apc", "iec-61300-3-35-ed2/sm-apc", "sm"),
    ("sc-apc", "iec-61300-3-35-ed2/sm-apc", "sm"),
    ("lc-upc", "iec-61300-3-35-ed2/mm-pc", "mm"),
    ("mpo12", "iec-61300-3-35-ed2/sm-apc", "sm"),
    ("mpo12", "iec-61300-3-35-ed2/mm-pc", "mm"),
    ("mpo24", "iec-61300-3-35-ed2/mm-pc", "mm"),
    ("mpo8", "iec-61300-3-35-ed2/sm-apc", "sm"),
    ("mpo16", "iec-61300-3-35-ed2/sm-apc", "sm"),
    ("mpo32", "iec-61300-3-35-ed2/mm-pc", "mm"),
]
OVERVIEW_CONNECTORS = ["mpo8", "mpo12", "mpo16", "mpo24", "mpo32"]
BOUNDARY_MARGIN_UM = 1.5
SEPARATION_UM = 4.0
FRAME_MARGIN_PX = 4.0  # features are drawn wholly inside the frame, this far in

FAMILIES = (
    "classic",
    "zirconia-dark",
    "mm-core-bright",
    "mm-core-dark",
    "sm-core-dot",
    "analog-video",
)
FAMILY_FIBRES = {
    "classic": ("sm", "mm"),
    "zirconia-dark": ("sm", "mm"),
    "mm-core-bright": ("mm",),
    "mm-core-dark": ("mm",),
    "sm-core-dot": ("sm",),
    "analog-video": ("sm", "mm"),
}
SCALE_RANGE = (0.25, 0.8)
SCALE_BINS = ((0.25, 0.35), (0.35, 0.5), (0.5, 0.65), (0.65, 0.8))
SENSORS = ((1280, 960), (800, 600), (640, 480))
DEFAULT_MIN_COVERAGE = {"A": 1.0, "B": 1.0, "C": 1.0, "D": 0.5}
COVERAGE_DOUBT = 0.05  # zone shares this near a limit are not drawn...
WHOLE_DOUBT = 0.02  # ...nor this near whole when a zone must be whole
TODAY_SHARE = 0.25  # of the cases drawn as the benchmark drew them before


@dataclass(frozen=True)
class Case:
    kind: str  # "fiber" (gradeable high-magnification view) or "overview"
    connector: str
    rules: str
    scene: Scene
    view: View
    give_scale: bool
    seed: int
    family: str = "classic"  # the look's family name
    origin: str = "today"  # "today" (the old draw) or "wide" (issue 10's)
    target_um: tuple[float, float] | None = None  # the fibre the view was aimed at


@dataclass(frozen=True)
class TruthFiber:
    number: int
    center_px: tuple[float, float]
    verdict: str  # "pass", "fail", or "error" when its zones are not covered enough
    defects: tuple[Defect, ...]  # with truth sizes; center_px in image pixels
    coverage: dict[str, float] = field(default_factory=dict)  # zone -> share in the frame
    reason: str | None = None  # why the verdict must be "error"


def scale_bin(s: float) -> str:
    last = SCALE_BINS[-1][1]
    for lo, hi in SCALE_BINS:
        if lo <= s < hi or (hi == last and s == hi):  # the last bin holds its top
            return f"{lo:.2f}-{hi:.2f}"
    return "below-0.25" if s < SCALE_BINS[0][0] else "above-0.80"


def min_coverage(rules: RuleSet) -> dict[str, float]:
    """Least share of each zone that must be in the frame (the rule set's, if it says)."""
    out = dict(DEFAULT_MIN_COVERAGE)
    table = getattr(rules, "min_coverage", None)
    if isinstance(table, dict):
        out.update({str(k): float(v) for k, v in table.items()})
    for z in rules.zones:
        v = getattr(z, "min_coverage", None)
        if v is not None:
            out[z.name] = float(v)
    return out


def random_case(rng: np.random.Generator, seed: int, family: str | None = None) -> Case:
    """Today's draw for a quarter of the cases, else a wide one (of ``family`` if given)."""
    if family is None and rng.random() < TODAY_SHARE:
        return today_case(rng, seed)
    name = family or FAMILIES[int(rng.integers(len(FAMILIES)))]
    return wide_case(rng, seed, name)


def today_case(rng: np.random.Generator, seed: int) -> Case:
    if rng.random() < 0.1:
        return _overview_case(rng, seed)
    conn, rules_name, fiber = HIGH_MAG_CASES[rng.integers(len(HIGH_MAG_CASES))]
    geometry = connector(conn)
    rules = load_rules(rules_name)
    zones = rules.zones_for(geometry.is_multi_fiber)
    target = int(rng.integers(geometry.fiber_count))
    fx, fy = geometry.fiber_positions_um[target]
    features: list[Feature] = []
    mode = rng.random()
    if mode < 0.25:
        count = 0
    elif mode < 0.4:
        count = -1  # a cluster of mid-size particles in zone B: the count limits
    elif mode < 0.8:
        count = int(rng.integers(1, 3))
    else:
        count = int(rng.integers(3, 7))
    if count == -1:
        features += _cluster(rng, rules, zones, (fx, fy), features)
    else:
        for _ in range(count):
            f = _random_feature(rng, rules, zones, (fx, fy), features)
            if f is not None:
                features.append(f)
    if geometry.is_multi_fiber:
        # Dirt on the plastic around the fibre: visible, never graded.
        for _ in range(int(rng.integers(0, 3))):
            a = rng.uniform(0, 2 * math.pi)
            r = rng.uniform(80, 110)
            features.append(
                Feature(
                    "particle",
                    (fx + r * math.cos(a), fy + r * math.sin(a)),
                    float(rng.uniform(3, 12)),
                    contrast=float(rng.uniform(-0.6, -0.3)),
                    seed=int(rng.integers(1 << 30)),
                )
            )
    scene = scene_from_layout(
        geometry, fiber, tuple(features), texture_seed=int(rng.integers(1 << 30))
    )
    jitter = 12.0
    # A single-fibre view must hold zone D (250 um) with the jitter; an MT view, zone B.
    s_min = (250.0 + 2 * jitter + 10.0) / 960.0 if not geometry.is_multi_fiber else 0.24
    s = float(rng.uniform(s_min, 0.45))
    view = View(
        center_um=(fx + rng.uniform(-jitter, jitter), fy + rng.uniform(-jitter, jitter)),
        um_per_px=s,
        **_optics(rng, vignetting=0.3, exposure=(0.75, 1.1)),
    )
    return Case("fiber", conn, rules_name, scene, view, give_scale=rng.random() < 0.8, seed=seed)


def wide_case(rng: np.random.Generator, seed: int, family: str) -> Case:
    """A fibre view in ``family``'s look at 0.25-0.8 um/px, zone D often cut by the frame."""
    fibre_kind = FAMILY_FIBRES[family][int(rng.integers(len(FAMILY_FIBRES[family])))]
    options = [c for c in HIGH_MAG_CASES if c[2] == fibre_kind]
    conn, rules_name, fiber = options[int(rng.integers(len(options)))]
    if fiber == "mm" and rng.random() < 0.4:
        fiber = "mm62"
    geometry = connector(conn)
    rules = load_rules(rules_name)
    zones = rules.zones_for(geometry.is_multi_fiber)
    target = int(rng.integers(geometry.fiber_count))
    fx, fy = geometry.fiber_positions_um[target]
    view = None
    for _ in range(40):
        view = _wide_view(rng, family, (fx, fy), zones, min_coverage(rules))
        if view is not None:
            break
    if view is None:  # every draw was near a coverage limit: a centred view
        view = _wide_view(rng, family, (fx, fy), zones, {}, centred=True)
    grid = PixelGrid(view)
    features: list[Feature] = []
    mode = rng.random()
    count = (
        0 if mode < 0.25 else (int(rng.integers(1, 3)) if mode < 0.7 else int(rng.integers(3, 7)))
    )
    if 0.25 <= mode < 0.35:
        features += [
            f for f in _cluster(rng, rules, zones, (fx, fy), features) if _in_frame(f, grid)
        ]
    else:
        for _ in range(count):
            for _ in range(5):
                f = _random_feature(rng, rules, zones, (fx, fy), features, particle_um=(1.0, 40.0))
                if f is not None and _in_frame(f, grid):
                    features.append(f)
                    break
    scene = scene_from_layout(
        geometry, fiber, tuple(features), texture_seed=int(rng.integers(1 << 30))
    )
    return Case(
        "fiber",
        conn,
        rules_name,
        scene,
        view,
        give_scale=rng.random() < 0.7,
        seed=seed,
        family=family,
        origin="wide",
        target_um=(fx, fy),
    )


def _optics(rng: np.random.Generator, vignetting: float, exposure: tuple[float, float]) -> dict:
    """A probe's blur, noise and lighting, drawn in one order for every kind of case."""
    return dict(
        blur_um=float(rng.uniform(0.3, 0.8)),
        noise=float(rng.uniform(0.006, 0.02)),
        light_gradient=float(rng.uniform(0.0, 0.4)),
        light_angle_deg=float(rng.uniform(0, 360)),
        vignetting=float(rng.uniform(0.0, vignetting)),
        exposure=float(rng.uniform(*exposure)),
    )


def vary(ap: Appearance, rng: np.random.Generator) -> Appearance:
    """The family's look with its levels and ring widths moved a little, as frames differ."""

    def level(v: float, spread: float = 0.04) -> float:
        return float(np.clip(v + rng.uniform(-spread, spread), 0.02, 0.98))

    changes = dict(
        ceramic=level(ap.ceramic),
        plastic=level(ap.plastic),
        cladding=level(ap.cladding),
        adhesive=level(ap.adhesive),
        grain=float(ap.grain * rng.uniform(0.7, 1.3)),
    )
    if ap.core_contrast is not None:
        changes["core_contrast"] = float(ap.core_contrast * rng.uniform(0.7, 1.3))
    if ap.adhesive_width_um is not None and ap.adhesive_width_um >= 5:
        changes["adhesive_width_um"] = float(rng.uniform(5.0, 15.0))
    if ap.rim_width_um:
        changes["rim_width_um"] = float(rng.uniform(0.0, 1.5))
    if ap.interlace_px:
        changes["interlace_px"] = float(rng.uniform(0.2, 0.8))
        changes["jpeg_quality"] = int(rng.integers(70, 92))
        changes["jpeg_pad_bytes"] = int(rng.choice([32768, 65536]))
    return replace(ap, **changes)


def _wide_view(
    rng: np.random.Generator,
    family: str,
    centre: tuple[float, float],
    zones: tuple[Zone, ...],
    least: dict[str, float],
    centred: bool = False,
) -> View | None:
    """A view whose zone shares are all clearly above or below their limits, else None."""
    ap = vary(look(family), rng)
    s = float(rng.uniform(*SCALE_RANGE))
    aspect = 1.0
    if ap.is_video:
        w, h, aspect = VIDEO_FORMATS["pal" if rng.random() < 0.6 else "ntsc"]
    else:
        fits = [wh for wh in SENSORS if min(wh[0] * s, wh[1] * s) >= 135.0 + 20.0]
        w, h = fits[int(rng.integers(len(fits)))] if fits else SENSORS[0]
    fw, fh = w * s, h * s / aspect
    # Mostly near the centre, the cladding and zone C in view with room to spare;
    # else near an edge (zone D cut) or in a corner (zone C short of whole too),
    # the cladding always whole.
    where = 0.0 if centred else rng.random()
    if where < 0.6:
        room = [max(0.0, min(40.0, f / 2 - 71.5)) for f in (fw, fh)]
        off = (0.0, 0.0) if centred else tuple(rng.uniform(-r, r) for r in room)
    else:
        corner = where >= 0.85
        axis = int(rng.integers(2))
        off = tuple(
            float(rng.choice([-1, 1]))
            * max(0.0, f / 2 - rng.uniform(63.5, 68.0 if corner else 130.0))
            if corner or i == axis
            else 0.0
            for i, f in enumerate((fw, fh))
        )
    view = View(
        center_um=(centre[0] - off[0], centre[1] - off[1]),
        um_per_px=s,
        width_px=w,
        height_px=h,
        pixel_aspect=aspect,
        appearance=ap,
        **_optics(rng, vignetting=0.2, exposure=(0.8, 1.05)),
    )
    if centred:
        return view
    shares = view.coverage(centre, zones)
    for name, share in shares.items():
        limit = least.get(name, 0.0)
        if limit >= 1.0 and 1.0 - WHOLE_DOUBT < share < 1.0:
            return None
        if limit < 1.0 and abs(share - limit) < COVERAGE_DOUBT:
            return None
    return view


def _in_frame(f: Feature, grid: PixelGrid) -> bool:
    pts = grid.points_to_px(f.outline_um())
    w, h = grid.view.width_px, grid.view.height_px
    m = FRAME_MARGIN_PX
    return bool(
        pts[:, 0].min() >= m
        and pts[:, 1].min() >= m
        and pts[:, 0].max() <= w - 1 - m
        and pts[:, 1].max() <= h - 1 - m
    )


def _overview_case(rng: np.random.Generator, seed: int) -> Case:
    conn = OVERVIEW_CONNECTORS[rng.integers(len(OVERVIEW_CONNECTORS))]
    geometry = connector(conn)
    rules_name = "iec-61300-3-35-ed2/mm-pc"
    xs = [p[0] for p in geometry.fiber_positions_um]
    span = max(xs) - min(xs) + 125.0 + 300.0
    s = span / 1280.0 * float(rng.uniform(1.0, 1.25))
    features = tuple(
        Feature(
            "particle",
            (float(rng.uniform(-2500, 2500)), float(rng.uniform(-900, 900))),
            float(rng.uniform(8, 40)),
            contrast=float(rng.uniform(-0.6, -0.3)),
            seed=int(rng.integers(1 << 30)),
        )
        for _ in range(int(rng.integers(0, 8)))
    )
    scene = scene_from_layout(geometry, "mm", features, texture_seed=int(rng.integers(1 << 30)))
    view = View(
        center_um=(float(rng.uniform(-40, 40)), float(rng.uniform(-40, 40))),
        um_per_px=s,
        blur_um=float(rng.uniform(1.0, 2.5)),
        noise=float(rng.uniform(0.006, 0.02)),
        light_gradient=float(rng.uniform(0.0, 0.4)),
        light_angle_deg=float(rng.uniform(0, 360)),
        vignetting=float(rng.uniform(0.0, 0.3)),
    )
    return Case("overview", conn, rules_name, scene, view, give_scale=rng.random() < 0.5, seed=seed)


def forbidden_bands(rules: RuleSet, kind: str) -> list[tuple[float, float]]:
    """Size ranges too close to a threshold to have an unambiguous truth."""
    edges = {rules.min_feature_um}
    for z in rules.zones:
        for lim in z.limits(kind):
            for v in (lim.from_um, lim.above_um, lim.to_um, lim.below_um):
                if v is not None:
                    edges.add(v)
    return [(t - max(0.6, 0.12 * t), t + max(0.6, 0.12 * t)) for t in edges]


def _size(
    rng: np.random.Generator, lo: float, hi: float, bands: list[tuple[float, float]]
) -> float:
    for _ in range(200):
        s = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        if not any(a <= s <= b for a, b in bands):
            return float(s)
    return float(hi)


def _random_feature(
    rng, rules: RuleSet, zones, centre, existing, particle_um=(1.6, 25.0)
) -> Feature | None:
    for _ in range(60):
        kind = ["particle", "particle", "pit", "chip", "residue", "scratch", "scratch"][
            rng.integers(7)
        ]
        f = _draw(rng, kind, rules, zones, centre, particle_um)
        if f is not None and _clear_of(f, existing) and _unambiguous(f, centre, zones):
            return f
    return None


def _cluster(rng, rules: RuleSet, zones, centre, existing) -> list[Feature]:
    """Several particles of the same mid size in zone B, to exercise count limits."""
    zone_b = next((z for z in zones if z.name == "B"), zones[-1])
    bands = forbidden_bands(rules, "defect")
    sized = [lim for lim in zone_b.defect_limits if lim.max_count > 0]
    if sized:
        lim = sized[0]
        lo = (lim.from_um or lim.above_um or 1.6) + 0.7
        hi = (lim.to_um or lim.below_um or lo + 3) - 0.7
    else:
        lo, hi = 2.6, 4.4
    out: list[Feature] = []
    for _ in range(int(rng.integers(3, 9))):
        for _ in range(60):
            size = _size(rng, lo, max(hi, lo + 0.1), bands)
            r = rng.uniform(
                zone_b.inner_radius_um + size / 2 + BOUNDARY_MARGIN_UM,
                zone_b.outer_radius_um - size / 2 - BOUNDARY_MARGIN_UM,
            )
            a = rng.uniform(0, 2 * math.pi)
            f = Feature(
                "particle",
                (centre[0] + r * math.cos(a), centre[1] + r * math.sin(a)),
                size,
                contrast=float(rng.uniform(-0.65, -0.35)),
                seed=int(rng.integers(1 << 30)),
            )
            if _clear_of(f, existing + out):
                out.append(f)
                break
    return out


def _draw(rng, kind: str, rules: RuleSet, zones, centre, particle_um=(1.6, 25.0)) -> Feature | None:
    cx, cy = centre
    outer = zones[-1].outer_radius_um
    seed = int(rng.integers(1 << 30))
    if kind == "scratch":
        bands = forbidden_bands(rules, "scratch")
        width = _size(rng, 1.2, 7.0, bands)
        length = float(rng.uniform(15, 70))
        r = rng.uniform(0, min(outer, 57.5))
        a = rng.uniform(0, 2 * math.pi)
        contrast = (
            float(rng.uniform(-0.35, -0.12))
            if rng.random() < 0.8
            else float(rng.uniform(0.12, 0.25))
        )
        return Feature(
            "scratch",
            (cx + r * math.cos(a), cy + r * math.sin(a)),
            width,
            contrast=contrast,
            length_um=length,
            angle_deg=float(rng.uniform(0, 180)),
            gaps=int(rng.integers(0, 3)),
            seed=seed,
        )
    bands = forbidden_bands(rules, "defect")
    if kind == "chip":
        size = _size(rng, 3.0, 12.0, bands)
        a = rng.uniform(0, 2 * math.pi)
        return Feature(
            "chip", (cx + 62.5 * math.cos(a), cy + 62.5 * math.sin(a)), size, -0.6, seed=seed
        )
    lo, hi, contrast = {
        "particle": (*particle_um, (-0.7, -0.35)),
        "pit": (1.6, 8.0, (-0.7, -0.4)),
        "residue": (8.0, 40.0, (-0.2, -0.1)),
    }[kind]
    size = _size(rng, lo, hi, bands)
    zone = zones[int(rng.integers(len(zones)))]
    r_lo = zone.inner_radius_um + size / 2 + BOUNDARY_MARGIN_UM
    r_hi = zone.outer_radius_um - size / 2 - BOUNDARY_MARGIN_UM
    if zone.inner_radius_um == 0:
        r_lo = 0.0
    if r_hi < r_lo:
        return None
    r = rng.uniform(r_lo, r_hi)
    a = rng.uniform(0, 2 * math.pi)
    c = float(rng.uniform(*contrast))
    if kind == "particle" and rng.random() < 0.15:
        c = float(rng.uniform(0.25, 0.5))  # a bright (reflective) particle
    return Feature(kind, (cx + r * math.cos(a), cy + r * math.sin(a)), size, contrast=c, seed=seed)


def _extent(f: Feature, centre) -> tuple[float, float, float]:
    """Nearest and farthest reach from the fibre centre, and the centre's distance."""
    c = np.asarray(centre, dtype=float)
    if f.kind == "scratch":
        a = math.radians(f.angle_deg)
        d = np.array([math.cos(a), math.sin(a)])
        p0 = np.asarray(f.center_um) - d * f.length_um / 2
        p1 = np.asarray(f.center_um) + d * f.length_um / 2
        t = np.clip(np.dot(c - p0, p1 - p0) / np.dot(p1 - p0, p1 - p0), 0, 1)
        near = float(np.linalg.norm(p0 + t * (p1 - p0) - c))
        far = max(float(np.linalg.norm(p0 - c)), float(np.linalg.norm(p1 - c)))
        return max(0.0, near - f.size_um / 2), far + f.size_um / 2, near
    pts = f.outline_um()
    dist = np.hypot(pts[:, 0] - c[0], pts[:, 1] - c[1])
    inner = 0.0 if _contains(pts, c) else float(dist.min())
    return inner, float(dist.max()), float(np.linalg.norm(np.asarray(f.center_um) - c))


def _contains(pts: np.ndarray, p: np.ndarray) -> bool:
    import cv2

    return cv2.pointPolygonTest(pts.astype(np.float32), (float(p[0]), float(p[1])), False) >= 0


def _unambiguous(f: Feature, centre, zones) -> bool:
    lo, hi, _ = _extent(f, centre)
    for z in zones:
        for b in (z.inner_radius_um, z.outer_radius_um):
            if b > 0 and (abs(lo - b) < BOUNDARY_MARGIN_UM or abs(hi - b) < BOUNDARY_MARGIN_UM):
                return False
    return True


def _clear_of(f: Feature, others) -> bool:
    pf = _points(f)
    for o in others:
        po = _points(o)
        d = np.min(np.hypot(pf[:, None, 0] - po[None, :, 0], pf[:, None, 1] - po[None, :, 1]))
        if d < SEPARATION_UM + (f.size_um + o.size_um) / 2:
            return False
    return True


def _points(f: Feature) -> np.ndarray:
    if f.kind != "scratch":
        return np.asarray([f.center_um], dtype=float)
    a = math.radians(f.angle_deg)
    d = np.array([math.cos(a), math.sin(a)])
    t = np.linspace(-f.length_um / 2, f.length_um / 2, 25)
    return np.asarray(f.center_um) + t[:, None] * d[None, :]


def truth_for(case: Case, frame_truth) -> list[TruthFiber]:
    """The verdict a perfect grader would give each fully visible fibre."""
    geometry = connector(case.connector)
    rules = load_rules(case.rules)
    zones: tuple[Zone, ...] = rules.zones_for(geometry.is_multi_fiber)
    least = min_coverage(rules)
    coarsest = max(frame_truth.um_per_px, frame_truth.um_per_px_y or frame_truth.um_per_px)
    out = []
    for ft in frame_truth.fibers:
        if not ft.fully_visible:
            continue
        coverage = frame_truth.coverage(ft, zones)
        short = [z.name for z in zones if coverage[z.name] < least.get(z.name, 0.0) - 1e-6]
        reason = None
        if coarsest > rules.max_um_per_px * (1 + 1e-9):
            # Coarser than the rule set can be judged at: "not judged" is the only answer.
            reason = f"scale {coarsest:.3g} um/px coarser than {rules.max_um_per_px:g}"
        elif short:
            reason = "zone coverage too low (" + ", ".join(short) + "): centre the fibre"
        if reason is not None:
            out.append(TruthFiber(ft.number, ft.center_px, "error", (), coverage, reason))
            continue
        defects = []
        for f, t in zip(case.scene.features, frame_truth.features, strict=True):
            if f.size_um < rules.min_feature_um and f.kind != "scratch":
                continue
            lo, hi, mid = _extent(f, ft.center_um)
            kind = f.standard_kind
            zone = place(kind, f.size_um, lo, hi, mid, zones, rules.straddle)
            if zone is None:
                continue
            defects.append(
                Defect(kind=kind, zone=zone.name, size_um=f.size_um, center_px=t.center_px)
            )
        broken = failures(defects, zones)
        out.append(
            TruthFiber(
                number=ft.number,
                center_px=ft.center_px,
                verdict="fail" if broken else "pass",
                defects=tuple(defects),
                coverage=coverage,
            )
        )
    return out
