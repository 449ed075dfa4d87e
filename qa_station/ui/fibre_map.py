"""The fibre map: the ferrule of the current end, every fibre in its state, clickable.

Drawn from the connector geometry as the end face is seen with the key up,
fibre 1 on the left (the MT layout of grading.geometry), so the map and the
operator's mental picture agree. A legend under the ferrule names every
colour, and the key is marked in plain letters.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from grading.geometry import ConnectorGeometry
from qa_station.bench_view import FIBRE_STATES
from qa_station.ui import theme

LEGEND_GAP = 14  # between legend entries, px


class FibreMap(QtWidgets.QWidget):
    fibre_clicked = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.geometry_: ConnectorGeometry | None = None
        self.states: dict[int, str] = {}
        self.selected: int | None = None
        self.setMinimumHeight(120)
        self.setMouseTracking(True)
        self.setToolTip("click a fibre to see it")

    def set_connector(self, geometry: ConnectorGeometry | None) -> None:
        self.geometry_ = geometry
        self.states = {}
        self.selected = None
        self.update()

    def set_states(self, states: dict[int, str]) -> None:
        self.states = dict(states)
        self.update()

    def select(self, fibre: int | None) -> None:
        self.selected = fibre
        self.update()

    def _layout(self) -> list[tuple[int, QtCore.QPointF, float]]:
        g = self.geometry_
        if g is None:
            return []
        xs = [p[0] for p in g.fiber_positions_um]
        ys = [p[1] for p in g.fiber_positions_um]
        span_x = (max(xs) - min(xs)) if g.is_multi_fiber else 0
        span_y = (max(ys) - min(ys)) if g.is_multi_fiber else 0
        area = self.height() - self.legend_height()
        w, h = self.width() - 40, area - 50
        if g.is_multi_fiber:
            scale = min(w / max(span_x + 250, 1), h / max(span_y + 250, 1))
        else:
            scale = min(w, h) / 250
        cx, cy = self.width() / 2, area / 2 + 10
        r = max(6.0, min(125 * scale / 2 * 0.9, 28.0))
        return [
            (i + 1, QtCore.QPointF(cx + x * scale, cy + y * scale), r)
            for i, (x, y) in enumerate(g.fiber_positions_um)
        ]

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), self.palette().base())
        g = self.geometry_
        if g is None:
            p.drawText(self.rect(), QtCore.Qt.AlignmentFlag.AlignCenter, "no end selected")
            self._paint_legend(p)
            return
        spots = self._layout()
        xs = [c.x() for _, c, _ in spots]
        ys = [c.y() for _, c, _ in spots]
        r = spots[0][2]
        body = QtCore.QRectF(
            min(xs) - 2.2 * r,
            min(ys) - 2.2 * r,
            max(xs) - min(xs) + 4.4 * r,
            max(ys) - min(ys) + 4.4 * r,
        )
        p.setPen(QtGui.QPen(QtGui.QColor("#95a5a6"), 1.5))
        p.setBrush(QtGui.QColor("#2c3e50"))
        if g.is_multi_fiber:
            p.drawRoundedRect(body, 6, 6)
            key = QtCore.QRectF(body.center().x() - 16, body.top() - 10, 32, 10)
            p.setBrush(QtGui.QColor("#f1c40f"))
            p.setPen(QtGui.QPen(QtGui.QColor("#f1c40f"), 1))
            p.drawRect(key)
            key_font = QtGui.QFont(p.font())
            key_font.setBold(True)
            key_font.setPointSizeF(9.5)
            p.setFont(key_font)
            p.setPen(self.palette().text().color())
            p.drawText(
                QtCore.QRectF(key.right() + 6, key.top() - 6, 120, 18),
                QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter,
                "KEY UP",
            )
        else:
            p.drawEllipse(body.center(), body.height() / 2, body.height() / 2)
        font = p.font()
        font.setPointSizeF(max(6.0, min(r * 0.8, 10.0)))
        font.setBold(True)
        p.setFont(font)
        for n, c, rad in spots:
            state = self.states.get(n, "new")
            p.setBrush(QtGui.QColor(theme.FIBRE_STATE.get(state, "#7f8c8d")))
            pen = QtGui.QPen(
                QtGui.QColor("#f1c40f") if n == self.selected else QtGui.QColor("#ecf0f1")
            )
            pen.setWidthF(3.0 if n == self.selected else 1.0)
            p.setPen(pen)
            p.drawEllipse(c, rad, rad)
            p.setPen(QtGui.QColor("white"))
            p.drawText(
                QtCore.QRectF(c.x() - rad, c.y() - rad, 2 * rad, 2 * rad),
                QtCore.Qt.AlignmentFlag.AlignCenter,
                str(n),
            )
        self._paint_legend(p)

    # -- the legend ------------------------------------------------------------------------
    def legend(self) -> list[tuple[str, str, QtCore.QRectF]]:
        """(state, words, where) of each legend entry as drawn, rows wrapped to the width."""
        font = QtGui.QFont(self.font())
        font.setPointSizeF(8.5)
        fm = QtGui.QFontMetricsF(font)
        row_h = fm.height() + 4
        x, y = 8.0, 0.0
        out = []
        for state in FIBRE_STATES:
            words = theme.FIBRE_STATE_WORDS.get(state, state)
            w = 14 + fm.horizontalAdvance(words)
            if x + w > self.width() - 8 and x > 8:
                x, y = 8.0, y + row_h
            out.append((state, words, QtCore.QRectF(x, y, w, row_h)))
            x += w + LEGEND_GAP
        top = self.height() - (y + row_h) - 2
        return [(s, t, r.translated(0, top)) for s, t, r in out]

    def legend_height(self) -> float:
        entries = self.legend()
        return self.height() - min(r.top() for _, _, r in entries) + 2 if entries else 0.0

    def _paint_legend(self, p: QtGui.QPainter) -> None:
        font = QtGui.QFont(self.font())
        font.setPointSizeF(8.5)
        p.setFont(font)
        for state, words, r in self.legend():
            p.setPen(QtCore.Qt.PenStyle.NoPen)
            p.setBrush(QtGui.QColor(theme.FIBRE_STATE[state]))
            p.drawEllipse(QtCore.QPointF(r.left() + 5, r.center().y()), 5, 5)
            p.setPen(self.palette().text().color())
            p.drawText(
                r.adjusted(14, 0, 0, 0),
                QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter,
                words,
            )

    def fibre_at(self, pos: QtCore.QPointF) -> int | None:
        for n, c, r in self._layout():
            if (pos - c).manhattanLength() <= 1.6 * r:
                return n
        return None

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        n = self.fibre_at(event.position())
        if n is not None:
            self.select(n)
            self.fibre_clicked.emit(n)

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:
        n = self.fibre_at(event.position())
        if n is not None:
            state = self.states.get(n, "new")
            self.setToolTip(f"fibre {n}: {theme.FIBRE_STATE_WORDS.get(state, state)}")
