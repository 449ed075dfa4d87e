"""The end-face view: the probe's frames with pan and zoom, and the grading overlay.

Overlays come from a grading result: the zone circles of every fibre (only A
and B on an MT ferrule), defect outlines, scratch lines and fibre numbers,
coloured by the fibre's verdict. On the whole-ferrule picture every fibre
found gets a numbered ring in its state's colour (``set_marks``). All shapes
of one colour are one path item, so the overlay costs the same whether it
shows one defect or fifty. The caption sits on a dark backing so it reads on
any picture; a preview (a capture, which records nothing) is framed in amber.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from grading.geometry import connector
from grading.results import EndFaceResult
from grading.rules import RuleFileError, load_rules
from qa_station.bench_view import FibreMark
from qa_station.ui import theme

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)
LABEL_FONT = QtGui.QFont()
LABEL_FONT.setPointSize(13)
LABEL_FONT.setBold(True)
MARK_FONT = QtGui.QFont()
MARK_FONT.setPointSize(10)
MARK_FONT.setBold(True)
CAPTION_FONT = QtGui.QFont()
CAPTION_FONT.setPointSize(11)
CAPTION_FONT.setBold(True)
CAPTION_BACKING = (0, 0, 0, 190)
PREVIEW_FRAME = f"LiveView {{ border: 3px dashed {theme.ADVICE}; }}"
FOCUS_FRAME = (
    "LiveView:focus { border: 3px solid #f1c40f; } LiveView { border: 3px solid #15181c; }"
)


class LiveView(pg.GraphicsLayoutWidget):
    frame_drawn = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground(theme.VIEW_BACKGROUND)
        self.box = self.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.image = pg.ImageItem()
        self.box.addItem(self.image)
        self._paths: dict[str, QtWidgets.QGraphicsPathItem] = {}
        self._labels: list[pg.TextItem] = []
        self.overlays_on = True
        self.result: EndFaceResult | None = None
        self.marks: list[FibreMark] = []
        self._shape: tuple[int, int] | None = None
        self.caption = pg.TextItem(
            "", color=theme.TEXT_ON_IMAGE, anchor=(0, 0), fill=pg.mkBrush(*CAPTION_BACKING)
        )
        self.caption.setFont(CAPTION_FONT)
        self.caption.setZValue(20)
        self.box.addItem(self.caption)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.preview = False
        self.setStyleSheet(FOCUS_FRAME)

    # -- frames ----------------------------------------------------------------------------
    def set_frame(self, image: np.ndarray) -> None:
        levels = (0, 65535) if image.dtype == np.uint16 else (0, 255)
        self.image.setImage(image, autoLevels=False, levels=levels)
        if image.shape[:2] != self._shape:
            self._shape = image.shape[:2]
            self.box.autoRange(padding=0.0)
        self.caption.setPos(8, 8)
        self.frame_drawn.emit()

    # -- overlays --------------------------------------------------------------------------
    def set_result(self, result: EndFaceResult | None) -> None:
        self.result = result
        self.marks = []
        self._draw()

    def set_marks(self, marks: list[FibreMark]) -> None:
        """Numbered rings on the whole-ferrule picture (replaces a fibre's overlay)."""
        self.result = None
        self.marks = list(marks)
        self._draw()

    def set_preview(self, on: bool) -> None:
        """Frame the picture in amber while it shows a capture (graded, not recorded)."""
        self.preview = on
        self.setStyleSheet(PREVIEW_FRAME if on else FOCUS_FRAME)

    def set_overlays(self, on: bool) -> None:
        self.overlays_on = on
        self._draw()

    def overlay_centres(self) -> list[tuple[float, float]]:
        """The centres of the zone circles as drawn, in image pixels (one per fibre).

        Read back from the path item itself, so a test of it checks what is on the
        screen, not what the code meant to draw.
        """
        item = self._paths.get("zones")
        if item is None:
            return []
        centres: list[tuple[float, float]] = []
        for poly in item.path().toSubpathPolygons():
            c = poly.boundingRect().center()
            c = item.mapToItem(self.image, c)
            if not any(abs(c.x() - x) < 0.5 and abs(c.y() - y) < 0.5 for x, y in centres):
                centres.append((c.x(), c.y()))  # concentric zones share one centre
        return centres

    def _clear(self) -> None:
        for item in self._paths.values():
            self.box.removeItem(item)
        self._paths.clear()
        for t in self._labels:
            self.box.removeItem(t)
        self._labels.clear()

    def _draw(self) -> None:
        self._clear()
        if self.marks and self.overlays_on:
            self._draw_marks()
            return
        r = self.result
        if r is None or not self.overlays_on or not r.um_per_px:
            return
        try:
            zones = load_rules(r.rules).zones_for(connector(r.connector).is_multi_fiber)
        except (RuleFileError, KeyError):
            zones = ()
        s = r.um_per_px
        paths = {k: QtGui.QPainterPath() for k in ("zones", "pass", "fail", "error")}
        for f in r.fibers:
            cx, cy = f.center_px
            if not np.isfinite(cx):
                continue
            for z in zones:
                rad = z.outer_radius_um / s
                paths["zones"].addEllipse(QtCore.QPointF(cx, cy), rad, rad)
            key = f.verdict if f.verdict in paths else "error"
            for d in f.defects:
                if d.kind == "scratch" and d.ends_px:
                    (x0, y0), (x1, y1) = d.ends_px
                    paths[key].moveTo(x0, y0)
                    paths[key].lineTo(x1, y1)
                else:
                    rad = max(d.size_um / 2.0 / s, 3.0) + 2.0
                    dx, dy = d.center_px
                    paths[key].addEllipse(QtCore.QPointF(dx, dy), rad, rad)
            outer = (zones[-1].outer_radius_um / s) if zones else f.diameter_px / 2
            label = pg.TextItem(str(f.index), color=theme.VERDICT[key], anchor=(0.5, 1.0))
            label.setFont(LABEL_FONT)
            label.setPos(cx, cy - outer - 4)
            label.setZValue(12)
            self.box.addItem(label)
            self._labels.append(label)
        for key, path in paths.items():
            if path.isEmpty():
                continue
            item = QtWidgets.QGraphicsPathItem(path)
            colour = theme.ZONE if key == "zones" else theme.VERDICT[key]
            pen = QtGui.QPen(QtGui.QColor(colour))
            pen.setCosmetic(True)
            pen.setWidthF(1.5 if key == "zones" else 2.5)
            if key == "zones":
                pen.setStyle(QtCore.Qt.PenStyle.DashLine)
            item.setPen(pen)
            item.setZValue(10)
            self.box.addItem(item)
            self._paths[key] = item

    def _draw_marks(self) -> None:
        paths: dict[str, QtGui.QPainterPath] = {}
        ys = sorted(m.y_px for m in self.marks)
        middle = (ys[0] + ys[-1]) / 2 if ys else 0.0
        two_rows = bool(ys) and ys[-1] - ys[0] > 2 * max(m.r_px for m in self.marks)
        for m in self.marks:
            path = paths.setdefault(m.state, QtGui.QPainterPath())
            rad = max(m.r_px * 1.8, 6.0)
            path.addEllipse(QtCore.QPointF(m.x_px, m.y_px), rad, rad)
            # Numbers sit outside the rows (above the top row, below the bottom one), every
            # other one a line further out, so neighbours never cover each other.
            below = two_rows and m.y_px > middle
            far = 1.15 if m.index % 2 == 0 else 0.0
            anchor = (0.5, -far) if below else (0.5, 1.0 + far)
            label = pg.TextItem(
                str(m.index),
                color=theme.TEXT_ON_IMAGE,
                anchor=anchor,
                fill=pg.mkBrush(*CAPTION_BACKING),
            )
            label.setFont(MARK_FONT)
            label.setPos(m.x_px, m.y_px + rad + 2 if below else m.y_px - rad - 2)
            label.setZValue(12)
            self.box.addItem(label)
            self._labels.append(label)
        for state, path in paths.items():
            item = QtWidgets.QGraphicsPathItem(path)
            pen = QtGui.QPen(QtGui.QColor(theme.FIBRE_STATE.get(state, theme.FIBRE_STATE["new"])))
            pen.setCosmetic(True)
            pen.setWidthF(3.0)
            item.setPen(pen)
            item.setZValue(10)
            self.box.addItem(item)
            self._paths[f"mark:{state}"] = item

    def mark_numbers(self) -> list[str]:
        """The fibre numbers drawn on the picture now, as drawn (for tests and checks)."""
        return [t.toPlainText() for t in self._labels]

    def set_caption(self, text: str) -> None:
        self.caption.setText(text)
