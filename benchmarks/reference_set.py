"""Write the built-in reference set (``qa_station/qualification/builtin/reference.toml``).

    python -m benchmarks.reference_set [--check]

Run once when the set is designed (and again only on purpose: a new set is a
new sha256 on every qualification after it). Every face is a limit of a
shipped rule table probed from both sides: a pass just inside it and a fail
just outside, far enough from the threshold that a grader measuring within
0.3 um cannot be wrong (sizes 15-25 % from it; features 1.5 um or more from
any zone boundary), in both fibre polarities (bright glass: classic,
mm-core-dark; dark glass: zirconia-dark, sm-core-dot, mm-core-bright), with
visible cores, on single-fibre and MT connectors, plus two faces that must
not be judged (a blurred frame; a fibre cut by the frame). The truth of each
face (verdict, every defect's zone and size, the limits it breaks) comes from
the scene's exact geometry through ``benchmarks.scenes.truth_for``, the same
truth the accuracy benchmark uses, and is written into the file: the grader
under qualification never computes it.

``--check`` grades every face with the default calibration and prints the
faces the grader gets wrong (the set is meant to qualify a default station).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.scenes import Case, truth_for
from grading import load_rules
from grading.geometry import connector
from grading.verdict import failures
from hardware.optics.render import truth_for as render_truth
from qa_station.qualification.builtin import face_scene, frame_sha256, render_face
from qa_station.qualification.labels import (
    Face,
    Recipe,
    RenderedFeature,
    TruthDefect,
    render_labels,
)

OUT = Path(__file__).resolve().parent.parent / "qa_station/qualification/builtin/reference.toml"
SM_PC, SM_APC, MM_PC = (f"iec-61300-3-35-ed2/{x}" for x in ("sm-pc", "sm-apc", "mm-pc"))
UM_PER_PX = 0.3125  # the simulated 400x probe
SIZE_PX = (1280, 960)
NAME = "qa-station built-in reference set 1"
HEADER = (
    "The built-in reference set of qa-station: written by `python -m benchmarks.reference_set`.",
    "Each face is drawn by the renderer from its [faces.render] recipe; its truth (verdict,",
    "defects, broken limits) was computed from the scene's exact geometry when the set was",
    "made. Do not edit by hand: a changed file is a different set (its sha256 is recorded",
    "with every qualification).",
)
BRIGHT = {"sm": ("classic",), "mm": ("classic", "mm-core-dark")}
DARK = {"sm": ("zirconia-dark", "sm-core-dot"), "mm": ("zirconia-dark", "mm-core-bright")}


@dataclass
class Probe:
    """One limit, probed from one side: the features of a face and what it tests."""

    limit: str  # e.g. "sm-pc zone B: none > 5 um"
    side: str  # "pass" or "fail"
    features: list[tuple]  # (kind, r_um, angle_deg, size_um, extra dict)
    single_fibre_only: bool = False
    mt_only: bool = False
    looks: tuple[str, ...] = ()  # only these looks (default: one of each polarity by turn)


@dataclass
class Design:
    faces: list[dict] = field(default_factory=list)


def particle(r: float, a: float, size: float, contrast: float = -0.55) -> tuple:
    return ("particle", r, a, size, {"contrast": contrast})


def ring(n: int, r: float, size: float, start: float = 20.0) -> list[tuple]:
    """``n`` like particles spread round a circle of radius ``r``."""
    return [particle(r, start + 360.0 * i / n, size) for i in range(n)]


def scratch(r: float, a: float, width: float, length: float, along: float | None = None) -> tuple:
    """A scratch centred ``r`` um from the fibre centre; ``along`` its direction (default
    tangential)."""
    direction = (a + 90.0) if along is None else along
    return (
        "scratch",
        r,
        a,
        width,
        {"contrast": -0.3, "length_um": length, "angle_deg": direction % 180.0},
    )


def parallel_scratches(n: int, width: float, spacing: float, length: float) -> list[tuple]:
    """``n`` horizontal scratches ``spacing`` um apart, across the core."""
    offs = [spacing * (i - (n - 1) / 2.0) for i in range(n)]
    extra = {"contrast": -0.3, "length_um": length, "angle_deg": 0.0}
    return [("scratch", abs(o), 90.0 if o >= 0 else 270.0, width, extra) for o in offs]


def probes() -> dict[str, list[Probe]]:
    """Every limit of each shipped table, from both sides."""
    sm_common = [
        Probe("zone A: no defect", "pass", [particle(17.5, 40, 3.0)]),
        Probe("zone A: no defect", "fail", [particle(6.0, 200, 2.2)]),
        Probe("zone B: none > 5 um", "pass", [particle(35.0, 130, 4.2)]),
        Probe("zone B: none > 5 um", "fail", [particle(35.0, 130, 5.9)]),
        Probe("zone B: at most 5 of 2-5 um", "pass", ring(5, 36.0, 3.4)),
        Probe("zone B: at most 5 of 2-5 um", "fail", ring(6, 36.0, 3.4)),
        Probe("zone D: none >= 10 um", "pass", [particle(95.0, 300, 8.4)], single_fibre_only=True),
        Probe("zone D: none >= 10 um", "fail", [particle(95.0, 300, 12.0)], single_fibre_only=True),
    ]
    sm_pc = [
        *sm_common,
        Probe("zone B: no scratch > 3 um wide", "pass", [scratch(38.0, 60, 2.2, 30.0)]),
        Probe("zone B: no scratch > 3 um wide", "fail", [scratch(38.0, 60, 4.0, 30.0)]),
        Probe("zone A: no scratch", "fail", [scratch(0.0, 0, 2.0, 60.0, along=35.0)]),
        Probe("zone C: no limit", "pass", [particle(62.5, 250, 6.0)], single_fibre_only=True),
    ]
    sm_apc = [
        *sm_common,
        Probe("zone A: no scratch > 3 um wide", "pass", [scratch(0.0, 0, 2.0, 60.0, along=35.0)]),
        Probe("zone A: no scratch > 3 um wide", "fail", [scratch(0.0, 0, 3.8, 60.0, along=35.0)]),
        # Parallel scratches are counted reliably only on bright glass (on dark glass the
        # grader splits or merges them: see README, qualification), so they are shown there.
        Probe(
            "zone A: at most 4 scratches",
            "pass",
            parallel_scratches(4, 1.6, 5.5, 34.0),
            looks=("classic",),
        ),
        Probe(
            "zone A: at most 4 scratches",
            "fail",
            parallel_scratches(5, 1.6, 5.5, 34.0),
            looks=("classic",),
        ),
        Probe("zone B: scratches of any width", "pass", [scratch(40.0, 120, 5.0, 26.0)]),
        Probe("MT: zones C and D not graded", "pass", [particle(92.0, 20, 14.0)], mt_only=True),
    ]
    mm_pc = [
        Probe("zone A: none > 5 um", "pass", [particle(16.0, 70, 4.3)]),
        Probe("zone A: none > 5 um", "fail", [particle(16.0, 70, 5.9)]),
        Probe("zone A: at most 4 of <= 5 um", "pass", ring(4, 18.0, 3.5)),
        Probe("zone A: at most 4 of <= 5 um", "fail", ring(5, 18.0, 3.5)),
        Probe("zone A: no scratch > 3 um wide", "pass", [scratch(8.0, 10, 2.2, 34.0)]),
        Probe("zone A: no scratch > 3 um wide", "fail", [scratch(8.0, 10, 3.9, 34.0)]),
        Probe("zone B: none > 10 um", "pass", [particle(45.0, 210, 8.5)]),
        Probe("zone B: none > 10 um", "fail", [particle(45.0, 210, 11.8)]),
        Probe("zone B: at most 5 of 5-10 um", "pass", ring(5, 45.0, 7.0)),
        Probe("zone B: at most 5 of 5-10 um", "fail", ring(6, 45.0, 7.0)),
        Probe("zone B: no scratch > 5 um wide", "pass", [scratch(45.0, 300, 4.2, 40.0)]),
        Probe("zone B: no scratch > 5 um wide", "fail", [scratch(45.0, 300, 6.0, 40.0)]),
        Probe("zone D: none > 30 um", "pass", [particle(96.0, 150, 26.0)], single_fibre_only=True),
        Probe("zone D: none > 30 um", "fail", [particle(96.0, 150, 34.0)], single_fibre_only=True),
    ]
    return {SM_PC: sm_pc, SM_APC: sm_apc, MM_PC: mm_pc}


# Which connectors each table is shown on (single-fibre first, then MT), and the fibre type.
CONNECTORS = {
    SM_PC: (("lc-upc", "sc-upc"), (), "sm"),
    SM_APC: (("lc-apc", "sc-apc"), ("mpo12", "mpo16", "mpo8"), "sm"),
    MM_PC: (("lc-upc", "sc-upc"), ("mpo12", "mpo24"), "mm"),
}
# The size limits are shown in the other polarity too (to reach both for every table).
SECOND_LOOK = ("none > 5 um", "none >= 10 um", "none > 10 um", "none > 30 um", "no defect")


def design(seed: int = 2026) -> list[dict]:
    """Each limit's pair (pass and fail) in one look on one connector; looks alternate
    between bright and dark glass, connectors go round the table's list, and the size
    limits are shown again in the other polarity on the next connector."""
    rng = np.random.default_rng(seed)
    faces: list[dict] = []
    for rules, table in probes().items():
        singles, mts, fibre = CONNECTORS[rules]
        polarities = (BRIGHT[fibre], DARK[fibre])
        turn = {"look": 0, "single": 0, "mt": 0, "any": 0}
        chosen: dict[str, list[tuple[str, str]]] = {}
        for probe in table:
            if probe.limit not in chosen:
                chosen[probe.limit] = _showings(probe, singles, mts, polarities, turn)
            for look, conn in chosen[probe.limit]:
                faces.append(_face(rules, probe, conn, fibre, look, rng))
    faces += _not_judged(rng)
    return faces


def _showings(probe: Probe, singles, mts, polarities, turn: dict) -> list[tuple[str, str]]:
    """(look, connector) for each showing of a limit."""

    def next_connector() -> str:
        if probe.single_fibre_only or not mts:
            pool, key = singles, "single"
        elif probe.mt_only:
            pool, key = mts, "mt"
        else:
            pool, key = singles + mts, "any"
        turn[key] += 1
        return pool[(turn[key] - 1) % len(pool)]

    side = turn["look"] % 2
    turn["look"] += 1
    if probe.looks:
        return [(look, next_connector()) for look in probe.looks]
    first = polarities[side][(turn["look"] // 2) % len(polarities[side])]
    out = [(first, next_connector())]
    if any(s in probe.limit for s in SECOND_LOOK):
        other = polarities[1 - side]
        out.append((other[(turn["look"] // 2) % len(other)], next_connector()))
    return out


def _face(rules: str, probe: Probe, conn: str, fibre: str, look: str, rng) -> dict:
    geometry = connector(conn)
    target = 1 + int(rng.integers(geometry.fiber_count)) if geometry.is_multi_fiber else 1
    feats = []
    for kind, r, a, size, extra in probe.features:
        x, y = r * math.cos(math.radians(a)), r * math.sin(math.radians(a))
        feats.append(
            RenderedFeature(
                kind=kind,
                at_um=(round(x, 3), round(y, 3)),
                size_um=size,
                contrast=extra.get("contrast", -0.55),
                length_um=extra.get("length_um", 0.0),
                angle_deg=round(extra.get("angle_deg", 0.0), 3),
                seed=int(rng.integers(1 << 30)),
            )
        )
    short = rules.split("/")[1]
    return {
        "rules": rules,
        "connector": conn,
        "limit": f"{short} {probe.limit}",
        "side": probe.side,
        "recipe": Recipe(
            look=look,
            fibre=fibre,
            target=target,
            offset_um=(round(float(rng.normal(0, 3.0)), 3), round(float(rng.normal(0, 3.0)), 3)),
            um_per_px=UM_PER_PX,
            size_px=SIZE_PX,
            blur_um=0.35,
            noise=0.012,
            noise_seed=int(rng.integers(1 << 30)),
            texture_seed=int(rng.integers(1 << 30)),
            features=tuple(feats),
            frame_sha256="",
        ),
    }


def _not_judged(rng) -> list[dict]:
    """Faces no station may judge: out of focus, and the fibre cut by the frame."""
    out = []
    for conn, look, blur, offset, why in (
        ("lc-upc", "classic", 2.4, (0.0, 0.0), "out of focus: nothing may be judged"),
        ("sc-apc", "zirconia-dark", 0.35, (0.0, 170.0), "the fibre is cut by the frame"),
    ):
        rules = SM_PC if conn.endswith("upc") else SM_APC
        face = _face(rules, Probe(why, "error", [particle(35.0, 45, 6.5)]), conn, "sm", look, rng)
        r = face["recipe"]
        face["recipe"] = Recipe(**{**r.__dict__, "blur_um": blur, "offset_um": offset})
        out.append(face)
    return out


def truth(face: dict) -> tuple[str, list, list[str]]:
    """The verdict, defects (kind, zone, size, at) and broken limits of a designed face."""
    r: Recipe = face["recipe"]
    conn, rules = face["connector"], face["rules"]
    if face["side"] == "error":
        return "error", [], []
    geometry = connector(conn)
    scene, view = face_scene(r, conn)
    case = Case("fiber", conn, rules, scene, view, give_scale=True, seed=r.noise_seed)
    fibres = [t for t in truth_for(case, render_truth(scene, view)) if t.number == r.target]
    if len(fibres) != 1:
        raise SystemExit(f"{face['limit']}: the target fibre is not wholly in view")
    t = fibres[0]
    zones = load_rules(rules).zones_for(geometry.is_multi_fiber)
    drawn = render_truth(scene, view).features  # in the scene's order, with their pixels
    at = {tuple(map(float, ft.center_px)): f.at_um for ft, f in zip(drawn, r.features, strict=True)}
    defects = [
        (d.kind, d.zone, d.size_um, at.get(tuple(map(float, d.center_px)))) for d in t.defects
    ]
    return t.verdict, defects, failures(t.defects, zones)


def write(faces: list[dict], path: Path) -> None:
    labelled = []
    for n, face in enumerate(faces, start=1):
        verdict, defects, broken = face["truth"]
        labelled.append(
            Face(
                id=f"ref-{n:02d}",
                connector=face["connector"],
                rules=face["rules"],
                verdict=verdict,
                defects=tuple(TruthDefect(k, z, s, at) for k, z, s, at in defects),
                note=_note(face, defects, broken),
                recipe=face["recipe"],
                limit=face["limit"],
            )
        )
    text = render_labels(
        NAME,
        labelled,
        header=HEADER,
        description="rendered faces probing every limit of the shipped IEC 61300-3-35 ed.2 "
        "tables from both sides, in both fibre polarities",
        focus_check=False,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _note(face: dict, defects: list, broken: list[str]) -> str:
    if face["side"] == "error":
        return face["limit"].split(" ", 1)[1]
    if broken:
        return "; ".join(broken)
    what = ", ".join(f"{k} {s:g} um in zone {z}" for k, z, s, _ in defects) or "no graded defect"
    return f"passes: {what}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="grade the set as a default station")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    faces = design()
    for face in faces:
        face["truth"] = truth(face)
        r = face["recipe"]
        image = render_face(r, face["connector"])
        face["recipe"] = Recipe(**{**r.__dict__, "frame_sha256": frame_sha256(image)})
        if face["truth"][0] != face["side"]:
            print(
                f"warning: {face['limit']} ({face['side']}) has truth {face['truth'][0]}",
                file=sys.stderr,
            )
    write(faces, args.out)
    counts = {v: sum(1 for f in faces if f["truth"][0] == v) for v in ("pass", "fail", "error")}
    print(f"{len(faces)} faces written to {args.out}: {counts}")
    if args.check:
        from qa_station.config import StationConfig
        from qa_station.qualification.reference import qualify

        result = qualify(StationConfig())
        for d in result.disagreements:
            print(
                f"  {d.face.id} {d.face.limit}: truth {d.face.verdict}, graded {d.graded} ({d.why})"
            )
        print(result.summary_line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
