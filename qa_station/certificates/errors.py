"""What goes wrong when a certificate or report is asked for.

The files, the model and the issuing modules all refuse with these, and the
commands and the window catch them by these names, so they live apart from any
one of those jobs.
"""

from __future__ import annotations


class CertificateError(Exception):
    """A certificate or report cannot be made (the message says why, for the user)."""


class NotAccepted(CertificateError):
    """The assembly is open or rejected: it gets no certificate."""
