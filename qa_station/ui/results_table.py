"""Per fibre and zone: how many defects and scratches, the largest, and the limit broken."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from grading.geometry import connector
from grading.results import EndFaceResult
from grading.rules import load_rules
from qa_station.ui import theme


class ResultsTable(QtWidgets.QTableWidget):
    fibre_clicked = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(0, 0, parent)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.verticalHeader().setVisible(False)
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
            zones = [
                z.name
                for z in load_rules(result.rules).zones_for(
                    connector(result.connector).is_multi_fiber
                )
            ]
        except (ValueError, KeyError):
            zones = ["A", "B", "C", "D"]
        headers = ["Fibre", "Verdict"]
        for z in zones:
            headers += [f"{z} defects", f"{z} scratches"]
        headers += ["Largest (um)", "Limit broken"]
        self.setColumnCount(len(headers))
        self.setHorizontalHeaderLabels(headers)
        self.setRowCount(len(result.fibers))
        for row, f in enumerate(result.fibers):
            cells = [str(f.index), f.verdict]
            for z in zones:
                cells.append(str(sum(1 for d in f.defects if d.zone == z and d.kind == "defect")))
                cells.append(str(sum(1 for d in f.defects if d.zone == z and d.kind == "scratch")))
            largest = max((d.size_um for d in f.defects), default=0.0)
            cells.append(f"{largest:.1f}" if f.defects else "")
            cells.append("; ".join(f.failures) or (f.error or ""))
            for col, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setToolTip(text)
                if col == 1:
                    item.setForeground(QtGui.QColor(theme.VERDICT.get(f.verdict, "#999")))
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.setItem(row, col, item)
        self.resizeColumnsToContents()
        self.horizontalHeader().setStretchLastSection(True)

    def select_fibre(self, fibre: int) -> None:
        for row in range(self.rowCount()):
            if self.item(row, 0) and self.item(row, 0).text() == str(fibre):
                self.selectRow(row)
                return
