"""Sign-in, first account, and a supervisor's decision."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from qa_station.controller import SUPERVISOR_ACTIONS


def hidden_field() -> QtWidgets.QLineEdit:
    """A field that shows dots, not what is typed (a password, a badge)."""
    field = QtWidgets.QLineEdit()
    field.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
    return field


def ok_cancel(dialog: QtWidgets.QDialog) -> QtWidgets.QDialogButtonBox:
    """OK and Cancel buttons that accept and reject ``dialog``."""
    buttons = QtWidgets.QDialogButtonBox(
        QtWidgets.QDialogButtonBox.StandardButton.Ok
        | QtWidgets.QDialogButtonBox.StandardButton.Cancel
    )
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


class LoginDialog(QtWidgets.QDialog):
    """Name and password, or a badge: scanned anywhere while the dialog is open, or typed.

    After a failed attempt the dialog comes back with the user name kept and the
    focus in the password field: only the password is asked again.
    """

    def __init__(
        self, parent: QtWidgets.QWidget | None = None, first: bool = False, username: str = ""
    ) -> None:
        super().__init__(parent)
        self.first = first
        self.setWindowTitle("Create the first (admin) account" if first else "Sign in")
        form = QtWidgets.QFormLayout(self)
        if first:
            form.addRow(QtWidgets.QLabel("No accounts yet: this one administers the station."))
        self.username = QtWidgets.QLineEdit(username)
        self.name = QtWidgets.QLineEdit()
        self.password = hidden_field()
        self.again = hidden_field()
        self.badge_field = hidden_field()
        self.badge_field.setPlaceholderText("or scan your badge (anywhere in this window)")
        form.addRow("User", self.username)
        if first:
            form.addRow("Name", self.name)
        form.addRow("Password", self.password)
        if first:
            form.addRow("Again", self.again)
        else:
            form.addRow("Badge", self.badge_field)
        self.error = QtWidgets.QLabel("")
        self.error.setStyleSheet("color: #c0392b; font-weight: bold;")
        self.error.setWordWrap(True)
        form.addRow(self.error)
        form.addRow(ok_cancel(self))
        self.badge: str | None = None
        self._first_field = self.password if username else self.username

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        # A name kept from a failed attempt: only the password is asked again.
        QtCore.QTimer.singleShot(0, lambda: self._first_field.setFocus())

    def take_badge(self, code: str) -> None:
        self.badge = code
        self.accept()

    def accept(self) -> None:
        if self.badge is None and self.badge_field.text().strip():
            self.badge = self.badge_field.text().strip()  # typed, or a scanner slower than a burst
        super().accept()


class SupervisorDialog(QtWidgets.QDialog):
    """A supervisor's decision, offered first as the escalation's advice says (never an override)."""

    def __init__(
        self,
        end: str,
        parent: QtWidgets.QWidget | None = None,
        decision: str = "release for rework",
        advice: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Supervisor decision")
        form = QtWidgets.QFormLayout(self)
        intro = QtWidgets.QLabel(
            f"A supervisor signs this decision for end {end}; it is recorded with the reason."
            + (f"<br><b>The station's advice:</b> {advice}" if advice else "")
        )
        intro.setWordWrap(True)
        form.addRow(intro)
        self.action = QtWidgets.QComboBox()
        for kind in SUPERVISOR_ACTIONS:  # the text is the kind's label, the data the kind
            self.action.addItem(kind.label, kind)
        self.action.setCurrentText(decision)  # what the advice says (a decision's label)
        self.username = QtWidgets.QLineEdit()
        self.password = hidden_field()
        self.reason = QtWidgets.QPlainTextEdit()
        self.reason.setPlaceholderText("why (printed on the certificate as a deviation)")
        self.reason.setMaximumHeight(80)
        form.addRow("Decision", self.action)
        form.addRow("Supervisor", self.username)
        form.addRow("Password", self.password)
        form.addRow("Reason", self.reason)
        form.addRow(ok_cancel(self))
        self.username.setFocus()
