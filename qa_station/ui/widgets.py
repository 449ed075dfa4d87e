"""Small pieces the window's pages are built from: a page that reads the record in a worker,
buttons, rows of them, a note (a line of words), and a period picked with two dates.

Each page built them by hand the same way; made here once, a button, a note or a period
looks and behaves the same on every page.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import Generic, TypeVar

from PySide6 import QtCore, QtWidgets

from qa_station.ui.workers import Runner

Controller = TypeVar("Controller")


class Page(QtWidgets.QWidget, Generic[Controller]):
    """A page of the window: it asks ``controller`` (``self.c``) in ``runner``'s worker threads.

    A page lays itself out in ``_build``, called once the two are in place.
    """

    def __init__(
        self, controller: Controller, runner: Runner, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.c = controller
        self.runner = runner
        self._build()

    @abstractmethod
    def _build(self) -> None:
        """Lay the page out: ``self.c`` and ``self.runner`` are set."""


def button(text: str, slot: Callable[[], object], tip: str = "") -> QtWidgets.QPushButton:
    """A push button that calls ``slot`` when clicked; ``tip``, its tooltip."""
    b = QtWidgets.QPushButton(text)
    if tip:
        b.setToolTip(tip)
    b.clicked.connect(slot)
    return b


def hbox(*widgets: QtWidgets.QWidget, right: bool = False) -> QtWidgets.QHBoxLayout:
    """``widgets`` side by side, at the left of the row (``right``: at its right, as a
    dialog's buttons are)."""
    lay = QtWidgets.QHBoxLayout()
    if right:
        lay.addStretch(1)
    for w in widgets:
        lay.addWidget(w)
    if not right:
        lay.addStretch(1)
    return lay


def note(text: str = "", selectable: bool = False) -> QtWidgets.QLabel:
    """A line for what a page has to say, wrapped when long (``selectable``: its words can be
    selected and copied)."""
    label = QtWidgets.QLabel(text)
    label.setWordWrap(True)
    if selectable:
        label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def period(days: int) -> tuple[QtWidgets.QDateEdit, QtWidgets.QDateEdit]:
    """Two date pickers, from ``days`` ago to today."""
    today = QtCore.QDate.currentDate()
    since = QtWidgets.QDateEdit(today.addDays(-days))
    until = QtWidgets.QDateEdit(today)
    for d in (since, until):
        d.setCalendarPopup(True)
        d.setDisplayFormat("yyyy-MM-dd")
    return since, until
