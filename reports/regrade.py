"""The what-if report of a re-grade: the archive under another table (A4, signed).

Page 1: the table it was re-graded with (name, sha256) beside what the
inspections were graded against, the period and product, how many
inspections and frames, and in red the accepted assemblies that would now
fail. Then every fibre whose verdict would change, old beside new, with the
picture (the stored frame with the new grading drawn on it) and the limits
the new table finds broken. The record is not changed by any of it; the CSV
beside the PDF holds the same rows for a spreadsheet.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, Spacer, Table, TableStyle

from reports.certificate import banner
from reports.pdf import (
    CONTENT_WIDTH,
    GREEN,
    ORANGE,
    PALE_GREEN,
    PALE_ORANGE,
    RED,
    both,
    build,
    esc,
    fonts,
    key_values,
    para,
    picture,
    short_utc,
    standard_footer,
    verdict_word,
)

REPORT_KIND = "qa-station regrade report"
CSV_COLUMNS = (
    "serial",
    "product",
    "end",
    "inspection_id",
    "inspected_at",
    "fibre",
    "old_verdict",
    "new_verdict",
    "assembly_accepted",
    "new_failures",
    "image_sha256",
)
MAX_PICTURES = 120


@dataclass(frozen=True)
class ChangeRow:
    serial: str
    product: str
    end: str
    inspection_id: int
    inspected_us: int
    fibre: int
    old: str
    new: str
    accepted: bool
    failures: tuple[str, ...]
    image_sha256: str
    picture: bytes | None = None


@dataclass(frozen=True)
class RegradeReport:
    report_id: str
    station: str
    who: str | None
    generated_us: int
    rules: str
    rules_sha256: str
    graded_against: tuple[str, ...]  # the tables the inspections were graded with
    period: str
    product: str | None
    inspections: int
    frames: int
    accepted_now_failing: tuple[str, ...]
    changes: tuple[ChangeRow, ...]
    skipped: tuple[str, ...] = ()
    data_extra: dict[str, Any] = field(default_factory=dict)
    local_tz: dt.tzinfo | None = None

    def data(self) -> dict[str, Any]:
        return {
            "kind": REPORT_KIND,
            "what": "re-grade report",
            "report_id": self.report_id,
            "station": self.station,
            "probe": "-",
            "who": self.who,
            "generated_us": self.generated_us,
            "passed": None,
            "rules": self.rules,
            "rules_sha256": self.rules_sha256,
            **self.data_extra,
        }


def render_csv(report: RegradeReport) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for c in report.changes:
        w.writerow(
            [
                c.serial,
                c.product,
                c.end,
                c.inspection_id,
                dt.datetime.fromtimestamp(c.inspected_us / 1e6, tz=dt.UTC).isoformat(),
                c.fibre,
                c.old,
                c.new,
                "yes" if c.accepted else "no",
                " | ".join(c.failures),
                c.image_sha256,
            ]
        )
    return buf.getvalue().encode("utf-8")


def render_regrade(r: RegradeReport) -> bytes:
    failing = len(r.accepted_now_failing)
    if failing:
        word, colour, fill = f"{failing} WOULD FAIL", RED, PALE_ORANGE
    elif r.changes:
        word, colour, fill = "SOME CHANGE", ORANGE, PALE_ORANGE
    else:
        word, colour, fill = "NO CHANGE", GREEN, PALE_GREEN
    lines = [
        f"What the archive's frames would be graded under <b>{esc(r.rules)}</b>. "
        "The record is not changed: this is a what-if."
    ]
    story: list[Flowable] = [
        banner("RE-GRADE OF THE ARCHIVE", word, colour, fill, lines, None),
        Spacer(1, 5),
    ]
    mono = fonts()[2]
    story.append(
        key_values(
            [
                ("report", r.report_id),
                ("station", r.station),
                ("run by", r.who or "-"),
                ("when", both(r.generated_us, r.local_tz)),
                ("re-graded with", r.rules),
                ("its sha256", para(f'<font name="{mono}">{esc(r.rules_sha256)}</font>', "value")),
                ("graded then with", ", ".join(r.graded_against) or "-"),
                ("period", r.period),
                ("product", r.product or "every product"),
                ("inspections", f"{r.inspections} (the final one of each end), {r.frames} frames"),
                ("fibres that change", str(len(r.changes))),
            ],
            (34 * mm, CONTENT_WIDTH - 34 * mm),
        )
    )
    story.append(para("Accepted assemblies that would now fail", "h2"))
    if r.accepted_now_failing:
        story.append(para(esc(", ".join(r.accepted_now_failing)), "alert"))
    else:
        story.append(para("None.", "body"))
    for s in r.skipped[:20]:
        story.append(para(f"Not re-graded: {esc(s)}", "small"))
    story.append(CondPageBreak(50 * mm))
    story.append(para(f"Every fibre whose verdict would change ({len(r.changes)})", "h2"))
    if not r.changes:
        story.append(para("None: the new table gives every fibre the verdict it had.", "body"))
    for i, c in enumerate(r.changes):
        story.append(_change(c, with_picture=i < MAX_PICTURES))
    if len(r.changes) > MAX_PICTURES:
        story.append(
            para(f"Pictures of the first {MAX_PICTURES} only; the CSV has every row.", "small")
        )
    footer = standard_footer(f"qa-station re-grade report {r.report_id} · station {r.station}")
    return build(
        story,
        footer,
        title=f"Re-grade report {r.report_id}",
        author=f"qa-station {r.station}",
        subject=f"the archive re-graded with {r.rules}",
        keywords=[r.report_id, r.rules],
    )


def _change(c: ChangeRow, with_picture: bool) -> KeepTogether:
    side = 34 * mm
    words = [
        para(
            f"<b>{esc(c.serial)}</b> end {esc(c.end)} fibre {c.fibre} · {esc(c.product)}"
            + (" · <b>accepted</b>" if c.accepted else ""),
            "body",
        ),
        para(
            f"inspection #{c.inspection_id}, {esc(short_utc(c.inspected_us))} UTC: "
            f"{verdict_word(c.old)} then, {verdict_word(c.new)} now",
            "small",
        ),
    ]
    words += [para(esc(f), "small") for f in c.failures[:4]]
    pic = picture(c.picture, side) if (with_picture and c.picture) else para("", "caption")
    t = Table([[pic, words]], colWidths=[side + 4 * mm, CONTENT_WIDTH - side - 4 * mm])
    t.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, RED if c.new != "pass" else GREEN),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return KeepTogether([t, Spacer(1, 2)])
