"""Per fibre: its verdict, defects and scratches per zone, the largest, and the limit broken.

The limit a fibre broke is the column that matters: it takes the width left
over and wraps, so every word of it is readable without a horizontal scroll
bar, whatever the width of the screen.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from grading.geometry import connector
from grading.results import EndFaceResult
from grading.rules import RuleFileError, load_rules
from qa_station.ui import theme

HEADERS = ("Fibre", "Verdict", "Defects", "Scratches", "Largest um", "Limit broken")


class ResultsTable(QtWidgets.QTableWidget):
    fibre_clicked = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(0, 0, parent)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setWordWrap(True)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollMode(QtWidgets.QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().sectionResized.connect(lambda *_: self._fit_rows())
        self.cellClicked.connect(
            lambda row, _col: self.fibre_clicked.emit(int(self.item(row, 0).text()))
        )

    def set_result(self, result: EndFaceResult | None) -> None:
        self.clear()
        if result is None:
            self.setRowCount(0)
            self.setColumnCount(0)
            return
        try:
            multi = connector(result.connector).is_multi_fiber
            zones = [z.name for z in load_rules(result.rules).zones_for(multi)]
        except (RuleFileError, KeyError):
            zones = ["A", "B", "C", "D"]
        self.setColumnCount(len(HEADERS))
        self.setHorizontalHeaderLabels(list(HEADERS))
        self.setRowCount(len(result.fibers))
        for row, f in enumerate(result.fibers):

            def per_zone(kind: str, fibre=f) -> str:
                return "  ".join(
                    f"{z} {sum(1 for d in fibre.defects if d.zone == z and d.kind == kind)}"
                    for z in zones
                )

            largest = max((d.size_um for d in f.defects), default=0.0)
            cells = [
                str(f.index),
                f.verdict,
                per_zone("defect"),
                per_zone("scratch"),
                f"{largest:.1f}" if f.defects else "",
                "; ".join(f.failures) or (f.error or ""),
            ]
            for col, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setToolTip(text)
                if col == 1:
                    item.setForeground(QtGui.QColor(theme.VERDICT.get(f.verdict, "#999")))
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.setItem(row, col, item)
        header = self.horizontalHeader()
        for col in range(len(HEADERS) - 1):
            header.setSectionResizeMode(col, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(HEADERS) - 1, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self._fit_rows()

    def _fit_rows(self) -> None:
        if self.rowCount():
            self.resizeRowsToContents()

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_rows()

    def select_fibre(self, fibre: int) -> None:
        for row in range(self.rowCount()):
            if self.item(row, 0) and self.item(row, 0).text() == str(fibre):
                self.selectRow(row)
                self.scrollToItem(self.item(row, 0))
                return
