"""Signed station reports: written whole, signed like certificates, then recorded.

A station report (a qualification, a repeatability study, a re-grade) is a PDF
signed by the station's key with its machine-readable copy (``report.json``)
inside the signed bytes; the file is written first, then an event naming its
sha256 goes on the record, so ``qa-station verify`` can check the file
against the record (``verify_station_report``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grading.geometry import connector
from grading.grade import zone_shapes
from grading.pixels import scale_pair
from grading.projection import projected
from grading.rules import load_rules
from qa_station.accounts import Session
from qa_station.certificates import CertificateError, VerifyOutcome, output_path, write_file
from qa_station.config import StationConfig
from qa_station.paths import ensure_dir, safe_name, station_paths
from qa_station.qualification.labels import ReferenceSet
from qa_station.qualification.record import IssuedReport, record_event, supervisor_name
from qa_station.qualification.reference import FaceResult, QualificationResult, qualify
from qa_station.qualification.repeatability import Study
from qa_station.store import Store, StoreError
from qa_station.store.chain import hash_of
from qa_station.store.kinds import Kind
from qa_station.store.models import Event
from reports.qualification import (
    DATA_FILE,
    REPORT_KIND,
    FaceRow,
    FibreStudy,
    QualificationReport,
    ReferencePart,
    RepeatabilityPart,
    render_qualification,
)
from reports.regrade import REPORT_KIND as REGRADE_KIND

# Station reports that verify against the record, by their embedded kind -> event kind.
RECORDED_AS = {
    REPORT_KIND: (Kind.STATION_QUALIFIED, Kind.REPEATABILITY_STUDIED),
    REGRADE_KIND: (Kind.ARCHIVE_REGRADED,),
}


def report_id(prefix: str, *parts: object) -> str:
    """Deterministic: the same inputs give the same id (``QAQ-XXXX-XXXX-XXXX``)."""
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    code = base64.b32encode(h).decode("ascii")[:12]
    return f"{prefix}-" + "-".join(code[i : i + 4] for i in range(0, 12, 4))


def new_report_id(store: Store, prefix: str, *parts: object) -> tuple[int, str]:
    """Now on the station's clock (us), and the id of the report the station issues now on
    ``parts``: the same station, parts and time give the same id."""
    at_us = round(store.clock() * 1e6)
    return at_us, report_id(prefix, store.station_id, *parts, at_us)


def write_signed(
    pdf: bytes,
    data: dict[str, Any],
    station: str,
    what: str,
    out: Path | str | None,
    stem: str,
    keys_dir: Path | None = None,
) -> tuple[Path, IssuedReport]:
    """Sign ``pdf`` with ``data`` embedded, write it whole; nothing is recorded yet. The
    signature's reason is ``what`` and the report's id, the file ``<stem>-<id>.pdf``."""
    from reports.signing import SigningError, sign_pdf, station_identity

    try:
        identity = station_identity(keys_dir or station_paths().keys_dir, station)
        blob = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8")
        signed = sign_pdf(
            pdf,
            identity,
            [(DATA_FILE, blob, "machine-readable report data (inside the signed bytes)")],
            reason=f"{what} {data['report_id']}",
            location=station,
        )
    except SigningError as exc:
        raise CertificateError(f"cannot sign: {exc}") from None
    target = out if out is not None else ensure_dir(station_paths().reports_dir)
    path = output_path(target, f"{stem}-{data['report_id']}.pdf")
    write_file(path, signed)
    return path, IssuedReport(
        data["report_id"], path.name, hashlib.sha256(signed).hexdigest(), len(signed)
    )


def sign_and_record(
    store: Store,
    report: QualificationReport,
    what: str,
    stem: str,
    out: Path | str | None,
    kind: Kind,
    payload: dict[str, Any],
    who: Session,
) -> tuple[Path, int]:
    """Write a qualification-style report signed, then put its event on the record.

    The file comes first so the event can name its sha256; the event must be a supervisor's.
    Returns the file written and the event's id.
    """
    pdf = render_qualification(report)
    path, issued = write_signed(pdf, report.data(), store.station_id, what, out, stem)
    event_id = record_event(store, kind, payload, who, issued, supervising=True)
    return path, event_id


@dataclass(frozen=True)
class Qualified:
    result: QualificationResult
    path: Path
    event_id: int


def run_reference(
    store: Store,
    config: StationConfig,
    who: Session,
    reference: ReferenceSet | None = None,
    out: Path | str | None = None,
    probe_id: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    local_tz: dt.tzinfo | None = None,
) -> Qualified:
    """Qualify the station on a reference set: grade, write the signed report, record it."""
    name = supervisor_name(store, who)
    result = qualify(config, reference, probe_id=probe_id, progress=progress)
    result.station = store.station_id
    at_us, rid = new_report_id(store, "QAQ", result.probe, result.set_sha256)
    report = reference_report(result, rid, name, at_us, local_tz)
    stem = f"qualification-{safe_name(store.station_id)}"
    path, event_id = sign_and_record(
        store,
        report,
        "station qualification",
        stem,
        out,
        Kind.STATION_QUALIFIED,
        result.to_payload(),
        who,
    )
    return Qualified(result, path, event_id)


def reference_report(
    result: QualificationResult,
    rid: str,
    who: str | None,
    at_us: int,
    local_tz: dt.tzinfo | None = None,
) -> QualificationReport:
    c = result.criteria
    med = result.median_size_error_um
    checks = [
        (
            "verdict agreement with the reference",
            f">= {c.min_agreement:.0%}",
            f"{result.agreed}/{result.graded} ({result.agreement:.1%})",
            result.agreement >= c.min_agreement,
        ),
        (
            "false passes (a failing face graded pass)",
            f"<= {c.max_false_passes}",
            str(len(result.false_passes)),
            len(result.false_passes) <= c.max_false_passes,
        ),
        (
            "median size error of the reference defects",
            f"<= {c.max_median_size_error_um:g} um",
            "-" if med is None else f"{med:.2f} um (max {result.max_size_error_um:.2f})",
            med is None or med <= c.max_median_size_error_um,
        ),
    ]
    for tip, err in result.scale_errors().items():
        checks.append(
            (
                f"claddings at the {tip} tip's calibration",
                f"125 um +- {c.max_scale_error:.0%}",
                f"{125 * (1 + err):.1f} um ({err:+.1%})",
                abs(err) <= c.max_scale_error,
            )
        )
    checks.append(
        ("false fails (a passing face graded fail)", "reported", str(len(result.false_fails)), True)
    )
    checks.append(
        ("faces not judged that should be", "reported", str(len(result.not_judged)), True)
    )
    cals = tuple(
        (
            tip,
            f"{cal['um_per_px']:.5g}",
            "-" if cal.get("um_per_px_y") is None else f"{cal['um_per_px_y']:.5g}",
            f"{cal['min_focus_score']:g}",
            cal.get("date") or "-",
        )
        for tip, cal in sorted(result.calibrations.items())
    )
    part = projected(  # the set's name, source and hashes as the result has them
        ReferencePart,
        result,
        calibrations=cals,
        checks=tuple(checks),
        faces=tuple(_row(f, result.pictures.get(f.face.id)) for f in result.faces),
        skipped=tuple(f"{face.id}: {why}" for face, why in result.skipped),
    )
    return QualificationReport(
        report_id=rid,
        station=result.station,
        probe=result.probe,
        who=who,
        generated_us=at_us,
        passed=result.passed,
        reasons=tuple(result.reasons),
        reference=part,
        data_extra={"set_sha256": result.set_sha256, "result": result.to_payload()},
        local_tz=local_tz,
    )


def _row(f: FaceResult, image: np.ndarray | None) -> FaceRow:
    sizes = "; ".join(
        f"{s.truth.size_um:g} -> " + ("missed" if s.graded_um is None else f"{s.graded_um:.1f}")
        for s in f.sizes
    )
    pic = None
    if image is not None:
        from reports.overlay import fibre_overlay, jpeg

        geometry = connector(f.face.connector)
        zones = zone_shapes(load_rules(f.face.rules), geometry)
        if f.fibre.diameter_px > 0:
            pic = jpeg(fibre_overlay(image, f.fibre, _x_scale(f.scale), zones, size=360))
    return FaceRow(
        id=f.face.id,
        connector=f.face.connector,
        rules=f.face.rules.rsplit("/", 1)[-1] if "/" in f.face.rules else f.face.rules,
        limit=f.face.limit,
        truth=f.face.verdict,
        graded=f.graded,
        why=f.why,
        sizes=sizes,
        note=f.face.note,
        picture=pic,
    )


# -- verifying a station report against the record ----------------------------------------------


def recorded_report(store: Store, data: dict[str, Any], sha256: str) -> tuple[str, str]:
    """(state, detail) of a station report file against the record: "ok" when an event of
    its kind at its station records this exact file and still hashes as it did."""
    kinds = RECORDED_AS.get(str(data.get("kind")))
    if not kinds:
        return "fail", "not a kind of report this station records"
    from sqlalchemy import select

    with store.read() as s:
        rows = (
            s.execute(
                select(Event)
                .where(
                    Event.kind.in_([k.value for k in kinds]),
                    Event.station_id == data.get("station"),
                )
                .order_by(Event.id.desc())
            )
            .scalars()
            .all()
        )
    for ev in rows:
        report = json.loads(ev.payload).get("report") or {}
        if report.get("sha256") != sha256:
            continue
        if hash_of(ev) != ev.hash:
            return (
                "fail",
                f"event #{ev.id} that recorded it was altered (run qa-station audit verify)",
            )
        return "ok", (
            f"this exact file (sha256 {sha256[:16]}...) was recorded by station "
            f"{ev.station_id} in event #{ev.id} ({ev.kind}), report {report.get('report_id')}"
        )
    return "fail", (
        f"the record at {store.safe_url} has no {data.get('what', 'report')} file with this "
        f"sha256 ({sha256[:16]}...)"
    )


# -- repeatability ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Studied:
    study: Study
    path: Path
    event_id: int


def record_study(
    store: Store,
    study: Study,
    who: Session,
    out: Path | str | None = None,
    local_tz: dt.tzinfo | None = None,
) -> Studied:
    """Write the study's signed report and put the study on the record."""
    name = supervisor_name(store, who)
    at_us, rid = new_report_id(store, "QAR", study.serial, study.end)
    report = study_report(study, rid, store.station_id, name, at_us, local_tz)
    stem = f"repeatability-{safe_name(study.serial)}-{safe_name(study.end)}"
    path, event_id = sign_and_record(
        store,
        report,
        "repeatability study",
        stem,
        out,
        Kind.REPEATABILITY_STUDIED,
        study.to_payload(),
        who,
    )
    return Studied(study, path, event_id)


