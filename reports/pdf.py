"""What the PDF reports share: fonts, styles, times, tables, pictures, and "page N of M".

Text is set in DejaVu Sans when the system has it (any serial, any operator
name prints as typed), else in the Bitstream Vera fonts that ship with
reportlab. Every string from the record is escaped before it reaches a
reportlab paragraph: a serial like ``<b>&`` prints as itself.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, TypeAlias
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Image, Paragraph, SimpleDocTemplate, Table, TableStyle

# Pictures go in as binary JPEG streams: ASCII85 (reportlab's default) makes them a quarter
# larger and, without reportlab's C accelerator, costs more time than drawing the whole page.
rl_config.useA85 = 0

PAGE = A4
MARGIN = 16 * mm
CONTENT_WIDTH = PAGE[0] - 2 * MARGIN

GREEN = colors.HexColor("#14773a")
RED = colors.HexColor("#c62020")
ORANGE = colors.HexColor("#d07800")
GREY = colors.HexColor("#6b6b6b")
LIGHT = colors.HexColor("#f1f1f1")
LINE = colors.HexColor("#b9b9b9")
PALE_RED = colors.HexColor("#fdecec")
PALE_GREEN = colors.HexColor("#eaf6ee")
PALE_ORANGE = colors.HexColor("#fff4e0")

# One TableStyle command: ("NAME", (col, row), (col, row), *values).
StyleCommand: TypeAlias = tuple[object, ...]
# One table cell: a flowable, plain text, or flowables stacked in the cell.
Cell: TypeAlias = Flowable | str | list[Flowable]

VERDICT_COLOUR = {"pass": GREEN, "fail": RED, "error": ORANGE}

_FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/TTF",
    "/usr/local/share/fonts",
    "/Library/Fonts",
    str(Path.home() / ".fonts"),
    str(Path.home() / "Library/Fonts"),
    "C:/Windows/Fonts",
)


@functools.cache
def fonts() -> tuple[str, str, str]:
    """(regular, bold, monospace) font names, registered with reportlab once."""

    def find(name: str) -> Path | None:
        for d in _FONT_DIRS:
            p = Path(d) / name
            if p.is_file():
                return p
        return None

    regular, bold, mono = (
        find("DejaVuSans.ttf"),
        find("DejaVuSans-Bold.ttf"),
        find("DejaVuSansMono.ttf"),
    )
    try:
        if regular and bold:
            pdfmetrics.registerFont(TTFont("QA-Sans", str(regular)))
            pdfmetrics.registerFont(TTFont("QA-Sans-Bold", str(bold)))
        else:
            import reportlab

            base = Path(reportlab.__file__).parent / "fonts"
            pdfmetrics.registerFont(TTFont("QA-Sans", str(base / "Vera.ttf")))
            pdfmetrics.registerFont(TTFont("QA-Sans-Bold", str(base / "VeraBd.ttf")))
        pdfmetrics.registerFontFamily("QA-Sans", normal="QA-Sans", bold="QA-Sans-Bold")
    except Exception:  # a damaged font file: the PDF standard fonts always work
        return "Helvetica", "Helvetica-Bold", "Courier"
    if mono:
        try:
            pdfmetrics.registerFont(TTFont("QA-Mono", str(mono)))
            return "QA-Sans", "QA-Sans-Bold", "QA-Mono"
        except Exception:
            pass
    return "QA-Sans", "QA-Sans-Bold", "Courier"


@functools.cache
def styles() -> dict[str, ParagraphStyle]:
    reg, bold, mono = fonts()
    base = ParagraphStyle("body", fontName=reg, fontSize=8.6, leading=11.2, alignment=TA_LEFT)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.4, leading=9.2),
        "tiny": ParagraphStyle("tiny", parent=base, fontSize=6.6, leading=8.0, textColor=GREY),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.4, leading=9.0),
        "cellc": ParagraphStyle(
            "cellc", parent=base, fontSize=7.4, leading=9.0, alignment=TA_CENTER
        ),
        "cellr": ParagraphStyle(
            "cellr", parent=base, fontSize=7.4, leading=9.0, alignment=TA_RIGHT
        ),
        "head": ParagraphStyle(
            "head", parent=base, fontName=bold, fontSize=7.4, leading=9.0, textColor=colors.white
        ),
        "headc": ParagraphStyle(
            "headc",
            parent=base,
            fontName=bold,
            fontSize=7.4,
            leading=9.0,
            textColor=colors.white,
            alignment=TA_CENTER,
        ),
        "label": ParagraphStyle("label", parent=base, fontSize=7.6, leading=9.6, textColor=GREY),
        "value": ParagraphStyle("value", parent=base, fontSize=8.6, leading=10.8),
        "mono": ParagraphStyle("mono", parent=base, fontName=mono, fontSize=7.2, leading=9.0),
        "h1": ParagraphStyle(
            "h1", parent=base, fontName=bold, fontSize=15, leading=19, spaceAfter=2
        ),
        "h2": ParagraphStyle(
            "h2", parent=base, fontName=bold, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=4
        ),
        "h3": ParagraphStyle(
            "h3", parent=base, fontName=bold, fontSize=9.2, leading=12, spaceBefore=6, spaceAfter=3
        ),
        "kicker": ParagraphStyle(
            "kicker", parent=base, fontName=bold, fontSize=9, leading=11, textColor=GREY
        ),
        "big": ParagraphStyle("big", parent=base, fontName=bold, fontSize=30, leading=34),
        "caption": ParagraphStyle(
            "caption", parent=base, fontSize=7, leading=8.6, textColor=GREY, alignment=TA_CENTER
        ),
        "alert": ParagraphStyle(
            "alert", parent=base, fontName=bold, fontSize=9, leading=11.5, textColor=RED
        ),
    }


def esc(text: object) -> str:
    """Any value as paragraph text that prints as itself."""
    return escape("" if text is None else str(text))


def short(text: str, n: int = 40) -> str:
    """``text`` cut to ``n`` characters, an ellipsis at the cut (a serial in a page's foot)."""
    return text if len(text) <= n else text[: n - 1] + "…"


def para(text: str, style: str = "body") -> Paragraph:
    """A paragraph of reportlab markup (escape record values with ``esc``)."""
    return Paragraph(text, styles()[style])


def text(value: object, style: str = "cell") -> Paragraph:
    """A paragraph of plain text."""
    return Paragraph(esc(value), styles()[style])


def cells(*values: object) -> list[Paragraph]:
    """A table row: each value as plain text, unless it is a paragraph already (a styled cell)."""
    return [v if isinstance(v, Paragraph) else text(v) for v in values]


def yes_no(flag: bool) -> Paragraph:
    """A centred yes or no, for a column of flags."""
    return text("yes" if flag else "no", "cellc")


def head_row(*titles: str, centred: Collection[str] = ()) -> list[Paragraph]:
    """A table's header row, one title a column; the ``centred`` ones head short values."""
    return [text(t, "headc" if t in centred else "head") for t in titles]


def coloured(word: str, colour: colors.Color, bold: bool = True) -> str:
    inner = f"<b>{esc(word)}</b>" if bold else esc(word)
    return f'<font color="{colour.hexval()}">{inner}</font>'


def verdict_word(verdict: str) -> str:
    word = {"pass": "PASS", "fail": "FAIL", "error": "NOT JUDGED"}.get(verdict, verdict.upper())
    return coloured(word, VERDICT_COLOUR.get(verdict, GREY))


# -- times ---------------------------------------------------------------------------------


def _local(at_us: int, tz: dt.tzinfo | None) -> dt.datetime:
    t = dt.datetime.fromtimestamp(at_us / 1e6, tz=dt.UTC)
    return t.astimezone(tz) if tz is not None else t.astimezone()


def utc(at_us: int | None) -> str:
    if at_us is None:
        return "-"
    return dt.datetime.fromtimestamp(at_us / 1e6, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _zone(t: dt.datetime) -> str:
    off = t.strftime("%z")
    off = f"UTC{off[:3]}:{off[3:]}" if off else ""
    name = t.tzname() or ""
    return f"{name}, {off}" if name and not name.startswith(("UTC", "+", "-")) else off


def local(at_us: int | None, tz: dt.tzinfo | None) -> str:
    if at_us is None:
        return "-"
    t = _local(at_us, tz)
    return f"{t.strftime('%Y-%m-%d %H:%M:%S')} ({_zone(t)})"


def both(at_us: int | None, tz: dt.tzinfo | None) -> str:
    """'2026-11-20 14:03:12 UTC / local 15:03:12 (CET, UTC+01:00)'; the local date is
    written out when it is not the UTC date."""
    if at_us is None:
        return "-"
    u = dt.datetime.fromtimestamp(at_us / 1e6, tz=dt.UTC)
    t = _local(at_us, tz)
    when = t.strftime("%H:%M:%S") if t.date() == u.date() else t.strftime("%Y-%m-%d %H:%M:%S")
    return f"{utc(at_us)} / local {when} ({_zone(t)})"


def short_utc(at_us: int | None) -> str:
    if at_us is None:
        return "-"
    return dt.datetime.fromtimestamp(at_us / 1e6, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


# -- building blocks -----------------------------------------------------------------------


def picture(
    data: bytes, width: float, height: float | None = None, aspect: float | None = None
) -> Image:
    """An embedded picture (JPEG or PNG bytes), ``width`` points wide."""
    if height is None:
        height = width * (aspect or 1.0)
    return Image(io.BytesIO(data), width=width, height=height)


def key_values(
    rows: Sequence[tuple[str, object]], widths: tuple[float, float], value_is_markup: bool = False
) -> Table:
    """Two columns: a grey label, then the value."""
    data = [
        [
            para(esc(k), "label"),
            para(str(v) if value_is_markup else esc(v), "value") if not hasattr(v, "wrap") else v,
        ]
        for k, v in rows
    ]
    t = Table(data, colWidths=list(widths))
    t.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("LINEBELOW", (0, 0), (-1, -2), 0.25, LIGHT),
            ]
        )
    )
    return t


