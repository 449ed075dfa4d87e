"""Qualification against a reference set: does this bench grade known faces correctly today?

Each face is graded the way a scan grades a fibre's frame (``scan.grade_fibre_image``:
focus first, the fibre nearest the middle) with the station's own grader, the
rule table the face names, and the station's calibration of its probe for the
tip the face's connector needs. The result is compared with the face's truth:

- agreement: graded verdict = truth verdict (``error`` truth: must not be judged);
- false passes (the bar is 0): a face that fails, or must not be judged, graded pass;
- size error: each reference defect against the graded one at its place;
- scale: the 125 um claddings measured at the station's calibration, per tip.

A station qualifies when every criterion holds (``Criteria``); when it does
not, ``reasons`` say why in words (a scale calibration 10 % off shows as
faces not judged because "the cladding measures 137 um ... check the probe's
scale calibration", and as the claddings' scale error per tip).
"""

from __future__ import annotations

import hashlib
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grading.geometry import CLADDING_DIAMETER_UM
from grading.image_io import ImageError, read_image
from grading.pixels import scale_pair
from grading.projection import fields_dict
from grading.results import FiberResult
from grading.rules import load_rules
from qa_station.config import Calibration, StationConfig
from qa_station.qualification.builtin import face_frame, frame_sha256, load_builtin
from qa_station.qualification.labels import Face, ReferenceSet, ReferenceSetError, TruthDefect
from qa_station.scan import grade_fibre_image

KEEP_PICTURES = 60  # frames of disagreements kept for the report


@dataclass(frozen=True)
class Criteria:
    """What a station must achieve on the reference set to qualify."""

    min_agreement: float = 0.95
    max_false_passes: int = 0
    max_median_size_error_um: float = 0.5
    max_scale_error: float = 0.02  # claddings measured at the calibration, per tip

    def to_dict(self) -> dict[str, float]:
        return fields_dict(self)


@dataclass(frozen=True)
class SizeCheck:
    truth: TruthDefect
    graded_um: float | None  # None: not found where it is

    @property
    def error_um(self) -> float | None:
        return None if self.graded_um is None else self.graded_um - self.truth.size_um


@dataclass(frozen=True)
class FaceResult:
    face: Face
    graded: str  # pass, fail, error
    fibre: FiberResult
    frame_sha256: str
    tip: str
    scale: float | tuple[float, float]
    sizes: tuple[SizeCheck, ...] = ()
    cladding_um: float | None = None  # the cladding measured at the station's scale

    @property
    def agrees(self) -> bool:
        return self.graded == self.face.verdict

    @property
    def false_pass(self) -> bool:
        return self.graded == "pass" and self.face.verdict != "pass"

    @property
    def why(self) -> str:
        f = self.fibre
        if f.error:
            return f.error
        if f.failures:
            return "; ".join(f.failures)
        return "no limit broken"