def study_report(
    study: Study,
    rid: str,
    station: str,
    who: str | None,
    at_us: int,
    local_tz: dt.tzinfo | None = None,
) -> QualificationReport:
    f = study.figures()

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x:.1%}"

    def um(x: float | None, digits: int = 3) -> str:
        return "-" if x is None else f"{x:.{digits}f} um"

    kappa = f["fleiss_kappa"]
    checks = (
        (
            "verdict agreement (ratings agreeing with each fibre's majority)",
            pct(f["verdict_agreement"]),
        ),
        (
            "within an operator (fibres x operators with every trial agreeing)",
            pct(f["within_operator"]),
        ),
        ("between operators (fibres with every rating agreeing)", pct(f["between_operators"])),
        (
            "Fleiss' kappa over every rating",
            "undefined: every rating the same" if kappa is None else f"{kappa:.3f}",
        ),
        (
            "largest-size spread, 5-10 um particles (1 sigma)",
            f"max {um(f['largest_sd_um_mid_max'])}, median {um(f['largest_sd_um_mid_median'])} "
            f"over {f['fibres_mid_size']} fibre(s)",
        ),
        (
            "largest %GRR of any limit",
            "-" if f["max_grr_percent"] is None else f"{f['max_grr_percent']:.1f} %",
        ),
    )
    fibres = tuple(
        FibreStudy(
            fibre=x.fibre,
            ratings=x.ratings_text(),
            within=f"{x.within}/{x.operators}",
            agreement=x.agreement,
            count_sd=x.count_sd,
            largest_mean_um=x.largest_mean_um,
            largest_sd_um=x.largest_sd_um,
            grr="; ".join(f"{v:.1f} % of {k:g} um" for k, v in x.grr_percent.items()) or "-",
        )
        for x in study.fibre_figures()
    )
    mean, sd = f["scale_mean_um_per_px"], f["scale_sd_um_per_px"]
    calibration = (
        (
            "the station's calibration",
            f"{study.calibration.um_per_px:.5g} um/px ({study.calibration.tip} tip)",
        ),
        ("measured again, every seating", f"{f['scale_measurements']} times"),
        ("mean", "-" if mean is None else f"{mean:.5f} um/px"),
        (
            "spread (1 sigma)",
            "-" if sd is None else f"{sd:.6f} um/px ({f['scale_relative_sd']:.3%})",
        ),
        (
            "range",
            "-"
            if f["scale_range_um_per_px"] is None
            else f"{f['scale_range_um_per_px']:.6f} um/px",
        ),
        *(("not measured", p) for p in f["scale_problems"]),
    )
    part = RepeatabilityPart(
        serial=study.serial,
        end=study.end,
        connector=study.connector,
        rules=study.rules,
        trials=study.trials_per_operator,
        operators=study.operators,
        checks=checks,
        fibres=fibres,
        calibration=calibration,
        pictures=_study_pictures(study),
    )
    return QualificationReport(
        report_id=rid,
        station=station,
        probe=study.probe,
        who=who,
        generated_us=at_us,
        passed=None,
        repeatability=part,
        data_extra={"study": study.to_payload()},
        local_tz=local_tz,
    )


