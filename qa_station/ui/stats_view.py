"""The Statistics page: first-pass yield, where fibres fail, cleaning effort, escalation causes.

The numbers come from ``qa_station.stats`` (aggregate queries) in a worker;
this page only asks for a period and a product and draws what comes back.
The defect map is drawn on the ferrule as the end face is seen, key up and
fibre 1 on the left (grading.geometry), so a position that keeps failing is
found on the connector where the operator would look for it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from grading.geometry import MT_PITCH_UM, ConnectorGeometry
from qa_station import stats
from qa_station.stats import CleaningHistogram, DefectMap, EscalationCauses, FirstPassYield
from qa_station.ui import theme
from qa_station.ui.drift_view import DriftPanel
from qa_station.ui.record_reader import RecordReader
from qa_station.ui.widgets import Page, button, note, period

pg.setConfigOptions(imageAxisOrder="row-major")

DEFAULT_DAYS = 30
BACKGROUND = "#ffffff"
INK = "#2c3e50"
FAINT = "#95a5a6"
ACCEPTED = theme.FIBRE_STATE["pass"]
REJECTED = theme.FIBRE_STATE["fail"]
ESCALATED = theme.FIBRE_STATE["escalated"]
# No failures: a calm grey-green; the more failures, the hotter.
HEAT = pg.ColorMap(
    pos=[0.0, 0.35, 0.7, 1.0],
    color=[(209, 242, 235), (247, 220, 111), (235, 152, 78), (192, 57, 43)],
)
NO_INSPECTIONS = "no inspections in this period"


@dataclass(frozen=True)
class StatsQuery:
    since_us: int
    until_us: int
    product_id: str | None
    bucket: str
    utc_offset_s: int
    connectors: tuple[str, ...]


@dataclass(frozen=True)
class StatsData:
    query: StatsQuery
    fpy: FirstPassYield
    maps: dict[str, DefectMap]
    cleaning: CleaningHistogram
    escalations: EscalationCauses


def load_stats(controller: RecordReader, q: StatsQuery) -> StatsData:
    """Everything the page shows, in one worker task (the database does the counting)."""
    store = controller.store
    period = (q.since_us, q.until_us)
    return StatsData(
        query=q,
        fpy=stats.first_pass_yield(store, *period, q.bucket, q.product_id, q.utc_offset_s),
        maps={c: stats.defects_by_position(store, c, *period, q.product_id) for c in q.connectors},
        cleaning=stats.cleaning_cycles(store, *period, q.product_id),
        escalations=stats.escalation_causes(store, *period, q.product_id),
    )


def count_ticks(top: int, most: int = 6) -> list[int]:
    """Whole-number ticks from 0 to ``top`` (included), at most ``most`` of them."""
    step = max(1, math.ceil(top / (most - 1)))
    ticks = list(range(0, top + 1, step))
    if ticks[-1] != top:
        ticks.append(top)  # the hottest fibre's count is always on the bar
    return ticks


def _plot(title: str, axis_items: dict | None = None) -> pg.PlotWidget:
    w = pg.PlotWidget(background=BACKGROUND, axisItems=axis_items)
    item = w.getPlotItem()
    item.setTitle(title, color=INK, size="11pt")
    item.setMenuEnabled(False)
    item.hideButtons()
    for name in ("left", "bottom"):
        ax = item.getAxis(name)
        ax.setPen(pg.mkPen(FAINT))
        ax.setTextPen(pg.mkPen(INK))
    w.setMinimumSize(320, 240)
    return w


def _message(text: str = "") -> pg.TextItem:
    t = pg.TextItem(text, color=FAINT, anchor=(0.5, 0.5))
    f = QtGui.QFont()
    f.setPointSize(12)
    t.setFont(f)
    t.setZValue(30)
    return t


class StatsView(Page[RecordReader]):
    data: StatsData | None = None
    _generation = 0
    _shown_once = False

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QtWidgets.QVBoxLayout(self)
        bar = QtWidgets.QHBoxLayout()
        self.since, self.until = period(DEFAULT_DAYS)
        for d in (self.since, self.until):
            d.dateChanged.connect(self._filters_changed)
        self.product = QtWidgets.QComboBox()
        self.product.addItem("All products", None)
        for p in self.c.catalog.products:
            self.product.addItem(f"{p.id}: {p.name}", p.id)
        self.product.setMinimumContentsLength(28)
        self.product.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.product.currentIndexChanged.connect(self._product_changed)
        self.bucket = QtWidgets.QComboBox()
        self.bucket.addItem("per day", "day")
        self.bucket.addItem("per hour", "hour")
        self.bucket.currentIndexChanged.connect(self._filters_changed)
        self.ferrule = QtWidgets.QComboBox()
        self.ferrule.setToolTip("which connector type the defect map shows")
        self.ferrule.currentIndexChanged.connect(self._draw_map_from_data)
        self.ferrule.activated.connect(self._ferrule_picked)
        self._ferrule_chosen = False  # until the user picks one, show the busiest
        self.refresh_btn = button("Refresh", self.refresh)
        for label, w in (
            ("From", self.since),
            ("to", self.until),
            ("Product", self.product),
            ("Yield", self.bucket),
            ("Defect map", self.ferrule),
        ):
            bar.addWidget(QtWidgets.QLabel(label))
            bar.addWidget(w)
        bar.addWidget(self.refresh_btn)
        bar.addStretch(1)
        outer.addLayout(bar)
        self.status = note()
        outer.addWidget(self.status)

        grid = QtWidgets.QGridLayout()
        outer.addLayout(grid, 1)
        # First-pass yield over time.
        self.fpy_widget = _plot(
            "First-pass yield", {"bottom": pg.DateAxisItem(orientation="bottom")}
        )
        self.fpy_plot = self.fpy_widget.getPlotItem()
        self.fpy_plot.setLabel("left", "ends passing first time", units="%")
        self.fpy_plot.showGrid(x=False, y=True, alpha=0.25)
        self.fpy_curve = pg.PlotDataItem(
            pen=pg.mkPen(ACCEPTED, width=2),
            symbol="o",
            symbolSize=8,
            symbolBrush=ACCEPTED,
            symbolPen=pg.mkPen("w"),
        )
        self.fpy_plot.addItem(self.fpy_curve)
        self.fpy_message = _message()
        self.fpy_plot.addItem(self.fpy_message, ignoreBounds=True)
        grid.addWidget(self.fpy_widget, 0, 0)
        # Defects by fibre position, on the ferrule.
        self.map_widget = pg.GraphicsLayoutWidget()
        self.map_widget.setBackground(BACKGROUND)
        self.map_widget.setMinimumSize(320, 240)
        self.map_plot = self.map_widget.addPlot()
        self.map_plot.setTitle("Failed fibre inspections by position", color=INK, size="11pt")
        self.map_plot.setMenuEnabled(False)
        self.map_plot.hideButtons()
        self.map_plot.hideAxis("left")
        self.map_plot.hideAxis("bottom")
        self.map_plot.setAspectLocked(True)
        self.map_plot.invertY(True)  # geometry y runs down, key up
        self.map_plot.setMouseEnabled(x=False, y=False)
        self.colorbar = pg.ColorBarItem(
            values=(0, 1),
            colorMap=HEAT,
            interactive=False,
            label="failed inspections",
            width=14,
            colorMapMenu=False,
        )
        ax = self.colorbar.getAxis("right")
        ax.setPen(pg.mkPen(FAINT))
        ax.setTextPen(pg.mkPen(INK))
        self.map_widget.addItem(self.colorbar)
        self.fibre_spots = pg.ScatterPlotItem(pxMode=False, hoverable=True, tip=self._spot_tip)
        self.fibre_spots.setZValue(10)
        self._map_items: list[QtWidgets.QGraphicsItem] = []
        self.map_message = _message()
        self.map_plot.addItem(self.map_message, ignoreBounds=True)
        grid.addWidget(self.map_widget, 0, 1)
        # Cleaning cycles per closed assembly.
        self.clean_widget = _plot("Cleanings per closed assembly")
        self.clean_plot = self.clean_widget.getPlotItem()
        self.clean_plot.setLabel("bottom", "cleanings")
        self.clean_plot.setLabel("left", "assemblies")
        self.clean_plot.showGrid(x=False, y=True, alpha=0.25)
        legend = self.clean_plot.addLegend(offset=(-10, 10), labelTextColor=INK)
        legend.setBrush(pg.mkBrush(255, 255, 255, 200))
        self.clean_legend = legend
        self.clean_accepted = pg.BarGraphItem(
            x=[], height=[], width=0.8, brush=ACCEPTED, pen=pg.mkPen("w")
        )
        self.clean_rejected = pg.BarGraphItem(
            x=[], height=[], width=0.8, brush=REJECTED, pen=pg.mkPen("w")
        )
        self.clean_plot.addItem(self.clean_accepted)
        self.clean_plot.addItem(self.clean_rejected)
        legend.addItem(self.clean_accepted, "accepted")
        legend.addItem(self.clean_rejected, "rejected")
        self.clean_message = _message()
        self.clean_plot.addItem(self.clean_message, ignoreBounds=True)
        grid.addWidget(self.clean_widget, 1, 0)
        # Escalations by cause.
        self.esc_widget = _plot("Escalations by cause")
        self.esc_plot = self.esc_widget.getPlotItem()
        self.esc_plot.setLabel("bottom", "share of escalations", units="%")
        self.esc_plot.hideAxis("left")
        self.esc_plot.invertY(True)  # most frequent on top
        self.esc_bars = pg.BarGraphItem(
            x0=[], y=[], width=[], height=0.5, brush=ESCALATED, pen=pg.mkPen("w")
        )
        self.esc_plot.addItem(self.esc_bars)
        self.esc_labels: list[pg.TextItem] = []
        self.esc_message = _message()
        self.esc_plot.addItem(self.esc_message, ignoreBounds=True)
        grid.addWidget(self.esc_widget, 1, 1)
        self.drift = DriftPanel(self.c, self.runner)  # control charts per bench (issue 14)
        grid.addWidget(self.drift, 2, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        self._axis_names = {
            self.fpy_plot: ("left", "bottom"),
            self.clean_plot: ("left", "bottom"),
            self.esc_plot: ("bottom",),
        }
        self._fill_ferrules()
        self._show_all_empty("press Refresh to load the statistics")

    # -- filters -----------------------------------------------------------------------------
    def period_us(self) -> tuple[int, int]:
        """[since 00:00, the day after until 00:00) in local time, as UTC microseconds."""
        midnight = QtCore.QTime(0, 0)
        since = QtCore.QDateTime(self.since.date(), midnight)
        until = QtCore.QDateTime(self.until.date().addDays(1), midnight)
        return since.toMSecsSinceEpoch() * 1000, until.toMSecsSinceEpoch() * 1000

    def _connectors(self) -> list[str]:
        """The connector types of the chosen product (every product's, for all), MT first."""
        pid = self.product.currentData()
        products = [p for p in self.c.catalog.products if pid is None or p.id == pid]
        seen: dict[str, ConnectorGeometry] = {}
        for p in products:
            for e in p.ends:
                seen.setdefault(e.connector, e.geometry)
        return sorted(seen, key=lambda n: (not seen[n].is_multi_fiber, n))

    def _fill_ferrules(self) -> None:
        keep = self.ferrule.currentText()
        self.ferrule.blockSignals(True)
        self.ferrule.clear()
        names = self._connectors()
        self.ferrule.addItems(names)
        if keep in names:
            self.ferrule.setCurrentText(keep)
        self.ferrule.blockSignals(False)

    def _ferrule_picked(self) -> None:
        self._ferrule_chosen = True

    def _product_changed(self) -> None:
        self._ferrule_chosen = False
        self._fill_ferrules()
        self._filters_changed()

    def _filters_changed(self) -> None:
        if self.data is not None:
            self._say("the filters changed: press Refresh to update the plots", theme.ADVICE)

    def take_focus(self) -> None:
        """Shown: the keys go to the Refresh button, not into a date with its year selected."""
        self.refresh_btn.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        QtCore.QTimer.singleShot(0, self.take_focus)
        if not self._shown_once:
            self._shown_once = True
            self.refresh()

    # -- loading ---------------------------------------------------------------------------
    def query(self) -> StatsQuery:
        since_us, until_us = self.period_us()
        start = QtCore.QDateTime(self.since.date(), QtCore.QTime(0, 0))
        return StatsQuery(
            since_us=since_us,
            until_us=until_us,
            product_id=self.product.currentData(),
            bucket=self.bucket.currentData(),
            utc_offset_s=start.offsetFromUtc(),
            connectors=tuple(self.ferrule.itemText(i) for i in range(self.ferrule.count())),
        )

    def refresh(self) -> None:
        if self.since.date() > self.until.date():
            self._say("the period starts after it ends: choose a 'from' date before 'to'")
            return
        q = self.query()
        self._generation += 1
        generation = self._generation
        self._say("loading...", INK)
        self.drift.refresh(q.since_us, q.until_us, q.product_id)
        self.runner.start(
            lambda report: load_stats(self.c, q),
            lambda data: self._loaded(generation, data),
            lambda exc: self._failed(generation, exc),
            label="counting the statistics",
        )

    def _loaded(self, generation: int, data: StatsData) -> None:
        if generation != self._generation:
            return  # an older request; a newer one is on its way
        self.data = data
        self._draw_fpy(data.fpy, data.query)
        busiest = max(data.maps.values(), key=lambda m: m.inspections, default=None)
        current = data.maps.get(self.ferrule.currentText())
        if (
            not self._ferrule_chosen
            and busiest is not None
            and busiest.inspections > (current.inspections if current else 0)
        ):
            self.ferrule.blockSignals(True)
            self.ferrule.setCurrentText(busiest.connector)
            self.ferrule.blockSignals(False)
        self._draw_map_from_data()
        self._draw_cleaning(data.cleaning)
        self._draw_escalations(data.escalations)
        f = data.fpy
        summary = (
            f"{f.ends} ends first inspected, {f.passed} passed first time ({100 * f.share:.1f} %)"
            if f.ends
            else NO_INSPECTIONS
        )
        self._say(f"{self._period_words(data.query)}: {summary}", INK)

    def _failed(self, generation: int, exc: Exception) -> None:
        if generation == self._generation:
            self._say(f"the statistics could not be loaded: {exc}")

    def _say(self, text: str, colour: str = theme.REFUSAL) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {colour};")

    @staticmethod
    def _period_words(q: StatsQuery) -> str:
        since = dt.datetime.fromtimestamp(q.since_us / 1e6).date()
        until = dt.datetime.fromtimestamp(q.until_us / 1e6).date() - dt.timedelta(days=1)
        product = q.product_id or "all products"
        return f"{since.isoformat()} to {until.isoformat()}, {product}"

    # -- drawing ---------------------------------------------------------------------------
    def _show_all_empty(self, text: str) -> None:
        for plot, message in (
            (self.fpy_plot, self.fpy_message),
            (self.clean_plot, self.clean_message),
            (self.esc_plot, self.esc_message),
        ):
            self._empty(plot, message, text)
        self._clear_map()
        self._empty(self.map_plot, self.map_message, text)

    def _empty(
        self,
        plot: pg.PlotItem,
        message: pg.TextItem,
        text: str,
        x: tuple[float, float] = (0.0, 1.0),
        y: tuple[float, float] = (0.0, 1.0),
        axes: bool = False,
    ) -> None:
        """A plot with nothing to draw: the message in its middle, no meaningless ticks."""
        plot.getViewBox().setRange(xRange=x, yRange=y, padding=0)
        message.setText(text)
        message.setPos((x[0] + x[1]) / 2, (y[0] + y[1]) / 2)
        message.setVisible(True)
        self._axes(plot, axes)
        if plot is self.clean_plot:
            self.clean_legend.setVisible(False)

    def _axes(self, plot: pg.PlotItem, on: bool) -> None:
        for name in self._axis_names.get(plot, ()):
            plot.showAxis(name, on)

    def _draw_fpy(self, fpy: FirstPassYield, q: StatsQuery) -> None:
        size_s = stats.BUCKETS_US[fpy.bucket] / 1e6
        if not fpy.buckets:
            self.fpy_curve.setData([], [])
            period = (q.since_us / 1e6, q.until_us / 1e6)
            self._empty(self.fpy_plot, self.fpy_message, NO_INSPECTIONS, period, (-3, 103), True)
            self.fpy_plot.setTitle("First-pass yield", color=INK, size="11pt")
            return
        self.fpy_message.setVisible(False)
        self._axes(self.fpy_plot, True)
        x = np.array([b.start_us / 1e6 + size_s / 2 for b in fpy.buckets])
        y = np.array([100.0 * b.share for b in fpy.buckets])
        self.fpy_curve.setData(x, y)
        self.fpy_plot.setXRange(q.since_us / 1e6, q.until_us / 1e6, padding=0.02)
        self.fpy_plot.setYRange(0, 100, padding=0.05)
        self.fpy_plot.setTitle(
            f"First-pass yield {fpy.bucket} by {fpy.bucket}: {100 * fpy.share:.1f} % "
            f"of {fpy.ends} ends",
            color=INK,
            size="11pt",
        )
        self.fpy_widget.setToolTip(
            "\n".join(
                f"{dt.datetime.fromtimestamp(b.start_us / 1e6):%Y-%m-%d %H:%M}: "
                f"{b.passed} of {b.ends} passed first time"
                for b in fpy.buckets[-24:]
            )
        )

    def _draw_map_from_data(self) -> None:
        if self.data is None:
            return
        name = self.ferrule.currentText()
        dmap = self.data.maps.get(name)
        if dmap is None:
            self._clear_map()
            self._empty(self.map_plot, self.map_message, "no connector type to show")
            return
        self._draw_map(dmap)

    def _clear_map(self) -> None:
        for item in self._map_items:
            self.map_plot.removeItem(item)
        self._map_items = []
        self.fibre_spots.setData([])

    def _add_map(self, item: QtWidgets.QGraphicsItem) -> None:
        self.map_plot.addItem(item)
        self._map_items.append(item)

    def _draw_map(self, dmap: DefectMap) -> None:
        self._clear_map()
        g = dmap.geometry
        outline = pg.mkPen(FAINT, width=2)
        if g.is_multi_fiber:
            # The MT ferrule around its fibre array; the guide holes, far outside it, are
            # left out so the fibres are big enough to read.
            half_w = max(abs(x) for x, _ in g.fiber_positions_um) + 1.3 * MT_PITCH_UM
            half_h = max(abs(y) for _, y in g.fiber_positions_um) + 1.3 * MT_PITCH_UM
            path = QtGui.QPainterPath()
            path.addRoundedRect(-half_w, -half_h, 2 * half_w, 2 * half_h, 120, 120)
            ferrule = QtWidgets.QGraphicsPathItem(path)
            key_w, key_h = 0.28 * half_w, 0.35 * MT_PITCH_UM
            size = 0.82 * MT_PITCH_UM
        else:
            half_w = half_h = g.ferrule_size_um[0] / 2
            ferrule = QtWidgets.QGraphicsEllipseItem(-half_w, -half_h, 2 * half_w, 2 * half_h)
            key_w, key_h = 0.6 * half_w, 0.24 * half_h
            size = 0.72 * half_w
        ferrule.setPen(outline)
        ferrule.setBrush(QtGui.QColor("#ecf0f1"))
        self._add_map(ferrule)
        # The key, on top of the ferrule as the end face is seen.
        key = QtWidgets.QGraphicsRectItem(-key_w / 2, -half_h - key_h, key_w, key_h)
        key.setPen(outline)
        key.setBrush(QtGui.QColor(FAINT))
        self._add_map(key)
        key_text = pg.TextItem("key", color=INK, anchor=(0.5, 1.0))
        key_text.setPos(0, -half_h - key_h)
        self._add_map(key_text)
        # Fibres are drawn larger than 125 um so the colour can be seen, never overlapping.
        top = max(dmap.max_failed, 1)
        self.colorbar.setLevels((0, top))
        # Failed inspections are counted: the bar's ticks are whole numbers.
        self.colorbar.getAxis("right").setTicks([[(v, str(v)) for v in count_ticks(top)], []])
        spots = []
        for p in dmap.positions:
            colour = HEAT.map(p.failed / top, mode="qcolor")
            spots.append(
                {
                    "pos": p.position_um,
                    "size": size,
                    "brush": pg.mkBrush(colour),
                    "pen": pg.mkPen(INK, width=1),
                    "data": p,
                }
            )
        self.fibre_spots.setData(spots)
        self.map_plot.addItem(self.fibre_spots)
        self._map_items.append(self.fibre_spots)
        font = QtGui.QFont()
        font.setPointSize(8 if g.fiber_count > 12 else 9)
        small = QtGui.QFont(font)
        small.setPointSize(7)
        ys = sorted({p.position_um[1] for p in dmap.positions})
        for p in dmap.positions:
            x, y = p.position_um
            count = pg.TextItem(str(p.failed), color=INK if p.failed < top * 0.7 else "w")
            count.setAnchor((0.5, 0.5))
            count.setFont(font)
            count.setPos(x, y)
            count.setZValue(20)
            self._add_map(count)
            # Fibre numbers outside the rows: above the top row, below the bottom one.
            above = y == ys[0]
            number = pg.TextItem(
                str(p.fiber), color=FAINT, anchor=(0.5, 1.0) if above else (0.5, 0.0)
            )
            number.setFont(small)
            number.setPos(x, y - size * 0.55 if above else y + size * 0.55)
            self._add_map(number)
        self.map_plot.getViewBox().setRange(
            xRange=(-half_w, half_w), yRange=(-half_h - 3 * key_h, half_h), padding=0.03
        )
        title = (
            f"Failed fibre inspections by position, {dmap.connector}: {dmap.failed} in "
            f"{dmap.inspections} end inspections"
        )
        self.map_plot.setTitle(title, color=INK, size="11pt")
        if dmap.inspections:
            self.map_message.setVisible(False)
        else:
            self.map_message.setText(f"no {dmap.connector} ends inspected in this period")
            self.map_message.setPos(0, half_h * 0.62)
            self.map_message.setVisible(True)

    @staticmethod
    def _spot_tip(x: float, y: float, data: object) -> str:
        p = data
        share = f", {100 * p.failed / p.inspected:.0f} %" if p.inspected else ""
        extra = f"; {p.not_judged} not judged" if p.not_judged else ""
        return f"fibre {p.fiber}: failed {p.failed} of {p.inspected} inspections{share}{extra}"

    def _draw_cleaning(self, hist: CleaningHistogram) -> None:
        if not hist.assemblies:
            self.clean_accepted.setOpts(x=[], height=[])
            self.clean_rejected.setOpts(x=[], y0=[], height=[])
            self._empty(self.clean_plot, self.clean_message, "no assemblies closed in this period")
            self.clean_plot.setTitle("Cleanings per closed assembly", color=INK, size="11pt")
            return
        self.clean_message.setVisible(False)
        self.clean_legend.setVisible(True)
        self._axes(self.clean_plot, True)
        x = np.array(hist.cycles, dtype=float)
        acc = np.array(hist.accepted, dtype=float)
        rej = np.array(hist.rejected, dtype=float)
        self.clean_accepted.setOpts(x=x, height=acc, width=0.8)
        self.clean_rejected.setOpts(x=x, y0=acc, height=rej, width=0.8)
        top = float((acc + rej).max())
        self.clean_plot.setXRange(-0.6, x[-1] + 0.6, padding=0)
        self.clean_plot.setYRange(0, top * 1.4, padding=0.02)  # room for the legend
        self.clean_plot.getAxis("left").setTickSpacing(max(1.0, np.ceil(top / 6)), 1.0)
        step = max(1, len(x) // 16)
        self.clean_plot.getAxis("bottom").setTicks(
            [[(float(c), str(c)) for c in hist.cycles[::step]]]
        )
        self.clean_plot.setTitle(
            f"Cleanings per closed assembly: {hist.assemblies} assemblies, mean {hist.mean():.1f}",
            color=INK,
            size="11pt",
        )

    def _draw_escalations(self, esc: EscalationCauses) -> None:
        for t in self.esc_labels:
            self.esc_plot.removeItem(t)
        self.esc_labels = []
        if not esc.total:
            self.esc_bars.setOpts(x0=[], y=[], width=[])
            self._empty(self.esc_plot, self.esc_message, "no escalations in this period")
            self.esc_plot.setTitle("Escalations by cause", color=INK, size="11pt")
            return
        self.esc_message.setVisible(False)
        self._axes(self.esc_plot, True)
        shares = np.array([100.0 * n / esc.total for _, n in esc.causes])
        y = np.arange(len(esc.causes), dtype=float)
        self.esc_bars.setOpts(x0=np.zeros_like(y), y=y, width=shares, height=0.45)
        for i, (cause, n) in enumerate(esc.causes):
            label = pg.TextItem(f"{cause}: {n} ({shares[i]:.0f} %)", color=INK, anchor=(0, 1))
            label.setPos(0, y[i] - 0.25)
            self.esc_plot.addItem(label)
            self.esc_labels.append(label)
        self.esc_plot.setXRange(0, 100, padding=0.02)
        self.esc_plot.setYRange(-0.9, max(len(esc.causes), 4) - 0.5, padding=0)
        self.esc_plot.setTitle(
            f"Escalations by cause: {esc.total} in this period", color=INK, size="11pt"
        )