@dataclass
class QualificationResult:
    set_name: str
    set_source: str  # "built-in" or the folder
    set_sha256: str
    labels_sha256: str
    station: str
    probe: str
    calibrations: dict[str, dict[str, Any]]  # tip -> the calibration graded with
    criteria: Criteria
    faces: list[FaceResult] = field(default_factory=list)
    skipped: list[tuple[Face, str]] = field(default_factory=list)  # not applicable here
    frames_as_shipped: bool | None = None  # built-in set: frames rendered as when made
    pictures: dict[str, np.ndarray] = field(default_factory=dict)  # face id -> frame

    # -- the figures ---------------------------------------------------------------------
    @property
    def graded(self) -> int:
        return len(self.faces)

    @property
    def agreed(self) -> int:
        return sum(1 for f in self.faces if f.agrees)

    @property
    def agreement(self) -> float:
        return self.agreed / self.graded if self.graded else 0.0

    @property
    def false_passes(self) -> list[FaceResult]:
        return [f for f in self.faces if f.false_pass]

    @property
    def false_fails(self) -> list[FaceResult]:
        return [f for f in self.faces if f.graded == "fail" and f.face.verdict == "pass"]

    @property
    def not_judged(self) -> list[FaceResult]:
        return [f for f in self.faces if f.graded == "error" and f.face.verdict != "error"]

    @property
    def disagreements(self) -> list[FaceResult]:
        return [f for f in self.faces if not f.agrees]

    @property
    def size_errors_um(self) -> list[float]:
        return [abs(s.error_um) for f in self.faces for s in f.sizes if s.error_um is not None]

    @property
    def missed_defects(self) -> int:
        return sum(1 for f in self.faces for s in f.sizes if s.graded_um is None)

    @property
    def median_size_error_um(self) -> float | None:
        errs = self.size_errors_um
        return statistics.median(errs) if errs else None

    @property
    def max_size_error_um(self) -> float | None:
        errs = self.size_errors_um
        return max(errs) if errs else None

    def scale_errors(self) -> dict[str, float]:
        """Per tip: the claddings' median size at the calibration against 125 um, minus one."""
        out = {}
        for tip in sorted({f.tip for f in self.faces}):
            sizes = [
                f.cladding_um
                for f in self.faces
                if f.tip == tip and f.cladding_um and f.face.verdict != "error"
            ]
            if sizes:
                out[tip] = statistics.median(sizes) / CLADDING_DIAMETER_UM - 1.0
        return out

    @property
    def reasons(self) -> list[str]:
        """Why the station does not qualify, in words (empty: it qualifies)."""
        c = self.criteria
        out = []
        if not self.graded:
            return ["no face of the set could be graded on this station"]
        fp = self.false_passes
        if len(fp) > c.max_false_passes:
            ids = ", ".join(f.face.id for f in fp[:6])
            out.append(
                f"{len(fp)} false pass(es) (at most {c.max_false_passes}): {ids} graded pass "
                "but the reference fails them or says they must not be judged"
            )
        if self.agreement < c.min_agreement:
            out.append(
                f"verdict agreement {self.agreed} of {self.graded} ({self.agreement:.1%}), "
                f"below {c.min_agreement:.0%}"
            )
            out.extend(self._common_causes())
        for tip, err in self.scale_errors().items():
            if abs(err) > c.max_scale_error:
                cal = self.calibrations.get(tip, {})
                out.append(
                    f"the claddings measure {CLADDING_DIAMETER_UM * (1 + err):.1f} um at the "
                    f"{tip} tip's calibration of {cal.get('um_per_px', 0):.4g} um/px "
                    f"(expected {CLADDING_DIAMETER_UM:g} um, {err:+.1%}; at most "
                    f"{c.max_scale_error:.0%}): the scale calibration of the {tip} tip is off"
                )
        med = self.median_size_error_um
        if med is not None and med > c.max_median_size_error_um:
            out.append(
                f"median size error {med:.2f} um, above {c.max_median_size_error_um:g} um: "
                "sizes are not measured as the reference says (calibration, focus, optics)"
            )
        return out

    def _common_causes(self) -> list[str]:
        """The disagreements grouped by what the grader said (numbers left out to group)."""
        groups: Counter[str] = Counter()
        example: dict[str, str] = {}
        for f in self.disagreements:
            key = re.sub(r"\d+(\.\d+)?", "#", f.why)
            groups[key] += 1
            example.setdefault(key, f.why)
        return [
            f"{n} face(s) graded {self._graded_word(key)}: {example[key]}"
            for key, n in groups.most_common(3)
        ]

    def _graded_word(self, key: str) -> str:
        f = next(x for x in self.disagreements if re.sub(r"\d+(\.\d+)?", "#", x.why) == key)
        return {"error": "not judged", "pass": "pass", "fail": "fail"}[f.graded]

    @property
    def passed(self) -> bool:
        return not self.reasons

    def summary_line(self) -> str:
        med = self.median_size_error_um
        size = f"{med:.2f} um" if med is not None else "-"
        head = "QUALIFIED" if self.passed else "NOT QUALIFIED"
        return (
            f"{head}: {self.agreed}/{self.graded} faces agree ({self.agreement:.1%}), "
            f"{len(self.false_passes)} false pass(es), median size error {size} "
            f"({self.set_name}, sha256 {self.set_sha256[:12]})"
        )

    def to_payload(self) -> dict[str, Any]:
        """What goes on the record (the report PDF has every face and picture)."""
        med, worst = self.median_size_error_um, self.max_size_error_um
        return {
            "passed": self.passed,
            "reasons": self.reasons,
            "set": {
                "name": self.set_name,
                "source": self.set_source,
                "sha256": self.set_sha256,
                "labels_sha256": self.labels_sha256,
                "faces": self.graded + len(self.skipped),
                "frames_as_shipped": self.frames_as_shipped,
            },
            "probe": self.probe,
            "calibrations": self.calibrations,
            "criteria": self.criteria.to_dict(),
            "graded": self.graded,
            "agreed": self.agreed,
            "agreement": round(self.agreement, 6),
            "false_passes": [f.face.id for f in self.false_passes],
            "false_fails": [f.face.id for f in self.false_fails],
            "not_judged": [f.face.id for f in self.not_judged],
            "skipped": [f"{face.id}: {why}" for face, why in self.skipped],
            "median_size_error_um": None if med is None else round(med, 4),
            "max_size_error_um": None if worst is None else round(worst, 4),
            "missed_defects": self.missed_defects,
            "scale_error": {k: round(v, 5) for k, v in self.scale_errors().items()},
            "disagreements": [
                {"face": f.face.id, "truth": f.face.verdict, "graded": f.graded, "why": f.why[:300]}
                for f in self.disagreements[:100]
            ],
        }


# -- running it -------------------------------------------------------------------------------