def _study_pictures(study: Study) -> tuple[tuple[str, bytes], ...]:
    """Fibre 1 and 2 as the first and the last trial saw them, graded."""
    from reports.overlay import fibre_overlay, jpeg

    if not study.trials:
        return ()
    zones = zone_shapes(load_rules(study.rules), connector(study.connector))
    out = []
    for trial in (study.trials[0], study.trials[-1]):
        scan = trial.scan
        if scan is None:
            continue
        for n in sorted(scan.fibers)[:2]:
            fibre, frame = scan.fibers[n], scan.frames.get(n)
            if frame is None or fibre.diameter_px <= 0:
                continue
            rgb = fibre_overlay(
                frame.image, fibre, _x_scale(study.calibration.scale), zones, size=300
            )
            out.append(
                (f"{trial.operator} trial {trial.number}: fibre {n} ({fibre.verdict})", jpeg(rgb))
            )
    return tuple(out)


def _x_scale(scale: float | tuple[float, float]) -> float:
    """The horizontal um per pixel of a scale that is given."""
    pair = scale_pair(scale)
    if pair is None:  # scale_pair gives None only for None
        raise ValueError("a scale is needed here; none was given")
    return pair[0]


def verify_station_report(
    data: dict[str, Any], outcome: VerifyOutcome, store: Store | None, store_problem: str | None
) -> None:
    """The checks after signature and integrity, for a station report (``verify``)."""
    if str(data.get("kind")) not in RECORDED_AS or not isinstance(data.get("report_id"), str):
        outcome.add("report data", "fail", "the embedded report data is not a station report's")
        return
    outcome.data = data
    verdicts: dict[object, str] = {True: "qualified", False: "NOT qualified"}
    verdict = verdicts.get(data.get("passed"), "no verdict")
    outcome.add(
        "report data",
        "ok",
        f"{data.get('what')} {data['report_id']} of station {data.get('station')}, "
        f"run by {data.get('who') or '-'}: {verdict}",
    )
    if store is None:
        outcome.record_offline(store_problem)
        return
    try:
        state, detail = recorded_report(store, data, outcome.sha256)
    except StoreError as exc:
        outcome.record_unreachable(exc)
        return
    outcome.add("record", state, detail)
