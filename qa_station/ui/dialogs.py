"""Sign-in, first account, and a supervisor's decision."""

from __future__ import annotations

from PySide6 import QtWidgets

from qa_station.controller import SUPERVISOR_ACTIONS


class LoginDialog(QtWidgets.QDialog):
    """Name and password, or a badge scanned anywhere while the dialog is open."""

    def __init__(self, parent: QtWidgets.QWidget | None = None, first: bool = False) -> None:
        super().__init__(parent)
        self.first = first
        self.setWindowTitle("Create the first (admin) account" if first else "Sign in")
        form = QtWidgets.QFormLayout(self)
        if first:
            form.addRow(QtWidgets.QLabel("No accounts yet: this one administers the station."))
        self.username = QtWidgets.QLineEdit()
        self.name = QtWidgets.QLineEdit()
        self.password = QtWidgets.QLineEdit()
        self.password.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.again = QtWidgets.QLineEdit()
        self.again.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        form.addRow("User", self.username)
        if first:
            form.addRow("Name", self.name)
        form.addRow("Password", self.password)
        if first:
            form.addRow("Again", self.again)
        else:
            form.addRow(QtWidgets.QLabel("or scan your badge"))
        self.error = QtWidgets.QLabel("")
        self.error.setStyleSheet("color: #c0392b; font-weight: bold;")
        self.error.setWordWrap(True)
        form.addRow(self.error)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.badge: str | None = None

    def take_badge(self, code: str) -> None:
        self.badge = code
        self.accept()


class SupervisorDialog(QtWidgets.QDialog):
    def __init__(self, end: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Supervisor decision")
        form = QtWidgets.QFormLayout(self)
        form.addRow(
            QtWidgets.QLabel(
                f"A supervisor signs this decision for end {end}; it is recorded with the reason."
            )
        )
        self.action = QtWidgets.QComboBox()
        for kind in SUPERVISOR_ACTIONS:  # the text is the kind's label, the data the kind
            self.action.addItem(kind.label, kind)
        self.username = QtWidgets.QLineEdit()
        self.password = QtWidgets.QLineEdit()
        self.password.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.reason = QtWidgets.QPlainTextEdit()
        self.reason.setPlaceholderText("why (printed on the certificate as a deviation)")
        self.reason.setMaximumHeight(80)
        form.addRow("Decision", self.action)
        form.addRow("Supervisor", self.username)
        form.addRow("Password", self.password)
        form.addRow("Reason", self.reason)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