def styled(
    rows: Sequence[Sequence[Cell]],
    widths: Sequence[float],
    style: Sequence[StyleCommand],
    **table: Any,
) -> Table:
    """A table with its style set: a layout is then one expression, not four statements."""
    t = Table(rows, colWidths=list(widths), **table)
    t.setStyle(TableStyle(list(style)))
    return t


def in_rows(cells: list[Cell], per_row: int) -> list[list[Cell]]:
    """``cells`` ``per_row`` a row, the last row padded with blanks to as many columns."""
    rows = [cells[i : i + per_row] for i in range(0, len(cells), per_row)]
    rows[-1] += [""] * (per_row - len(rows[-1]))
    return rows


def grid(
    data: Sequence[Sequence[Cell]],
    widths: Sequence[float],
    header_rows: int = 1,
    extra: Sequence[StyleCommand] = (),
    zebra: bool = True,
    repeat: bool = True,
) -> Table:
    """A table with a dark header and light rules; ``data`` cells are paragraphs or strings."""
    t = Table(data, colWidths=list(widths), repeatRows=header_rows if repeat else 0, hAlign="LEFT")
    style: list[StyleCommand] = [
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.HexColor("#3b4650")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 1.1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("LINEBELOW", (0, header_rows), (-1, -1), 0.25, LINE),
        ("BOX", (0, 0), (-1, -1), 0.5, LINE),
    ]
    if zebra:
        for r in range(header_rows, len(data)):
            if (r - header_rows) % 2 == 1:
                style.append(("BACKGROUND", (0, r), (-1, r), colors.HexColor("#f7f7f7")))
    style.extend(extra)
    t.setStyle(TableStyle(style))
    return t


