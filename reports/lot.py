"""The lot (work-order) report: N assemblies, their yield, and where and why fibres failed.

``summarise`` does the counting (plain data, tested on its own); ``render_lot``
lays it out: yield and first-pass yield, failures by cause (the zone and
whether defects or scratches broke the limit, read from each failure's
words), failures by fibre position as a heat map shaped like the ferrule,
cleaning cycles per assembly, escalations, and every assembly in a table.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, Spacer, Table, TableStyle

from grading.geometry import connector
from reports.certificate import banner
from reports.control import ChartData, chart_drawing, flagged_lines
from reports.model import LotReport
from reports.pdf import (
    CONTENT_WIDTH,
    GREEN,
    GREY,
    LIGHT,
    PALE_RED,
    RED,
    Cell,
    StyleCommand,
    both,
    build,
    esc,
    grid,
    head_row,
    key_values,
    para,
    short_utc,
    standard_footer,
    text,
)

_CAUSE = re.compile(r"^zone (\w+) \(([^)]*)\): \d+ (defects?|scratch(?:es)?)\b")


def cause_of(failure: str) -> str:
    """'zone B (cladding): 6 defects of 2-5 um ...' -> 'zone B (cladding): defects'."""
    m = _CAUSE.match(failure)
    if not m:
        return "other"
    kind = "scratches" if m.group(3).startswith("scratch") else "defects"
    return f"zone {m.group(1)} ({m.group(2)}): {kind}"


@dataclass
class LotSummary:
    assemblies: int = 0
    accepted: int = 0
    rejected: int = 0
    open: int = 0
    first_pass: int = 0  # assemblies whose every end passed its first inspection
    inspections: int = 0
    cleanings: int = 0
    deviations: int = 0
    # cause -> (failed fibre inspections, assemblies affected)
    by_cause: list[tuple[str, int, int]] = field(default_factory=list)
    # connector -> fibre number -> failed fibre inspections
    by_position: dict[str, Counter[int]] = field(default_factory=dict)
    # single-fibre ends: (connector, end label) -> failed inspections
    by_end: Counter[tuple[str, str]] = field(default_factory=Counter)
    cleaning_cycles: Counter[int] = field(
        default_factory=Counter
    )  # cleanings per assembly -> assemblies
    escalations: Counter[str] = field(default_factory=Counter)  # cause -> count

    @property
    def closed(self) -> int:
        return self.accepted + self.rejected

    @property
    def yield_pct(self) -> float | None:
        return 100.0 * self.accepted / self.closed if self.closed else None

    @property
    def first_pass_pct(self) -> float | None:
        return 100.0 * self.first_pass / self.assemblies if self.assemblies else None


def summarise(report: LotReport) -> LotSummary:
    s = LotSummary(assemblies=len(report.assemblies))
    for a in report.assemblies:
        if a.status == "accepted":
            s.accepted += 1
        elif a.status == "rejected":
            s.rejected += 1
        else:
            s.open += 1
        s.first_pass += 1 if a.first_pass else 0
        s.inspections += a.inspections
        s.cleanings += a.cleanings
        s.deviations += a.deviations
        s.cleaning_cycles[a.cleanings] += 1
        for cause in a.escalations:
            s.escalations[cause] += 1
    fibres: Counter[str] = Counter()
    serials: dict[str, set[str]] = {}
    for f in report.failures:
        causes = (
            {cause_of(x) for x in f.failures}
            if f.verdict == "fail"
            else {"not judged (image could not be graded)"}
        ) or {"other"}
        for c in causes:
            fibres[c] += 1
            serials.setdefault(c, set()).add(f.serial)
        if connector(f.connector).is_multi_fiber:
            s.by_position.setdefault(f.connector, Counter())[f.fibre] += 1
        else:
            s.by_end[(f.connector, f.end)] += 1
    s.by_cause = sorted(
        ((c, n, len(serials[c])) for c, n in fibres.items()), key=lambda x: (-x[1], x[0])
    )
    return s


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f} %"


def _heat(value: int, top: int) -> colors.Color:
    if value <= 0 or top <= 0:
        return colors.white
    t = 0.18 + 0.82 * value / top
    return colors.Color(1.0, 1.0 - 0.78 * t, 1.0 - 0.78 * t)


def heat_map(conn: str, counts: Counter[int]) -> Table:
    """Failed fibre inspections per ferrule position, laid out as the ferrule (key up)."""
    g = connector(conn)
    widest = max(abs(x) for x, _ in g.fiber_positions_um)
    per_row = 16 if widest > 1500 else 12
    rows = max(1, g.rows)
    top = max(counts.values(), default=0)
    cells: list[list[Cell]] = [["" for _ in range(per_row)] for _ in range(rows * 2)]
    style: list[StyleCommand] = [
        ("ALIGN", (0, 0), (-1, -1), "CENTER"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("FONTSIZE", (0, 0), (-1, -1), 6.5),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]
    for n, slot in enumerate(g.slot_numbers, start=1):
        row, col = divmod(slot - 1, per_row)
        v = counts.get(n, 0)
        cells[2 * row][col] = text(f"fibre {n}", "tiny")
        cells[2 * row + 1][col] = text(v, "cellc")
        style.append(("BACKGROUND", (col, 2 * row + 1), (col, 2 * row + 1), _heat(v, top)))
        style.append(
            ("BOX", (col, 2 * row + 1), (col, 2 * row + 1), 0.4, colors.HexColor("#999999"))
        )
    w = min(CONTENT_WIDTH / per_row, 16 * mm)
    t = Table(cells, colWidths=[w] * per_row)
    t.setStyle(TableStyle(style))
    return t


def render_lot(report: LotReport) -> bytes:
    tz = report.local_tz
    s = summarise(report)
    window = _window(report.since_us, report.until_us)
    title = "LOT REPORT - FIBRE END-FACE INSPECTION"
    colour = GREEN if s.rejected == 0 else RED
    fill = colors.HexColor("#eef3f7")
    story: list[Flowable] = [
        banner(
            title,
            f"YIELD {_pct(s.yield_pct)}",
            colour,
            fill,
            [
                esc(
                    f"{s.assemblies} assemblies: {s.accepted} accepted, {s.rejected} rejected, {s.open} still open"
                ),
                esc(
                    f"Assemblies registered {window}"
                    + (f"; product {report.product}" if report.product else "")
                ),
            ],
            None,
        ),
        Spacer(1, 4 * mm),
    ]
    rows = [
        ("Period", esc(window)),
        ("Product", esc(report.product or "all products")),
        (
            "Assemblies",
            esc(f"{s.assemblies} ({s.accepted} accepted, {s.rejected} rejected, {s.open} open)"),
        ),
        ("Yield", esc(f"{_pct(s.yield_pct)} of the {s.closed} closed assemblies were accepted")),
        (
            "First-pass yield",
            esc(
                f"{_pct(s.first_pass_pct)} ({s.first_pass} of {s.assemblies}: every end passed its first inspection)"
            ),
        ),
        ("Inspections", esc(f"{s.inspections} ({s.cleanings} cleanings)")),
        ("Deviations", esc(f"{s.deviations} supervisor decision(s) against or outside the rules")),
        ("Report made", esc(f"{both(report.generated_us, tz)} by station {report.station}")),
    ]
    story.append(key_values(rows, (32 * mm, CONTENT_WIDTH - 32 * mm), value_is_markup=True))
    story.append(Spacer(1, 1.5 * mm))
    story.append(
        para(
            "An assembly belongs to the period it was registered in; its state is the record's "
            "state now. Yield: accepted / (accepted + rejected); open assemblies are not counted. "
            "Causes come from the words of each broken limit (zone, defects or scratches). "
            "Source: the station's record (export it with qa-station export).",
            "tiny",
        )
    )

    story.append(para("Failures by cause", "h2"))
    if s.by_cause:
        data = [
            head_row(
                "Cause (the limit broken)",
                "Failed fibre inspections",
                "Assemblies",
                centred=("Failed fibre inspections", "Assemblies"),
            )
        ]
        data += [[text(c), text(n, "cellc"), text(k, "cellc")] for c, n, k in s.by_cause]
        story.append(grid(data, [CONTENT_WIDTH - 70 * mm, 40 * mm, 30 * mm]))
        story.append(
            para(
                "A fibre that broke two limits in one inspection counts under both causes. "
                "Failures cleared by cleaning count too: they show where dirt gathers.",
                "tiny",
            )
        )
    else:
        story.append(para("No fibre failed an inspection in this period.", "body"))

    story.append(para("Failures by fibre position", "h2"))
    if s.by_position or s.by_end:
        for conn, counts in sorted(s.by_position.items()):
            n_insp = report.inspections_by_connector.get(conn, 0)
            story.append(
                KeepTogether(
                    [
                        para(
                            f"<b>{esc(conn.upper())}</b> ends: failed inspections per fibre "
                            f"({n_insp} inspections of {esc(conn)} ends; ferrule seen end-on, key up)",
                            "small",
                        ),
                        Spacer(1, 1.5 * mm),
                        heat_map(conn, counts),
                        Spacer(1, 3 * mm),
                    ]
                )
            )
        if s.by_end:
            data = [
                head_row(
                    "Connector",
                    "End",
                    "Failed inspections",
                    "Inspections of this type",
                    centred=("Failed inspections", "Inspections of this type"),
                )
            ]
            for (conn, end), n in sorted(s.by_end.items()):
                data.append(
                    [
                        text(conn),
                        text(end),
                        text(n, "cellc"),
                        text(report.inspections_by_connector.get(conn, 0), "cellc"),
                    ]
                )
            story.append(grid(data, [35 * mm, 30 * mm, 40 * mm, 45 * mm]))
    else:
        story.append(para("No failures to place.", "body"))

    story.append(para("Cleaning cycles per assembly", "h2"))
    if s.assemblies:
        top = max(s.cleaning_cycles)
        data = [
            [
                text("Cleanings", "head"),
                *[text(k if k < 6 else "6+", "headc") for k in range(min(top, 6) + 1)],
            ]
        ]
        per_cycles = [s.cleaning_cycles.get(k, 0) for k in range(min(top, 6))]
        if top >= 6:
            per_cycles.append(sum(v for k, v in s.cleaning_cycles.items() if k >= 6))
        else:
            per_cycles.append(s.cleaning_cycles.get(top, 0))
        data.append([text("Assemblies"), *[text(v, "cellc") for v in per_cycles]])
        widths = [30 * mm] + [14 * mm] * (len(data[0]) - 1)
        story.append(grid(data, widths, zebra=False))
        story.append(Spacer(1, 1.5 * mm))
        mean = s.cleanings / s.assemblies
        methods = (
            ", ".join(f"{m}: {n}" for m, n in sorted(report.cleaning_methods.items())) or "none"
        )
        story.append(
            para(esc(f"Mean {mean:.2f} cleanings per assembly. Methods used: {methods}."), "small")
        )

    story.append(para("Escalations", "h2"))
    if s.escalations:
        data = [[text("Cause", "head"), text("Escalations", "headc")]]
        data += [[text(c), text(n, "cellc")] for c, n in s.escalations.most_common()]
        story.append(grid(data, [70 * mm, 30 * mm]))
    else:
        story.append(para("None.", "body"))

    if report.control:
        story += process_control(report.control)

    story.append(para("Assemblies", "h2"))
    if report.assemblies:
        data = [
            head_row(
                "Serial",
                "Product",
                "Status",
                "Registered (UTC)",
                "Insp",
                "Clean",
                "First pass",
                "Escalations / reason",
                centred=("Insp", "Clean", "First pass"),
            )
        ]
        extra = []
        for a in report.assemblies:
            note = ", ".join(f"escalated: {c}" for c in a.escalations)
            if a.reason:
                reason = a.reason if len(a.reason) <= 48 else a.reason[:47] + "…"
                note = f"{note}; rejected: {reason}" if note else f"rejected: {reason}"
            if a.deviations:
                note = (
                    f"{note}; {a.deviations} deviation(s)"
                    if note
                    else f"{a.deviations} deviation(s)"
                )
            data.append(
                [
                    text(a.serial),
                    text(a.product_id),
                    text(a.status),
                    text(short_utc(a.registered_us)[:16]),
                    text(a.inspections, "cellc"),
                    text(a.cleanings, "cellc"),
                    text("yes" if a.first_pass else "no", "cellc"),
                    text(note or "-"),
                ]
            )
            if a.status == "rejected":
                extra.append(("BACKGROUND", (0, len(data) - 1), (-1, len(data) - 1), PALE_RED))
            elif a.status == "open":
                extra.append(("BACKGROUND", (0, len(data) - 1), (-1, len(data) - 1), LIGHT))
        widths = [27 * mm, 37 * mm, 15 * mm, 28 * mm, 10 * mm, 11 * mm, 11 * mm]
        widths.append(CONTENT_WIDTH - sum(widths))
        story.append(grid(data, widths, extra=extra))
    else:
        story.append(para("No assembly was registered in this period.", "body"))
    footer = standard_footer(f"Lot report · {window}")
    return build(
        story,
        footer,
        title=f"Lot report {window}",
        author=f"qa-station {report.station}",
        subject="End-face inspection lot report",
    )


def process_control(charts: Sequence[ChartData]) -> list[Flowable]:
    """Drift: each bench's p-chart and u-chart, and every point out of control in words."""
    out: list[Flowable] = [CondPageBreak(60 * mm), para("Process control (drift per bench)", "h2")]
    flagged = [line for c in charts for line in flagged_lines(c)]
    out.append(
        para(
            f"{len(flagged)} point(s) out of control (Western Electric rules)."
            if flagged
            else "Every point in control (Western Electric rules).",
            "body",
        )
    )
    out += flagged
    for c in charts:
        out += [Spacer(1, 2 * mm), chart_drawing(c)]
    return out


def _window(since_us: int | None, until_us: int | None) -> str:
    def t(us: int) -> str:
        return short_utc(us)[:16] + " UTC"

    if until_us is None:
        return "at any time (the whole record)" if since_us is None else f"from {t(since_us)} on"
    if since_us is None:
        return f"before {t(until_us)}"
    return f"from {t(since_us)} to {t(until_us)}"


__all__ = ["GREY", "LotSummary", "cause_of", "render_lot", "summarise"]
