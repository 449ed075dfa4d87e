"""Checking a certificate file, for an auditor who takes nothing on the station's word.

An auditor runs this long after the certificate left the bench, often on
another machine: it reads the signed bytes, the keys it is told to trust and,
unless offline, the store, and says what it found as named checks in plain
words (``verify_file`` lists them), so a failure is a line to read, never a
traceback. The signed station reports of the qualification are checked
through the same outcome.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_der_public_key
from sqlalchemy import select

from qa_station.certificates.issuing import EVENT_ISSUED
from qa_station.paths import station_paths
from qa_station.record import load_record
from qa_station.store import Store, StoreError
from qa_station.store.chain import hash_of
from qa_station.store.checkpoints import Checkpoint
from qa_station.store.keys import Trust, public_of
from qa_station.store.kinds import Kind
from qa_station.store.models import Assembly, Event, StationKey
from qa_station.store.verify import check_assembly, extends
from reports.model import CERTIFICATE_KIND, DATA_FILE

if TYPE_CHECKING:
    from asn1crypto import x509 as asn1_x509

# Events that may follow a certificate without changing what it certifies.
NEUTRAL_AFTER = frozenset({EVENT_ISSUED, Kind.GATE_REFUSED})


class VerifyUsageError(Exception):
    """The file to verify cannot be read at all."""


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

    def record_unreachable(self, problem: object) -> None:
        """The record could not be read: say why, and how to check the file alone."""
        self.add("record", "not checked", f"{problem} (use --offline to check the file alone)")

    def record_offline(self, store_problem: str | None) -> None:
        """No store to compare with: why not (it could not be opened), or that it was offline."""
        if store_problem:
            self.record_unreachable(store_problem)
        else:
            self.add("record", "skipped", "not compared with the station's record (offline)")

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
    trust: list[asn1_x509.Certificate] | None = None,
    keys_dir: Path | None = None,
    store_problem: str | None = None,
) -> VerifyOutcome:
    """Check a certificate file: signature, integrity, and (with a store) the record.

    ``store`` None: the record is not checked; ``store_problem`` says why (unreachable:
    a failed check) or, when None, that it was skipped on purpose (offline).

    This is the auditor's check, in plain words. A file verifies only when all of
    these hold:

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
    station_report = rep.attachment_json("report.json") if doc is None else None
    if station_report is not None:
        from qa_station.qualification.issue import verify_station_report

        verify_station_report(station_report, outcome, store, store_problem)
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
        outcome.record_offline(store_problem)
        return outcome
    try:
        _record_checks(store, doc, outcome, checkpoint)
    except StoreError as exc:
        outcome.record_unreachable(exc)
    return outcome


def _record_signers(
    store: Store | None, trust: list[asn1_x509.Certificate], signer_der: bytes
) -> dict[str, Any]:
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
