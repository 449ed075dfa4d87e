"""The rejection report of a rejected assembly: why, with the pictures that show it.

Page 1: REJECTED, the serial and product, the supervisor's reason in a red
box, every end's state, and the escalations that led there. Then each end:
its last inspection, the fibres that did not pass shown large with the limits
they broke, every fibre's picture (MT), and the history. Not signed: it is an
internal quality document, and the record it comes from is.
"""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, PageBreak, Spacer

from grading.geometry import connector
from grading.results import FiberResult
from reports.certificate import banner, calibration_lines, rules_lines
from reports.model import EndSection, RejectionReport
from reports.pdf import (
    CONTENT_WIDTH,
    PALE_RED,
    RED,
    both,
    boxed,
    esc,
    key_values,
    para,
)
from reports.sections import (
    assembly_pdf,
    deviations_box,
    end_section,
    ends_summary,
    history,
    prepare_pictures,
    record_box,
)


def render_rejection(report: RejectionReport) -> bytes:
    a = report.assembly
    tz = report.local_tz

    def failing(e: EndSection, f: FiberResult) -> bool:
        return f.verdict != "pass"

    pics = prepare_pictures(a.ends, large=failing)
    product = f"{a.product_name} ({a.product_id})"
    who = f" by {a.closed_by}" if a.closed_by else ""
    story: list[Flowable] = [
        banner(
            "REJECTION REPORT - FIBRE END-FACE INSPECTION",
            "REJECTED",
            RED,
            PALE_RED,
            [
                f"Serial <b>{esc(a.serial)}</b>",
                esc(product),
                esc(f"Rejected {both(a.closed_us, tz)}{who}"),
            ],
            None,
        ),
        Spacer(1, 4 * mm),
        boxed(
            [
                para("Why it was rejected", "alert"),
                para(esc(a.reason or "no reason recorded"), "body"),
            ],
            RED,
            PALE_RED,
        ),
        Spacer(1, 4 * mm),
    ]
    rows = [
        ("Serial number", f"<b>{esc(a.serial)}</b>"),
        ("Product", esc(product)),
        ("Part number", esc(a.part_number or "not scanned (identified by its serial)")),
        (
            "Registered",
            esc(both(a.registered_us, tz))
            + (f", by {esc(a.registered_by)}" if a.registered_by else ""),
        ),
        (
            "Rejected",
            esc(both(a.closed_us, tz)) + (f", by {esc(a.closed_by)}" if a.closed_by else ""),
        ),
        ("Station", esc(a.station)),
        ("Operator(s)", esc(", ".join(a.operators) or "-")),
        ("Rule set(s)", rules_lines(a.ends)),
        ("Scale calibration", calibration_lines(a.ends)),
        ("Report made", esc(f"{both(report.generated_us, tz)} by station {report.station}")),
    ]
    story.append(key_values(rows, (30 * mm, CONTENT_WIDTH - 30 * mm), value_is_markup=True))
    story.append(para("Ends", "h2"))
    story.append(ends_summary(a, tz))
    escalations = [x for e in a.ends for x in e.escalations]
    if escalations:
        story.append(para("Escalations", "h2"))
        for x in escalations:
            kind = "blocking" if x.blocking else "advice"
            story.append(
                para(
                    f"<b>End {esc(x.end)}: {esc(x.cause)}</b> ({esc(kind)}, after {x.cycles} "
                    f"clean-inspect cycle{'s' if x.cycles != 1 else ''}): {esc(x.advice)}",
                    "body",
                )
            )
    if a.deviations:
        story.append(Spacer(1, 3 * mm))
        story.append(deviations_box(a, tz))
    for e in a.ends:
        big = connector(e.connector).is_multi_fiber and e.result is not None
        story.append(PageBreak() if big else CondPageBreak(110 * mm))
        shown = {a.fibre.index for a in e.earlier}  # these appear across the inspections
        focus = (
            [f for f in e.result.fibers if f.verdict != "pass" and f.index not in shown]
            if e.result
            else []
        )
        multi = connector(e.connector).is_multi_fiber
        story.extend(end_section(e, pics[e.label], tz, focus=focus if multi else None))
        story.append(Spacer(1, 6 * mm))
    story.append(PageBreak())
    story.extend(history(a, tz))
    story.append(Spacer(1, 4 * mm))
    story.append(
        record_box(a, ["Every picture in this report is kept, lossless, in the station's record."])
    )
    return assembly_pdf(story, a, report.station, "Rejection report", "REJECTED")