def load_frames(rs: ReferenceSet) -> list[tuple[Face, np.ndarray, str]]:
    """Every face's frame and its sha256; an unreadable image refuses the whole set."""
    out = []
    for face in rs.faces:
        if face.recipe is not None:
            image = face_frame(face)
            sha = frame_sha256(image)
        else:
            path = face.image
            if path is None:  # labels.parse_labels gives every face one or the other
                raise ReferenceSetError(
                    f"reference set {rs.source}: face {face.id}: neither an image nor a "
                    "render recipe"
                )
            try:
                data = path.read_bytes()
                image = read_image(path)
            except (OSError, ImageError) as exc:
                why = getattr(exc, "strerror", None) or exc
                raise ReferenceSetError(
                    f"reference set {rs.source}: face {face.id}: image {path.name} "
                    f"cannot be read ({why})"
                ) from None
            sha = hashlib.sha256(data).hexdigest()
        out.append((face, image, sha))
    return out


def set_digest(labels_sha256: str, frames: list[tuple[Face, np.ndarray, str]]) -> str:
    """The set's identity on the record: its labels file and every frame graded."""
    h = hashlib.sha256(f"qa-station reference set\nlabels {labels_sha256}\n".encode())
    for face, _, sha in frames:
        h.update(f"{face.id}\t{sha}\n".encode())
    return h.hexdigest()


def qualify(
    config: StationConfig,
    reference: ReferenceSet | None = None,
    probe_id: str | None = None,
    criteria: Criteria | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> QualificationResult:
    """Grade the reference set (default: the built-in one) as this station does."""
    rs = reference or load_builtin()
    frames = load_frames(rs)
    probe = probe_id or config.probe_id
    result = QualificationResult(
        set_name=rs.name,
        set_source=rs.source,
        set_sha256=set_digest(rs.labels_sha256, frames),
        labels_sha256=rs.labels_sha256,
        station=config.station_id,
        probe=probe,
        calibrations={},
        criteria=criteria or Criteria(),
    )
    shipped = []
    for i, (face, image, sha) in enumerate(frames, start=1):
        if face.recipe is not None:
            shipped.append(sha == face.recipe.frame_sha256)
        cal = config.calibration(probe, face.tip)
        if cal is None:
            result.skipped.append(
                (face, f"probe {probe} has no calibration for the {face.tip} tip")
            )
            continue
        result.calibrations.setdefault(face.tip, _calibration_doc(cal))
        graded = grade_face(face, image, sha, cal, rs.focus_check)
        result.faces.append(graded)
        if not graded.agrees and len(result.pictures) < KEEP_PICTURES:
            result.pictures[face.id] = image
        if progress is not None:
            progress(i, len(frames))
    result.frames_as_shipped = all(shipped) if shipped else None
    return result


def _calibration_doc(cal: Calibration) -> dict[str, Any]:
    return {
        "um_per_px": cal.um_per_px,
        "um_per_px_y": cal.um_per_px_y,
        "min_focus_score": cal.min_focus_score,
        "date": cal.date,
    }


def grade_face(
    face: Face, image: np.ndarray, sha: str, cal: Calibration, focus_check: bool = True
) -> FaceResult:
    ruleset = load_rules(face.rules)
    # A probe's focus threshold is for what that probe shows; frames not taken through it
    # (rendered faces: their looks differ in grain) meet only the grader's own blur limit.
    min_focus = cal.min_focus_score if focus_check else 0.0
    fibre, _ = grade_fibre_image(image, 1, face.connector, ruleset, min_focus, cal.scale)
    pair = scale_pair(cal.scale)
    if pair is None:  # a calibration always has a scale
        raise ValueError(f"the {cal.tip} tip's calibration has no scale")
    sx, sy = pair
    cladding = fibre.diameter_px * sx if fibre.diameter_px > 0 else None
    return FaceResult(
        face=face,
        graded=fibre.verdict,
        fibre=fibre,
        frame_sha256=sha,
        tip=face.tip,
        scale=cal.scale,
        sizes=tuple(_sizes(face, fibre, sx, sy)),
        cladding_um=cladding,
    )


def _sizes(face: Face, fibre: FiberResult, sx: float, sy: float) -> list[SizeCheck]:
    """Each reference defect against the graded one of its kind nearest its place."""
    if fibre.error or not face.defects:
        return []
    cx, cy = fibre.center_px
    graded = [(d, ((d.center_px[0] - cx) * sx, (d.center_px[1] - cy) * sy)) for d in fibre.defects]
    used: set[int] = set()
    out = []
    for t in sorted(face.defects, key=lambda d: -d.size_um):
        best, best_d = None, math.inf
        for j, (d, at) in enumerate(graded):
            if j in used or d.kind != t.kind:
                continue
            if t.at_um is not None:
                dist = math.dist(at, t.at_um)
                reach = 30.0 if t.kind == "scratch" else max(4.0, t.size_um)
                if dist > reach:
                    continue
            else:
                if d.zone != t.zone:
                    continue
                dist = abs(d.size_um - t.size_um)
            if dist < best_d:
                best, best_d = j, dist
        if best is None:
            out.append(SizeCheck(t, None))
        else:
            used.add(best)
            out.append(SizeCheck(t, graded[best][0].size_um))
    return out
