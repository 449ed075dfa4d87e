"""Statistics' drift charts: per bench, the first-inspection failure rate (p-chart) and zone B
defects per fibre (u-chart), with their limits and every point out of control in red.

The charts come from ``qa_station.drift`` in a worker; a point the Western
Electric rules flag is drawn large and red and listed in words under the
plots, so a drifting bench is seen without reading a chart.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from qa_station.drift import DAY_US, ControlChart, Drift, drift
from qa_station.ui import theme
from qa_station.ui.record_reader import RecordReader
from qa_station.ui.widgets import Page

BACKGROUND = "#ffffff"
INK = "#2c3e50"
CENTRE = "#2c6fbb"
LIMIT = "#95a5a6"


class DriftPanel(Page[RecordReader]):
    data: Drift | None = None

    def _build(self) -> None:
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(QtWidgets.QLabel("Drift of bench"))
        self.bench = QtWidgets.QComboBox()
        self.bench.currentIndexChanged.connect(self._draw)
        bar.addWidget(self.bench)
        self.flags = QtWidgets.QLabel("")
        self.flags.setWordWrap(True)
        bar.addWidget(self.flags, 1)
        lay.addLayout(bar)
        row = QtWidgets.QHBoxLayout()
        self.plots: dict[str, pg.PlotItem] = {}
        for kind, title in (
            ("p", "p-chart: first-inspection failure rate"),
            ("u", "u-chart: zone B defects per fibre"),
        ):
            w = pg.PlotWidget(
                background=BACKGROUND, axisItems={"bottom": pg.DateAxisItem(orientation="bottom")}
            )
            item = w.getPlotItem()
            item.setTitle(title, color=INK, size="10pt")
            item.setMenuEnabled(False)
            item.hideButtons()
            item.showGrid(x=False, y=True, alpha=0.2)
            w.setMinimumSize(320, 170)
            self.plots[kind] = item
            row.addWidget(w)
        lay.addLayout(row)

    def refresh(self, since_us: int, until_us: int, product: str | None) -> None:
        self.runner.start(
            lambda r: drift(self.c.store, since_us, until_us, product),
            self.show_drift,
            self._failed,
        )

    def show_drift(self, data: Drift) -> None:
        self.data = data
        keep = self.bench.currentText()
        benches = sorted({c.bench for c in data.charts})
        self.bench.blockSignals(True)
        self.bench.clear()
        self.bench.addItems(benches)
        if keep in benches:
            self.bench.setCurrentText(keep)
        self.bench.blockSignals(False)
        self._draw()

    def charts(self) -> dict[str, ControlChart]:
        if self.data is None:
            return {}
        return {c.kind: c for c in self.data.charts if c.bench == self.bench.currentText()}

    def _draw(self) -> None:
        charts = self.charts()
        words = []
        for kind, plot in self.plots.items():
            plot.clear()
            chart = charts.get(kind)
            if chart is None or not chart.points:
                continue
            x = np.array([p.start_us / 1e6 + DAY_US / 2e6 for p in chart.points])
            half = DAY_US / 2e6
            steps_x = np.repeat(x, 2) + np.tile([-half, half], len(x))
            for key in ("ucl", "lcl"):
                y = np.repeat([getattr(p, key) for p in chart.points], 2)
                plot.plot(
                    steps_x, y, pen=pg.mkPen(LIMIT, width=1, style=pg.QtCore.Qt.PenStyle.DashLine)
                )
            plot.addLine(y=chart.centre, pen=pg.mkPen(CENTRE, width=1.5))
            values = np.array([p.value for p in chart.points])
            plot.plot(x, values, pen=pg.mkPen(INK, width=1.2))
            brushes = [theme.REFUSAL if p.flags else INK for p in chart.points]
            sizes = [12 if p.flags else 6 for p in chart.points]
            plot.addItem(
                pg.ScatterPlotItem(x, values, brush=brushes, size=sizes, pen=pg.mkPen("w"))
            )
            for p in chart.flagged:
                when = dt.datetime.fromtimestamp(p.start_us / 1e6, tz=dt.UTC).strftime("%Y-%m-%d")
                value = f"{p.value:.1%}" if kind == "p" else f"{p.value:.2f}"
                words.append(f"{when} {chart.title} {value}: {'; '.join(p.flags)}")
        if words:
            self.flags.setText(
                f"<b style='color:{theme.REFUSAL}'>{len(words)} point(s) out of control:</b> "
                + " | ".join(words)
            )
        else:
            self.flags.setText(
                "every point in control" if charts else "no first inspections in this period"
            )

    def _failed(self, exc: Exception) -> None:
        self.flags.setText(f"<b style='color:{theme.REFUSAL}'>drift charts: {exc}</b>")
