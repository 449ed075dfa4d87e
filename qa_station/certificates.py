"""Certificates and rejection reports from the record, and checking a certificate file.

``issue`` turns an accepted assembly's record (``load_record``) into the
plain model of ``reports.model``, has ``reports`` draw and sign it, writes the
file and appends a ``certificate.issued`` event (certificate id, sha256 of
the signed file, record hash) to the assembly's record.

``verify_file`` is the auditor's check, in plain words. A file verifies only
when all of these hold:

1. signature: intact and valid, made by a trusted key (the station's own
   certificate, or one issued by the CA in ``trust.pem`` / ``--trust``);
2. unchanged: the signature covers every byte of the file (nothing changed,
   nothing appended) and no change was made after signing;
3. certificate data: the signed file carries its ``certificate.json``;
4. serial: when the caller names the serial the cord carries (``--serial``),
   the certificate is for that serial;
5. record (unless checked offline): the store knows the serial; the event
   the certificate points at (last event id) is that assembly's, still hashes
   to the record hash printed on the certificate, and nothing but further
   certificates (or refused actions) was recorded for the assembly after it;
   the assembly is accepted with the same verdict per end;
6. issued: the store recorded this exact file (its sha256) as issued for
   that serial.

A certificate of serial X therefore never verifies as serial Y: the serial
is inside the signed bytes (3, 4), the record hash names an event of X's
record only (5), and the file's hash is recorded under X only (6).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_der_public_key
from sqlalchemy import select

from grading.rules import RuleFileError, load_rules, shipped_sha256
from qa_station import paths
from qa_station.config import StationConfig, tip_for
from qa_station.paths import safe_name, station_paths, write_whole
from qa_station.record import AssemblyRecord, EndRecord, RecordError, load_record
from qa_station.store import Store, StoreError
from qa_station.store.chain import hash_of
from qa_station.store.checkpoints import Checkpoint
from qa_station.store.keys import RecordKeyError, Trust, load_record_key, public_of
from qa_station.store.kinds import Kind
from qa_station.store.models import Assembly, Event, StationKey
from qa_station.store.verify import check_assembly, extends
from reports.model import (
    CERTIFICATE_KIND,
    DATA_FILE,
    AssemblyReport,
    Certificate,
    CleaningInfo,
    DeviationInfo,
    EndSection,
    EscalationInfo,
    FibreAgain,
    InspectionInfo,
    RejectionReport,
    RulesInfo,
)

EVENT_ISSUED = Kind.CERTIFICATE_ISSUED
# Events that may follow a certificate without changing what it certifies.
NEUTRAL_AFTER = frozenset({EVENT_ISSUED, Kind.GATE_REFUSED})


class CertificateError(Exception):
    """A certificate or report cannot be made (the message says why, for the user)."""


class NotAccepted(CertificateError):
    """The assembly is open or rejected: it gets no certificate."""


class VerifyUsageError(Exception):
    """The file to verify cannot be read at all."""


# -- names -----------------------------------------------------------------------------------


def inside(folder: Path, name: str) -> Path:
    """``folder/name``, refusing anything that would land outside ``folder`` (paths.inside)."""
    try:
        return paths.inside(folder, name)
    except paths.UnsafeName as exc:
        raise CertificateError(str(exc)) from None


def certificate_id(serial: str, record_hash: str, issued_us: int) -> str:
    """Deterministic: the same serial, record state and issue time give the same id."""
    h = hashlib.sha256(f"{serial}\x1f{record_hash}\x1f{issued_us}".encode()).digest()
    code = base64.b32encode(h).decode("ascii")[:16]
    return "QAC-" + "-".join(code[i : i + 4] for i in range(0, 16, 4))


def output_path(out: Path | str | None, default_name: str) -> Path:
    """``out`` is a folder (existing, or without a .pdf suffix) or a file path."""
    out = Path(out) if out is not None else Path.cwd()
    if out.is_dir() or out.suffix.lower() != ".pdf":
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CertificateError(
                f"cannot create the folder {out}: {exc.strerror or exc}"
            ) from None
        return inside(out, default_name)
    if not out.parent.is_dir():
        raise CertificateError(f"the folder {out.parent} does not exist")
    return out.resolve()


def write_file(path: Path, data: bytes) -> None:
    """Whole or not at all: a full disk or a read-only folder leaves no half-written PDF."""
    try:
        write_whole(path, data, 0o644)
    except OSError as exc:
        raise CertificateError(f"cannot write {path}: {exc.strerror or exc}") from None


# -- from the record to the model --------------------------------------------------------------


def _rules_info(rules: str, recorded_sha: str | None) -> RulesInfo:
    """The rule set as the certificate names it. Only a built-in table whose recorded hash is
    its shipped one carries the standard's name and title; anything else is a house table.
    (Its zones are not read here: the result carries the zones it was graded with.)"""
    shipped = shipped_sha256(rules)
    if shipped is not None and recorded_sha not in (None, shipped):
        return RulesInfo(
            name="house table (not as shipped)",
            sha256=recorded_sha,
            note="graded against a table whose file is not the one shipped under that name: "
            "not a published standard's table",
        )
    try:
        rs = load_rules(rules)
    except RuleFileError:
        return RulesInfo(
            name=rules if shipped else _house_name(rules),
            sha256=recorded_sha,
            note="the rule file is not available on this station now",
        )
    if recorded_sha and rs.sha256 != recorded_sha:
        return RulesInfo(
            name=rules if shipped else _house_name(rules),
            sha256=recorded_sha,
            note="the rule file has changed since this end was graded: the recorded hash "
            "above is the one that applied",
        )
    if shipped is None:  # the factory's own table: its words are not a standard's
        return RulesInfo(
            _house_name(rules),
            recorded_sha or rs.sha256,
            note="the factory's own rule table, not a published standard's",
        )
    return RulesInfo(rules, recorded_sha or rs.sha256, rs.title, rs.version)


def _house_name(rules: str) -> str:
    return f"house table {Path(rules).name}"


SCALE_WORDS = {
    "given": "from the station's calibration",
    "pitch": "measured from the 250 µm fibre pitch",
    "cladding": "measured from the 125 µm cladding",
}


def _calibration(e: EndRecord, config: StationConfig | None) -> str:
    final = e.final
    if final is None or final.um_per_px is None:
        return ""
    how = SCALE_WORDS.get(final.result.scale_source or "", "")
    words = f"{final.um_per_px:.4g} µm/px" + (f" ({how})" if how else "")
    tip = tip_for(e.connector)
    words += f", probe {final.probe_id}, tip {tip}"
    cal = config.calibration(final.probe_id, tip) if config else None
    if cal and cal.date and abs(cal.um_per_px - final.um_per_px) < 1e-9:
        words += f", calibrated {cal.date}"
    return words


def _images(store: Store, shas: dict[int, str]) -> dict[int, Callable[[], Any]]:
    return {n: (lambda sha=sha: store.images.read_bytes(sha)) for n, sha in shas.items()}


def _earlier(
    store: Store, e: EndRecord, per_fibre: int = 3, fibres: int = 6
) -> tuple[FibreAgain, ...]:
    """The fibres that failed the final inspection, as the inspections before it saw them."""
    final = e.final
    if final is None:
        return ()
    failing = [f.index for f in final.result.fibers if f.verdict != "pass"][:fibres]
    before = [i for i in e.inspections if i.id != final.id and i.at_us <= final.at_us]
    out: list[FibreAgain] = []
    for n in failing:
        seen = [i for i in before if n in i.fibre_images][-per_fibre:]
        for i in seen:
            f = next((x for x in i.result.fibers if x.index == n), None)
            if f is None:
                continue
            sha = i.fibre_images[n]
            out.append(
                FibreAgain(
                    inspection_id=i.id,
                    at_us=i.at_us,
                    fibre=i.fibre_in_image(f),
                    image=lambda sha=sha: store.images.read_bytes(sha),
                    um_per_px=i.um_per_px,
                    after_cleanings=sum(1 for c in e.cleanings if c.at_us < i.at_us),
                    zones=i.result.zones,
                )
            )
    return tuple(out)


def end_section(
    store: Store, e: EndRecord, config: StationConfig | None, history_images: bool = False
) -> EndSection:
    final = e.final
    rules = _rules_info(e.rules, final.rules_sha256 if final else None)
    inspections = tuple(
        InspectionInfo(
            id=i.id,
            at_us=i.at_us,
            end=e.label,
            verdict=i.verdict,
            operator=i.operator,
            station=i.station,
            failed_fibres=tuple(f.index for f in i.result.fibers if f.verdict != "pass"),
            failures=tuple(
                x for f in i.result.fibers for x in (f.failures or ((f.error,) if f.error else ()))
            )[:4],
        )
        for i in e.inspections
    )
    cleanings = tuple(
        CleaningInfo(c.at_us, e.label, c.method, c.tool, c.adapter, c.operator, c.station)
        for c in e.cleanings
    )
    escalations = tuple(
        EscalationInfo(
            at_us=int(x.get("at_us", 0)),
            end=e.label,
            cause=str(x.get("cause", "")),
            advice=str(x.get("advice", "")),
            blocking=bool(x.get("blocking")),
            cycles=int(x.get("cycles", 0) or 0),
        )
        for x in e.escalations
    )
    conn = e.connection
    return EndSection(
        label=e.label,
        connector=e.connector,
        fiber=e.fiber,
        gender=e.gender,
        rules=rules,
        result=final.result_in_images() if final else None,  # overlays land on stored crops
        inspection_id=final.id if final else None,
        inspected_at_us=final.at_us if final else None,
        inspected_by=final.operator if final else None,
        um_per_px=final.um_per_px if final else None,
        probe_id=final.probe_id if final else None,
        calibration=_calibration(e, config),
        fibre_images=_images(store, final.fibre_images) if final else {},
        overview=(lambda sha=final.overview_sha256: store.images.read_bytes(sha))
        if final and final.overview_sha256
        else None,
        overview_fibres=final.overview_fibres if final else None,
        inspections=inspections,
        cleanings=cleanings,
        escalations=escalations,
        connection=conn.mode if conn else None,
        connected_at_us=conn.at_us if conn else None,
        connected_by=conn.operator if conn else None,
        deviation=bool(conn and conn.deviation),
        earlier=_earlier(store, e) if history_images else (),
    )


def assembly_report(
    store: Store, rec: AssemblyRecord, config: StationConfig | None, history_images: bool = False
) -> AssemblyReport:
    deviations = tuple(
        DeviationInfo(
            at_us=int(d.get("at_us", 0)),
            end=d.get("end"),
            action=str(d.get("action", "")),
            reason=str(d.get("reason", "")),
            supervisor=str(d.get("supervisor", "")),
            overriding=str(d.get("overriding", "") or ""),
        )
        for d in rec.deviations
    )
    return AssemblyReport(
        serial=rec.serial,
        product_id=rec.product_id,
        product_name=rec.product_name,
        part_number=rec.part_number,
        station=rec.station,
        status=rec.status,
        registered_us=rec.registered_us,
        ends=tuple(end_section(store, e, config, history_images) for e in rec.ends),
        record_hash=rec.record_hash,
        last_event_id=rec.last_event_id,
        operators=rec.operators,
        registered_by=rec.registered_by,
        closed_us=rec.closed_us,
        closed_by=rec.closed_by,
        reason=rec.reason,
        deviations=deviations,
        polarity=rec.product.get("polarity"),
    )


def _record(store: Store, serial: str) -> AssemblyRecord:
    try:
        return load_record(store, serial)
    except RecordError as exc:
        raise CertificateError(str(exc)) from None


def build_certificate(
    store: Store,
    serial: str,
    config: StationConfig | None = None,
    issued_us: int | None = None,
    local_tz: dt.tzinfo | None = None,
    checkpoint: Checkpoint | None = None,
) -> Certificate:
    """The certificate model of an accepted assembly (nothing is written)."""
    rec = _record(store, serial)
    if rec.status == "rejected":
        raise NotAccepted(
            f"assembly {serial} was rejected ({rec.reason or 'no reason recorded'}): it gets no "
            f"acceptance certificate; its rejection report: qa-station report rejection {serial}"
        )
    if rec.status != "accepted":
        open_ends = [e.label for e in rec.ends if not e.connection]
        raise NotAccepted(
            f"assembly {serial} is not accepted yet (ends not released: "
            f"{', '.join(open_ends) or 'none'}): a certificate is issued only when every end "
            "is connected or capped"
        )
    at = issued_us if issued_us is not None else _now_us(store)
    return Certificate(
        certificate_id=certificate_id(rec.serial, rec.record_hash, at),
        issued_us=at,
        station=store.station_id,
        assembly=assembly_report(store, rec, config),
        local_tz=local_tz,
        checkpoint=checkpoint.to_dict() if checkpoint else None,
    )


def _now_us(store: Store) -> int:
    return round(store.clock() * 1_000_000)


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

    rec = _record(store, serial)
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
        generated_us=_now_us(store),
        station=store.station_id,
        assembly=assembly_report(store, rec, config, history_images=True),
        local_tz=local_tz,
    )
    pdf = render_rejection(report)
    path = output_path(out, f"{safe_name(rec.serial)}-rejection.pdf")
    write_file(path, pdf)
    return path


# -- verifying ---------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    state: str  # "ok", "fail", "not checked", "skipped"
    detail: str


@dataclass
class VerifyOutcome:
    path: str
    sha256: str
    checks: list[Check] = field(default_factory=list)
    data: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.state in ("ok", "skipped") for c in self.checks)

    def add(self, name: str, state: str, detail: str) -> None:
        self.checks.append(Check(name, state, detail))

    def lines(self) -> list[str]:
        d = self.data or {}
        head = f"{self.path}: "
        if d.get("report_id"):  # a station report (qualification, study, re-grade)
            head += ("VALID: " if self.ok else "NOT VALID: ") + f"{d.get('what')} {d['report_id']}"
            head += f" of station {d.get('station')}"
        elif self.ok:
            head += f"VALID: certificate {d.get('certificate_id')} of serial {d.get('serial')}"
        else:
            head += "NOT VALID"
            if d.get("serial"):
                head += (
                    f" (it says: certificate {d.get('certificate_id')} of serial {d.get('serial')})"
                )
        mark = {"ok": "ok  ", "fail": "FAIL", "not checked": "??  ", "skipped": "--  "}
        out = [head]
        out.extend(f"  [{mark[c.state]}] {c.name}: {c.detail}" for c in self.checks)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "sha256": self.sha256,
            "ok": self.ok,
            "checks": [{"name": c.name, "state": c.state, "detail": c.detail} for c in self.checks],
            "certificate": self.data,
        }


def verify_file(
    path: Path | str,
    store: Store | None,
    serial: str | None = None,
    trust: list | None = None,
    keys_dir: Path | None = None,
    store_problem: str | None = None,
) -> VerifyOutcome:
    """Check a certificate file: signature, integrity, and (with a store) the record.

    ``store`` None: the record is not checked; ``store_problem`` says why (unreachable:
    a failed check) or, when None, that it was skipped on purpose (offline).
    """
    from reports.signing import SigningError, check_pdf, trust_roots

    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise VerifyUsageError(f"cannot read {p}: {exc.strerror or exc}") from None
    outcome = VerifyOutcome(str(p), hashlib.sha256(data).hexdigest())
    if trust is None:
        try:
            trust = trust_roots(keys_dir or station_paths().keys_dir)
        except SigningError as exc:
            trust = []
            outcome.add("trust", "fail", str(exc))
    rep = check_pdf(data, trust)
    if not trust and rep.intact and rep.valid:
        rep.problems.append("no trusted certificate to check the signer against: give --trust")
    sig_ok = rep.readable and rep.signed and rep.intact and rep.valid and rep.trusted
    if sig_ok:
        kind = (
            "its self-signed station certificate"
            if rep.signer_self_signed
            else "a certificate chain"
        )
        when = (
            f", signed {rep.signed_at.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
            if rep.signed_at
            else ""
        )
        outcome.add(
            "signature", "ok", f'intact and valid, made by "{rep.signer}" ({kind}, trusted){when}'
        )
    else:
        sig_problems = [
            x for x in rep.problems if "whole file" not in x and "modified after" not in x
        ] or ["the signature does not hold"]
        outcome.add("signature", "fail", "; ".join(sig_problems))
    if rep.readable and rep.signed and rep.whole_file and rep.unmodified:
        outcome.add(
            "unchanged",
            "ok",
            "the signature covers every byte of the file; nothing was changed or added after signing",
        )
    elif rep.readable and rep.signed and rep.appended and rep.intact:
        outcome.add(
            "unchanged",
            "fail",
            f"{rep.appended} bytes were appended after the signed document (bytes "
            f"{rep.signed_length}-{rep.signed_length + rep.appended - 1} of the file"
            + (
                "; they make a later revision of the PDF: an annotation or an edit"
                if rep.appended_revision
                else ""
            )
            + "); the signed part itself is intact",
        )
    elif rep.readable and rep.signed:
        outcome.add(
            "unchanged",
            "fail",
            "bytes were added to or changed in the file after it was signed"
            if not rep.whole_file
            else "the document was modified after it was signed",
        )
    else:
        outcome.add("unchanged", "fail", "the file cannot be checked: " + "; ".join(rep.problems))
    doc = rep.attachment_json(DATA_FILE)
    if doc is None and rep.attachment_json("report.json") is not None:
        from qa_station.qualification.issue import verify_station_report

        verify_station_report(rep.attachment_json("report.json"), outcome, store, store_problem)
        return outcome
    if doc is None or doc.get("kind") != CERTIFICATE_KIND or not isinstance(doc.get("serial"), str):
        outcome.add(
            "certificate data",
            "fail",
            "no certificate data inside the signed bytes (not a qa-station certificate, or damaged)",
        )
        if store is None and store_problem is None:
            outcome.add("record", "skipped", "not checked (offline)")
        return outcome
    outcome.data = doc
    outcome.add(
        "certificate data",
        "ok",
        f"certificate {doc.get('certificate_id')} of serial {doc['serial']} ({doc.get('product')}), "
        f"issued {doc.get('issued_at')} by station {doc.get('station')}",
    )
    signers = _record_signers(store, trust, rep.signer_public_der if sig_ok else b"")
    checkpoint = _checkpoint_check(doc, signers, outcome)
    if serial is not None:
        if serial == doc["serial"]:
            outcome.add("serial", "ok", f"the certificate is for serial {serial}, as expected")
        else:
            outcome.add(
                "serial",
                "fail",
                f"this certificate is for serial {doc['serial']}, not {serial}: it does not belong to that assembly",
            )
    if store is None:
        if store_problem:
            outcome.add(
                "record", "not checked", f"{store_problem} (use --offline to check the file alone)"
            )
        else:
            outcome.add("record", "skipped", "not compared with the station's record (offline)")
        return outcome
    try:
        _record_checks(store, doc, outcome, checkpoint)
    except StoreError as exc:
        outcome.add("record", "not checked", f"{exc} (use --offline to check the file alone)")
    return outcome


def _record_signers(store: Store | None, trust: list, signer_der: bytes) -> dict[str, Any]:
    """Keys a certificate's checkpoint may be signed with: the certificate's own signer, and
    (with the record) the station keys it registered that this check trusts."""
    keys: dict[str, Any] = {}
    if signer_der:
        keys[hashlib.sha256(signer_der).hexdigest()] = load_der_public_key(signer_der)
    if store is None:
        return keys
    roots = Trust([x509.load_der_x509_certificate(c.dump()) for c in trust])
    try:
        with store.read() as s:
            rows = s.execute(select(StationKey)).scalars().all()
    except StoreError:
        return keys
    for row in rows:
        if roots.trusts(row.certificate):
            keys.setdefault(row.key_id, public_of(row.certificate))
    return keys


def _checkpoint_check(
    doc: dict[str, Any], signers: dict[str, Any], outcome: VerifyOutcome
) -> Checkpoint | None:
    """The record checkpoint the certificate carries, signed by a key this check trusts."""
    raw = doc.get("checkpoint")
    if raw is None:
        outcome.add(
            "checkpoint",
            "skipped",
            "issued before certificates carried a checkpoint of the record",
        )
        return None
    try:
        cp = Checkpoint.from_dict(raw)
    except ValueError as exc:
        outcome.add("checkpoint", "fail", f"the record checkpoint it carries is unreadable ({exc})")
        return None
    public = signers.get(cp.key)
    if public is None or not cp.holds(public):
        outcome.add(
            "checkpoint",
            "fail",
            "the record checkpoint it carries is not signed by the certificate's signer or a "
            "station key this check trusts",
        )
        return None
    outcome.add(
        "checkpoint",
        "ok",
        f"issued under a signed checkpoint of the record: {cp.events} events up to event "
        f"#{cp.head_id} (head {cp.head_hash[:16]}...)",
    )
    return cp


def _record_checks(
    store: Store, doc: dict[str, Any], outcome: VerifyOutcome, checkpoint: Checkpoint | None
) -> None:
    serial = doc["serial"]
    last_id = doc.get("last_event_id")
    where = store.safe_url
    with store.read() as s:
        aid = store.assembly_id(s, serial)
        if aid is None:
            outcome.add("record", "fail", f"serial {serial} is not in the record at {where}")
            return
        ev = s.get(Event, last_id) if isinstance(last_id, int) else None
        if ev is None or ev.assembly_id != aid:
            outcome.add(
                "record",
                "fail",
                f"the certificate points at event #{last_id}, which is not part of the record of {serial}",
            )
            return
        recomputed = hash_of(ev)
        later = (
            s.execute(
                select(Event).where(Event.assembly_id == aid, Event.id > ev.id).order_by(Event.id)
            )
            .scalars()
            .all()
        )
        issued_sha = {}
        for x in later:
            if x.kind == EVENT_ISSUED:
                p = json.loads(x.payload)
                issued_sha[p.get("sha256")] = (x.id, p.get("certificate_id"), x.created_us)
        changed = [x for x in later if x.kind not in NEUTRAL_AFTER]
        product = s.execute(select(Assembly.product_id).where(Assembly.id == aid)).scalar()
    if ev.hash != doc.get("record_hash"):
        outcome.add(
            "record",
            "fail",
            f"record hash differs: the certificate says {str(doc.get('record_hash'))[:16]}..., "
            f"event #{ev.id} of {serial} has {ev.hash[:16]}...",
        )
        return
    if recomputed != ev.hash:
        outcome.add(
            "record",
            "fail",
            f"event #{ev.id} of {serial} was altered in the store (run qa-station audit verify)",
        )
        return
    if changed:
        x = changed[0]
        outcome.add(
            "record",
            "fail",
            f"the record of {serial} changed after this certificate was issued: event #{x.id} ({x.kind})",
        )
        return
    if checkpoint is not None:
        behind = extends(store, checkpoint)
        if behind:
            outcome.add("record", "fail", f"{behind} (run qa-station audit verify)")
            return
    broken = check_assembly(store, serial)
    if broken:
        outcome.add(
            "record",
            "fail",
            f"the record of {serial} is damaged: {broken[0]} (run qa-station audit verify)",
        )
        return
    rec = load_record(store, serial)
    mismatch = []
    if rec.status != "accepted":
        mismatch.append(f"the assembly is {rec.status} in the record")
    if product != doc.get("product"):
        mismatch.append(f"product {product} in the record, {doc.get('product')} on the certificate")
    by_label = {e.label: e for e in rec.ends}
    for e in doc.get("ends", []):
        r = by_label.get(e.get("label"))
        final = r.final if r else None
        if final is None:
            mismatch.append(f"end {e.get('label')} has no inspection in the record")
        elif final.id != e.get("inspection_id") or final.verdict != e.get("verdict"):
            mismatch.append(
                f"end {e.get('label')}: the record has inspection #{final.id} ({final.verdict})"
            )
        elif final.rules_sha256 != e.get("rules_sha256"):
            mismatch.append(f"end {e.get('label')}: graded against another rule file")
    if len(doc.get("ends", [])) != len(rec.ends):
        mismatch.append(
            f"the record has {len(rec.ends)} ends, the certificate {len(doc.get('ends', []))}"
        )
    if mismatch:
        outcome.add("record", "fail", "; ".join(mismatch))
        return
    outcome.add(
        "record",
        "ok",
        f"matches the record of {serial} at {where}: event #{ev.id}, hash {ev.hash[:16]}..., "
        f"accepted, {len(rec.ends)} end(s) with the same verdicts; nothing changed since",
    )
    hit = issued_sha.get(outcome.sha256)
    if hit:
        event_id = hit[0]
        outcome.add(
            "issued",
            "ok",
            f"this exact file (sha256 {outcome.sha256[:16]}...) was recorded as issued for {serial} "
            f"in event #{event_id}",
        )
    else:
        ids = sorted({v[1] for v in issued_sha.values()})
        outcome.add(
            "issued",
            "fail",
            f"the record of {serial} has no certificate file with this sha256 ({outcome.sha256[:16]}...)"
            + (f"; it records {', '.join(ids)}" if ids else ""),
        )
