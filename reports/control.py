"""Control charts in a PDF: the points, the centre line, the limits, and what is out of control.

The application computes the charts (``qa_station/drift.py``); this draws
them as vector graphics (a stepped limit line for limits that change with
each day's count) and lists every flagged point in words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from reports.pdf import CONTENT_WIDTH, GREY, LINE, RED, esc, fonts, para


@dataclass(frozen=True)
class ChartPointData:
    start_us: int
    n: int
    value: float
    lcl: float
    ucl: float
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChartData:
    bench: str
    kind: str  # "p" or "u"
    title: str
    centre: float
    points: tuple[ChartPointData, ...]

    @property
    def label(self) -> str:
        unit = "share failed" if self.kind == "p" else "per fibre"
        return f"{self.bench}: {self.title} ({self.kind}-chart, {unit})"


def day(at_us: int) -> str:
    return dt.datetime.fromtimestamp(at_us / 1e6, tz=dt.UTC).strftime("%Y-%m-%d")


def chart_drawing(
    chart: ChartData, width: float = CONTENT_WIDTH, height: float = 38 * mm
) -> Drawing:
    reg = fonts()[0]
    d = Drawing(width, height)
    left, bottom, right, top = 30.0, 14.0, width - 6.0, height - 16.0  # the title above
    pts = chart.points
    d.add(String(left, height - 9, chart.label, fontName=reg, fontSize=7.5))
    if not pts:
        d.add(
            String(
                left, bottom + 10, "no first inspections in this period", fontName=reg, fontSize=7
            )
        )
        return d
    hi = max(max(p.ucl for p in pts), max(p.value for p in pts), chart.centre) * 1.1 or 1.0
    share = chart.kind == "p"
    if share:
        hi = min(hi, 1.0)  # a share never passes 100 %
    n = len(pts)

    def x(i: float) -> float:
        return left + (right - left) * ((i + 0.5) / n)

    def y(v: float) -> float:
        return bottom + (top - bottom) * (v / hi)

    d.add(Line(left, bottom, right, bottom, strokeColor=LINE, strokeWidth=0.5))
    d.add(Line(left, bottom, left, top, strokeColor=LINE, strokeWidth=0.5))
    for v in (0.0, hi / 2, hi):
        text = f"{v:.0%}" if share else f"{v:.2g}"
        d.add(String(left - 3, y(v) - 2.5, text, fontName=reg, fontSize=6, textAnchor="end"))
    d.add(
        Line(
            left,
            y(chart.centre),
            right,
            y(chart.centre),
            strokeColor=colors.HexColor("#2c6fbb"),
            strokeWidth=0.8,
        )
    )
    for key in ("ucl", "lcl"):
        steps = []
        for i, p in enumerate(pts):
            v = getattr(p, key)
            steps += [x(i - 0.5), y(v), x(i + 0.5), y(v)]
        d.add(PolyLine(steps, strokeColor=GREY, strokeWidth=0.6, strokeDashArray=[2, 2]))
    d.add(
        PolyLine(
            [c for i, p in enumerate(pts) for c in (x(i), y(p.value))],
            strokeColor=colors.black,
            strokeWidth=0.6,
        )
    )
    for i, p in enumerate(pts):
        colour = RED if p.flags else colors.black
        d.add(
            Circle(x(i), y(p.value), 2.6 if p.flags else 1.6, fillColor=colour, strokeColor=colour)
        )
    step = max(1, n // 8)
    for i in range(0, n, step):
        d.add(
            String(
                x(i),
                bottom - 9,
                day(pts[i].start_us)[5:],
                fontName=reg,
                fontSize=6,
                textAnchor="middle",
            )
        )
    return d


def flagged_lines(chart: ChartData) -> list[Flowable]:
    """Each point out of control, in words."""
    out: list[Flowable] = []
    for p in chart.points:
        if p.flags:
            value = f"{p.value:.1%}" if chart.kind == "p" else f"{p.value:.3f}"
            limits = (
                f"limits {p.lcl:.3g}-{p.ucl:.3g}"
                if chart.kind == "u"
                else f"limits {p.lcl:.1%}-{p.ucl:.1%}"
            )
            out.append(
                para(
                    f'<font color="{RED.hexval()}"><b>out of control</b></font> '
                    f"{esc(chart.bench)} {esc(day(p.start_us))}: {esc(chart.title)} {value} "
                    f"(n {p.n}, {limits}): {esc('; '.join(p.flags))}",
                    "small",
                )
            )
    return out
