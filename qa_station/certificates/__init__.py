"""Certificates and rejection reports from the record, and checking a certificate file.

One module per job: ``files`` (names and writing), ``model`` (the record as
the report model), ``issuing`` (drawing, signing, writing and recording) and
``verify`` (the auditor's check), with the errors they share in ``errors``.
This package re-exports their public names, so ``qa_station.certificates``
stays the one import for callers that use more than one job.
"""

from __future__ import annotations

from qa_station.certificates.errors import CertificateError, NotAccepted
from qa_station.certificates.files import certificate_id, inside, output_path, write_file
from qa_station.certificates.issuing import (
    EVENT_ISSUED,
    issue,
    issue_rejection_report,
    render_signed,
    warm_up,
)
from qa_station.certificates.model import (
    SCALE_WORDS,
    assembly_report,
    build_certificate,
    end_section,
)
from qa_station.certificates.verify import (
    NEUTRAL_AFTER,
    Check,
    VerifyOutcome,
    VerifyUsageError,
    verify_file,
)

__all__ = [
    "EVENT_ISSUED",
    "NEUTRAL_AFTER",
    "SCALE_WORDS",
    "CertificateError",
    "Check",
    "NotAccepted",
    "VerifyOutcome",
    "VerifyUsageError",
    "assembly_report",
    "build_certificate",
    "certificate_id",
    "end_section",
    "inside",
    "issue",
    "issue_rejection_report",
    "output_path",
    "render_signed",
    "verify_file",
    "warm_up",
    "write_file",
]
