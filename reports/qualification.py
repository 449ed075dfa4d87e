"""The station qualification report: can this bench be trusted today? (A4, signed like a
certificate.)

Page 1: QUALIFIED or NOT QUALIFIED in large letters with every reason; who
ran it and when; the reference set (name, where from, sha256 of the set and
its labels file); the calibration of each tip it was graded with; the
criteria beside what was achieved (agreement, false passes, size error, the
claddings' scale per tip). Then every disagreement with its picture (the
frame with the grading drawn on it) and the truth beside the verdict, and a
table of every face. A repeatability study (``RepeatabilityPart``) is laid
out in the same report: per fibre the verdict agreement within and between
operators, Fleiss' kappa, the spread of defect counts and of the largest
size, %GRR against each limit, and the spread of the scale calibration.

The application fills these plain dataclasses (``reports`` never reads the
record); ``render_qualification`` returns the unsigned PDF and
``QualificationReport.data()`` the JSON embedded in it when it is signed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, Spacer, Table, TableStyle

from reports.certificate import banner
from reports.pdf import (
    CONTENT_WIDTH,
    GREEN,
    PALE_GREEN,
    PALE_RED,
    RED,
    Cell,
    both,
    build,
    coloured,
    esc,
    fonts,
    grid,
    key_values,
    para,
    picture,
    standard_footer,
    text,
    verdict_word,
)

REPORT_KIND = "qa-station qualification report"
DATA_FILE = "report.json"


@dataclass(frozen=True)
class FaceRow:
    id: str
    connector: str
    rules: str
    limit: str
    truth: str  # pass, fail, error
    graded: str
    why: str  # what the grader said
    sizes: str  # "6.0 -> 5.9 um; ..." (reference -> graded)
    note: str = ""
    picture: bytes | None = None  # JPEG: the frame with the grading drawn on it

    @property
    def agrees(self) -> bool:
        return self.truth == self.graded


@dataclass(frozen=True)
class ReferencePart:
    set_name: str
    set_source: str
    set_sha256: str
    labels_sha256: str
    frames_as_shipped: bool | None
    calibrations: tuple[tuple[str, str, str, str, str], ...]  # tip, um/px, y, focus, date
    checks: tuple[tuple[str, str, str, bool], ...]  # criterion, required, achieved, met
    faces: tuple[FaceRow, ...]
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class FibreStudy:
    """One fibre of a repeatability study."""

    fibre: int
    ratings: str  # e.g. "fail x10" or "pass x9, fail x1"
    within: str  # within-operator agreement, e.g. "2/2"
    agreement: float  # ratings agreeing with the fibre's majority
    count_sd: float
    largest_mean_um: float | None
    largest_sd_um: float | None
    grr: str  # "%GRR 4.1 % of 5 um; 2.0 % of 10 um"


@dataclass(frozen=True)
class RepeatabilityPart:
    serial: str
    end: str
    connector: str
    rules: str
    trials: int
    operators: tuple[str, ...]
    checks: tuple[tuple[str, str], ...]  # figure, value
    fibres: tuple[FibreStudy, ...]
    calibration: tuple[tuple[str, str], ...]  # figure, value
    pictures: tuple[tuple[str, bytes], ...] = ()  # caption, JPEG


@dataclass(frozen=True)
class QualificationReport:
    report_id: str
    station: str
    probe: str
    who: str | None
    generated_us: int
    passed: bool | None  # None: a study without a verdict of its own
    reasons: tuple[str, ...] = ()
    reference: ReferencePart | None = None
    repeatability: RepeatabilityPart | None = None
    data_extra: dict[str, Any] = field(default_factory=dict)
    local_tz: dt.tzinfo | None = None

    @property
    def what(self) -> str:
        return "reference qualification" if self.reference else "repeatability study"

    def data(self) -> dict[str, Any]:
        """The machine-readable copy embedded in the signed file."""
        return {
            "kind": REPORT_KIND,
            "report_id": self.report_id,
            "what": self.what,
            "station": self.station,
            "probe": self.probe,
            "who": self.who,
            "generated_us": self.generated_us,
            "passed": self.passed,
            "reasons": list(self.reasons),
            **self.data_extra,
        }


def render_qualification(report: QualificationReport) -> bytes:
    story: list[Flowable] = []
    story += _head(report)
    if report.reference is not None:
        story += _reference(report.reference)
    if report.repeatability is not None:
        story += _repeatability(report.repeatability)
    footer = standard_footer(
        f"qa-station {report.what} {report.report_id} · station {report.station}"
    )
    return build(
        story,
        footer,
        title=f"Station qualification report {report.report_id}",
        author=f"qa-station {report.station}",
        subject=f"{report.what} of station {report.station}, probe {report.probe}",
        keywords=[report.report_id, report.station, report.probe],
    )


def _head(r: QualificationReport) -> list[Flowable]:
    if r.passed is None:
        word, colour, fill = "STUDY", GREEN, PALE_GREEN
    elif r.passed:
        word, colour, fill = "QUALIFIED", GREEN, PALE_GREEN
    else:
        word, colour, fill = "NOT QUALIFIED", RED, PALE_RED
    lines = [f"<b>{esc(x)}</b>" for x in r.reasons] or (
        ["Every criterion holds: this station may record inspections with this probe."]
        if r.passed
        else []
    )
    out: list[Flowable] = [banner(f"STATION {r.what.upper()}", word, colour, fill, lines, None)]
    out.append(Spacer(1, 5))
    out.append(
        key_values(
            [
                ("report", r.report_id),
                ("station", r.station),
                ("probe", r.probe),
                ("run by", r.who or "-"),
                ("when", both(r.generated_us, r.local_tz)),
            ],
            (32 * mm, CONTENT_WIDTH - 32 * mm),
        )
    )
    return out


def _reference(p: ReferencePart) -> list[Flowable]:
    mono = fonts()[2]
    shipped = {
        True: "yes: every frame rendered exactly as when the set was made",
        False: "NO: this installation draws some frames differently from when the set was made",
        None: "-",
    }[p.frames_as_shipped]
    out: list[Flowable] = [para("Reference set", "h2")]
    out.append(
        key_values(
            [
                ("set", p.set_name),
                ("from", p.set_source),
                ("set sha256", para(f'<font name="{mono}">{esc(p.set_sha256)}</font>', "value")),
                (
                    "labels sha256",
                    para(f'<font name="{mono}">{esc(p.labels_sha256)}</font>', "value"),
                ),
                (
                    "faces",
                    f"{len(p.faces)} graded"
                    + (f", {len(p.skipped)} not applicable" if p.skipped else ""),
                ),
                ("frames as shipped", shipped),
            ],
            (32 * mm, CONTENT_WIDTH - 32 * mm),
        )
    )
    out.append(para("Graded with the station's calibration", "h3"))
    rows = [[text(h, "head") for h in ("tip", "um/px", "um/px (y)", "min focus", "calibrated")]]
    rows += [[text(c) for c in cal] for cal in p.calibrations]
    out.append(grid(rows, [20 * mm, 30 * mm, 30 * mm, 28 * mm, 40 * mm]))
    out.append(para("Criteria", "h3"))
    rows = [[text(h, "head") for h in ("criterion", "required", "achieved", "")]]
    for name, need, got, met in p.checks:
        mark = coloured("met", GREEN) if met else coloured("NOT MET", RED)
        rows.append([text(name), text(need), text(got), para(mark, "cell")])
    out.append(grid(rows, [70 * mm, 38 * mm, 50 * mm, CONTENT_WIDTH - 158 * mm]))
    for s in p.skipped:
        out.append(para(f"Not applicable: {esc(s)}", "small"))
    bad = [f for f in p.faces if not f.agrees]
    out.append(CondPageBreak(60 * mm))
    out.append(para(f"Disagreements ({len(bad)})", "h2"))
    if not bad:
        out.append(para("None: every face was graded as the reference says.", "body"))
    for f in bad:
        out.append(_disagreement(f))
    out.append(CondPageBreak(40 * mm))
    out.append(para(f"Every face ({len(p.faces)})", "h2"))
    rows = [
        [
            text(h, "head")
            for h in (
                "face",
                "connector",
                "limit probed",
                "truth",
                "graded",
                "sizes (ref -> graded)",
            )
        ]
    ]
    for f in p.faces:
        rows.append(
            [
                text(f.id),
                text(f.connector),
                text(f.limit or f.note[:60]),
                para(verdict_word(f.truth), "cellc"),
                para(verdict_word(f.graded), "cellc"),
                text(f.sizes or "-", "cell"),
            ]
        )
    widths = [16 * mm, 18 * mm, 60 * mm, 20 * mm, 20 * mm, CONTENT_WIDTH - 134 * mm]
    extra = [
        ("BACKGROUND", (0, i + 1), (-1, i + 1), PALE_RED)
        for i, f in enumerate(p.faces)
        if not f.agrees
    ]
    out.append(grid(rows, widths, extra=extra, zebra=False))
    return out


def _disagreement(f: FaceRow) -> KeepTogether:
    side = 48 * mm
    words = [
        para(f"<b>{esc(f.id)}</b> · {esc(f.connector)} · {esc(f.rules)}", "body"),
        para(f"limit probed: {esc(f.limit or '-')}", "small"),
        para(f"reference: {verdict_word(f.truth)} ({esc(f.note)})", "small"),
        para(f"graded: {verdict_word(f.graded)}: {esc(f.why)}", "small"),
    ]
    if f.sizes:
        words.append(para(f"sizes (reference -> graded): {esc(f.sizes)}", "small"))
    pic = picture(f.picture, side) if f.picture else para("(no picture)", "caption")
    t = Table([[pic, words]], colWidths=[side + 4 * mm, CONTENT_WIDTH - side - 4 * mm])
    t.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, RED),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    return KeepTogether([t, Spacer(1, 3)])


def _repeatability(p: RepeatabilityPart) -> list[Flowable]:
    out: list[Flowable] = [CondPageBreak(80 * mm), para("Repeatability and reproducibility", "h2")]
    who = ", ".join(p.operators)
    out.append(
        para(
            f"End {esc(p.end)} of {esc(p.serial)} ({esc(p.connector)}, {esc(p.rules)}) inspected "
            f"{p.trials} times by each of {esc(who)}, re-seated between trials.",
            "body",
        )
    )
    out.append(Spacer(1, 3))
    out.append(key_values(list(p.checks), (70 * mm, CONTENT_WIDTH - 70 * mm)))
    out.append(para("Per fibre", "h3"))
    rows = [
        [
            text(h, "head")
            for h in (
                "fibre",
                "verdicts",
                "within",
                "agreement",
                "count sd",
                "largest (mean, sd) um",
                "%GRR of the limits",
            )
        ]
    ]
    for f in p.fibres:
        largest = "-"
        if f.largest_mean_um is not None:
            largest = f"{f.largest_mean_um:.2f}, {f.largest_sd_um:.3f}"
        rows.append(
            [
                text(str(f.fibre), "cellc"),
                text(f.ratings),
                text(f.within, "cellc"),
                text(f"{f.agreement:.1%}", "cellr"),
                text(f"{f.count_sd:.2f}", "cellr"),
                text(largest, "cellr"),
                text(f.grr),
            ]
        )
    out.append(
        grid(rows, [12 * mm, 34 * mm, 15 * mm, 20 * mm, 16 * mm, 32 * mm, CONTENT_WIDTH - 129 * mm])
    )
    out.append(para("Scale calibration, repeated", "h3"))
    out.append(key_values(list(p.calibration), (70 * mm, CONTENT_WIDTH - 70 * mm)))
    if p.pictures:
        out.append(CondPageBreak(60 * mm))
        out.append(para("The end as seen in the first and last trials", "h3"))
        side = (CONTENT_WIDTH - 12 * mm) / 4
        cells: list[Cell] = [
            [picture(data, side), para(esc(cap), "caption")] for cap, data in p.pictures[:8]
        ]
        table: list[list[Cell]] = [cells[i : i + 4] for i in range(0, len(cells), 4)]
        table[-1] += [""] * (4 - len(table[-1]))
        t = Table(table, colWidths=[side + 3 * mm] * 4)
        t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        out.append(t)
    return out
