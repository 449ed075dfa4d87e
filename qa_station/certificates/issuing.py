"""Issuing: drawing, signing and writing a certificate, and recording that it was.

``issue`` is the one way a certificate leaves the station: for an accepted
assembly whose record is intact it builds the model, has ``reports`` draw it
and sign it with the station's key (the record's signed checkpoint inside),
writes the file whole and appends a ``certificate.issued`` event (certificate
id, sha256 of the signed file, record hash) to the assembly's record, the
event verification looks for. Rejection reports are written here too, neither
signed nor recorded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from dataclasses import replace
from pathlib import Path

from qa_station.certificates.errors import CertificateError, NotAccepted
from qa_station.certificates.files import output_path, write_file
from qa_station.certificates.model import (
    assembly_report,
    build_certificate,
    now_us,
    read_record,
)
from qa_station.config import StationConfig
from qa_station.paths import safe_name, station_paths
from qa_station.store import Store
from qa_station.store.keys import RecordKeyError, load_record_key
from qa_station.store.kinds import Kind
from qa_station.store.verify import check_assembly
from reports.model import DATA_FILE, Certificate, RejectionReport

EVENT_ISSUED = Kind.CERTIFICATE_ISSUED


def warm_up(keys_dir: Path, station_id: str) -> None:
    """Load and run once what signing a certificate needs, so the first one is not slower.

    Imports reportlab and pyHanko, registers the fonts, reads the station key and
    signs a one-page PDF in memory. Nothing is written; a key problem is left for
    the real certificate to report.
    """
    import numpy as np
    from reportlab.platypus import Paragraph

    from reports import overlay, pdf
    from reports.certificate import render_certificate  # noqa: F401 (its imports are the cost)
    from reports.signing import SigningError, sign_pdf, station_identity

    overlay.jpeg(overlay.to_rgb(np.zeros((16, 16), np.uint8)))  # the JPEG encoder's first use
    pdf.fonts()
    styles = pdf.styles()
    page = pdf.build(
        [Paragraph("warm-up", styles["body"])],
        pdf.standard_footer("qa-station"),
        title="warm-up",
        author="qa-station",
        subject="warm-up",
    )
    try:
        identity = station_identity(keys_dir, station_id)
    except SigningError:
        return
    with contextlib.suppress(SigningError):
        sign_pdf(page, identity, [(DATA_FILE, b"{}", "warm-up")], reason="warm-up")


def render_signed(cert: Certificate, keys_dir: Path | None = None) -> bytes:
    """The certificate's PDF, with its data embedded, signed by the station's key."""
    from reports.certificate import render_certificate
    from reports.signing import SigningError, sign_pdf, station_identity

    try:
        identity = station_identity(keys_dir or station_paths().keys_dir, cert.station)
    except SigningError as exc:
        raise CertificateError(f"cannot sign: {exc}") from None
    pdf = render_certificate(cert)
    data = json.dumps(cert.data(), indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8")
    try:
        return sign_pdf(
            pdf,
            identity,
            [(DATA_FILE, data, "machine-readable certificate data (inside the signed bytes)")],
            reason=f"acceptance certificate {cert.certificate_id} of {cert.assembly.serial}",
            location=cert.station,
        )
    except SigningError as exc:
        raise CertificateError(str(exc)) from None


def issue(
    store: Store,
    serial: str,
    out: Path | str | None = None,
    config: StationConfig | None = None,
    keys_dir: Path | None = None,
    local_tz: dt.tzinfo | None = None,
) -> Path:
    """(Re)issue the certificate of an accepted assembly; returns the file written.

    ``out`` is a folder (the file is named ``<serial>-<certificate id>.pdf``, the
    serial cleaned up by ``safe_name``) or a ``.pdf`` path; default the current folder.
    """
    cert = build_certificate(store, serial, config, local_tz=local_tz)
    broken = check_assembly(store, serial)
    if broken:
        more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
        raise CertificateError(
            f"the record of {serial} is damaged, so it gets no certificate: {broken[0]}{more}; "
            "run qa-station audit verify"
        )
    checkpoint = store.signed_head("certificate")  # kept with the issued event, below
    kept = checkpoint
    try:  # signed (again) by the key that signs the PDF, so the file alone can check it
        signer = load_record_key(keys_dir or station_paths().keys_dir, cert.station)
    except RecordKeyError as exc:
        raise CertificateError(f"cannot sign: {exc}") from None
    if signer.id != checkpoint.key:
        checkpoint = checkpoint.signed_by(signer)
    cert = replace(cert, checkpoint=checkpoint.to_dict())
    signed = render_signed(cert, keys_dir)
    path = output_path(out, f"{safe_name(cert.assembly.serial)}-{cert.certificate_id}.pdf")
    write_file(path, signed)
    sha = hashlib.sha256(signed).hexdigest()
    with store.write() as w:
        aid = store.assembly_id(w.session, cert.assembly.serial)
        w.keep(kept)
        w.event(
            EVENT_ISSUED,
            {
                "certificate_id": cert.certificate_id,
                "sha256": sha,
                "record_hash": cert.assembly.record_hash,
                "last_event_id": cert.assembly.last_event_id,
                "issued_us": cert.issued_us,
                "file": path.name,
                "bytes": len(signed),
            },
            aid,
            None,
            None,
        )
    return path


def issue_rejection_report(
    store: Store,
    serial: str,
    out: Path | str | None = None,
    config: StationConfig | None = None,
    local_tz: dt.tzinfo | None = None,
) -> Path:
    from reports.rejection import render_rejection

    rec = read_record(store, serial)
    if rec.status != "rejected":
        raise NotAccepted(
            f"assembly {serial} is {rec.status}, not rejected: "
            + (
                f"it has an acceptance certificate instead (qa-station certificate {serial})"
                if rec.status == "accepted"
                else "a rejection report is made once a supervisor rejects it"
            )
        )
    report = RejectionReport(
        generated_us=now_us(store),
        station=store.station_id,
        assembly=assembly_report(store, rec, config, history_images=True),
        local_tz=local_tz,
    )
    pdf = render_rejection(report)
    path = output_path(out, f"{safe_name(rec.serial)}-rejection.pdf")
    write_file(path, pdf)
    return path
