"""The acceptance certificate of one assembly: an A4 PDF an auditor can read and a customer keeps.

Page 1: the verdict ACCEPTED, certificate id, serial, product, the summary
(station, operators, times in UTC and local time, rule sets with the hash of
their files, scale calibration), every end's verdict, any deviation in a red
box, and a QR code carrying ``serial|certificate id|record hash``. Then one
section per end (MT ends: ferrule overview with the verdicts, fibre map,
per-fibre table, every fibre's picture with the grading drawn on it), and a
last page with the cleaning and inspection history, escalations, deviations
and the record hash. Every page says "page N of M".

``render_certificate`` returns the unsigned PDF; ``reports.signing`` embeds
the machine-readable data (``Certificate.data()``) and signs it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from reportlab.graphics.barcode import qrencoder
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, PageBreak, Spacer, Table, TableStyle

from grading.geometry import connector
from reports.model import Certificate, EndSection, RulesInfo
from reports.pdf import (
    CONTENT_WIDTH,
    GREEN,
    PALE_GREEN,
    both,
    esc,
    fonts,
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


def _checkpoint_line(cert: Certificate) -> list[str]:
    cp = cert.checkpoint
    if not cp:
        return []
    return [
        f"Issued under the station's signed checkpoint of its record: {cp.get('events')} events "
        f"up to event #{cp.get('head_id')}, head hash "
        f'<font name="{fonts()[2]}">{esc(str(cp.get("head_hash")))}</font>; a record that no '
        "longer extends it (rewritten, cut back or emptied) fails verification."
    ]


class QrFlowable(Flowable):
    """A QR code drawn as one filled path (fast, and sharp at any zoom and on paper)."""

    def __init__(self, payload: str, size: float, border: int = 2) -> None:
        super().__init__()
        self.qr = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
        self.qr.addData(payload)
        self.qr.make()
        self.width = self.height = size
        self.border = border

    def draw(self) -> None:
        n = self.qr.getModuleCount()
        box = self.width / (n + 2 * self.border)
        path = self.canv.beginPath()
        for r, row in enumerate(self.qr.modules):
            c = 0
            for dark, run in itertools.groupby(bool(m) for m in row):
                count = len(list(run))
                if dark:
                    x = (c + self.border) * box
                    y = self.height - (r + self.border + 1) * box
                    path.rect(x, y, count * box, box * 1.02)
                c += count
        self.canv.setFillColorRGB(0, 0, 0)
        self.canv.drawPath(path, stroke=0, fill=1)


def banner(
    kicker: str,
    word: str,
    colour: colors.Color,
    fill: colors.Color,
    lines: list[str],
    qr_payload: str | None,
) -> Table:
    """The head of page 1: what the document is, the verdict in large letters, and the QR code."""
    from reportlab.lib.styles import ParagraphStyle

    from reports.pdf import styles

    big = ParagraphStyle("bigc", parent=styles()["big"], textColor=colour)
    from reportlab.platypus import Paragraph

    left = [para(esc(kicker), "kicker"), Paragraph(esc(word), big), Spacer(1, 2)]
    left.extend(para(x, "body") for x in lines)
    qr_size = 30 * mm
    right: list[Flowable] = []
    if qr_payload:
        right = [
            QrFlowable(qr_payload, qr_size),
            para("serial | certificate id | record hash", "caption"),
        ]
    t = Table([[left, right]], colWidths=[CONTENT_WIDTH - qr_size - 8 * mm, qr_size + 8 * mm])
    t.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.6, colour),
                ("BACKGROUND", (0, 0), (-1, -1), fill),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (1, 0), (1, 0), "CENTER"),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
            ]
        )
    )
    return t


def rules_lines(cert_ends: Iterable[EndSection]) -> str:
    seen: dict[tuple[str, str | None], list[str]] = {}
    info: dict[tuple[str, str | None], RulesInfo] = {}
    for e in cert_ends:
        key = (e.rules.name, e.rules.sha256)
        seen.setdefault(key, []).append(e.label)
        info[key] = e.rules
    mono = fonts()[2]
    out = []
    for (name, sha), labels in seen.items():
        r = info[(name, sha)]
        words = esc(name)
        extra = ", ".join(x for x in (r.title, f"version {r.version}" if r.version else "") if x)
        if extra:
            words += f" ({esc(extra)})"
        words += f" - ends {esc(', '.join(labels))}"
        words += f'<br/>sha256 of the rule file: <font name="{mono}" size="7">{esc(sha or "not recorded")}</font>'
        out.append(words)
    return "<br/>".join(out)


def calibration_lines(cert_ends: Iterable[EndSection]) -> str:
    seen: dict[str, list[str]] = {}
    for e in cert_ends:
        words = e.calibration or ("not recorded" if e.result else "none (not inspected)")
        seen.setdefault(words, []).append(e.label)
    return "<br/>".join(f"{esc(k)} - ends {esc(', '.join(v))}" for k, v in seen.items())


def render_certificate(cert: Certificate) -> bytes:
    a = cert.assembly
    tz = cert.local_tz
    pics = prepare_pictures(a.ends)
    product = f"{a.product_name} ({a.product_id})"
    story: list[Flowable] = [
        banner(
            "ACCEPTANCE CERTIFICATE - FIBRE END-FACE INSPECTION",
            "ACCEPTED",
            GREEN,
            PALE_GREEN,
            [
                f"Certificate <b>{esc(cert.certificate_id)}</b>",
                f"Serial <b>{esc(a.serial)}</b>",
                esc(product),
            ],
            cert.qr_text,
        ),
        Spacer(1, 4 * mm),
    ]
    operators = ", ".join(a.operators) or "-"
    rows = [
        ("Serial number", f"<b>{esc(a.serial)}</b>"),
        ("Product", esc(product)),
        ("Part number", esc(a.part_number or "not scanned (identified by its serial)")),
        ("Certificate id", f"<b>{esc(cert.certificate_id)}</b>"),
        ("Issued", esc(both(cert.issued_us, tz))),
        ("Accepted", esc(both(a.closed_us, tz))),
        (
            "Registered",
            esc(both(a.registered_us, tz))
            + (f", by {esc(a.registered_by)}" if a.registered_by else ""),
        ),
        ("Station", esc(f"{cert.station} (signs this certificate)")),
        ("Operator(s)", esc(operators)),
        ("Rule set(s)", rules_lines(a.ends)),
        ("Scale calibration", calibration_lines(a.ends)),
    ]
    if a.polarity:
        rows.insert(2, ("Polarity", esc(f"type {a.polarity}")))
    story.append(key_values(rows, (30 * mm, CONTENT_WIDTH - 30 * mm), value_is_markup=True))
    story.append(Spacer(1, 4 * mm))
    story.append(para("Ends", "h2"))
    story.append(ends_summary(a, tz))
    story.append(Spacer(1, 4 * mm))
    story.append(deviations_box(a, tz))
    story.append(Spacer(1, 3 * mm))
    story.append(
        para(
            f"This certificate is signed with the key of station {esc(cert.station)} (PAdES). "
            "The signature covers the whole file: a change to any byte breaks it. "
            "To check it: <b>qa-station verify CERTIFICATE.pdf</b> (add --offline "
            "away from the station's record). The verdicts follow the rule set named for each "
            "end; every fibre's picture is kept, lossless, in the station's record.",
            "small",
        )
    )
    for n, e in enumerate(a.ends):
        # every MT end, and the first end, on a page of its own; small ends share pages
        if n == 0 or (connector(e.connector).is_multi_fiber and e.result is not None):
            story.append(PageBreak())
        else:
            story.append(CondPageBreak(95 * mm))
        story.extend(end_section(e, pics[e.label], tz))
        story.append(Spacer(1, 6 * mm))
    story.append(PageBreak())
    story.extend(history(a, tz))
    story.append(para("Deviations and overrides", "h2"))
    story.append(deviations_box(a, tz))
    story.append(Spacer(1, 4 * mm))
    story.append(
        record_box(
            a,
            [
                f"Certificate data (serial, certificate id, record hash, last event id, every end's "
                f"verdict and rule-file hash) is embedded in this PDF as certificate.json, inside the "
                f"signed bytes. Issued {esc(both(cert.issued_us, tz))}.",
                *_checkpoint_line(cert),
            ],
        )
    )
    return assembly_pdf(
        story, a, cert.station, "Acceptance certificate", "ACCEPTED", cert.certificate_id
    )