def boxed(
    flowables: list[Flowable],
    border: colors.Color,
    fill: colors.Color,
    width: float = CONTENT_WIDTH,
) -> Table:
    """Flowables in a coloured box (deviations, warnings, the verdict banner)."""
    t = Table([[flowables]], colWidths=[width])
    t.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.4, border),
                ("BACKGROUND", (0, 0), (-1, -1), fill),
                ("LEFTPADDING", (0, 0), (-1, -1), 7),
                ("RIGHTPADDING", (0, 0), (-1, -1), 7),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return t


# -- the document ----------------------------------------------------------------------------


Footer = Callable[[Canvas, int, int], None]


def _numbered_canvas(footer: Footer) -> type[Canvas]:
    """A canvas that knows the page count when it draws each page's footer ("page N of M")."""

    class NumberedCanvas(Canvas):
        # reportlab's own signature, passed through unchanged (the library is untyped).
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for n, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                footer(self, n, total)
                Canvas.showPage(self)
            Canvas.save(self)

    return NumberedCanvas


def standard_footer(left: str, right_prefix: str = "") -> Footer:
    reg, _bold, _mono = fonts()

    def draw(c: Canvas, n: int, total: int) -> None:
        c.saveState()
        c.setStrokeColor(LINE)
        c.setLineWidth(0.5)
        y = MARGIN - 6 * mm
        c.line(MARGIN, y + 9, PAGE[0] - MARGIN, y + 9)
        c.setFont(reg, 7.2)
        c.setFillColor(GREY)
        c.drawString(MARGIN, y, left)
        c.drawRightString(PAGE[0] - MARGIN, y, f"{right_prefix}page {n} of {total}")
        c.restoreState()

    return draw


def build(
    story: list[Flowable],
    footer: Footer,
    title: str,
    author: str,
    subject: str,
    keywords: Sequence[str] = (),
    header: Callable[[Canvas, object], None] | None = None,
) -> bytes:
    """Lay out ``story`` on A4 pages and return the PDF's bytes."""
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 2 * mm,
        title=title,
        author=author,
        subject=subject,
        creator="qa-station",
        keywords=list(keywords),
    )
    kwargs: dict[str, Callable[[Canvas, object], None]] = {}
    if header is not None:
        kwargs = {"onLaterPages": header}
    doc.build(story, canvasmaker=_numbered_canvas(footer), **kwargs)
    return buf.getvalue()
