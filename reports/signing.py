"""The station's signing key, PAdES signatures on certificates, and checking them.

Keys live in one folder (``<station home>/config/keys``, owner-only):

- ``station.key`` + ``station.crt``: the key the station signs with and its
  certificate. On first use, when neither exists, an EC P-256 key and a
  self-signed certificate for "qa-station <station id>" are created (the key
  file readable by the owner only). A company puts its own there instead: a
  key and a certificate issued by its CA, plus ``chain.pem`` with the
  intermediate certificates, if any.
- ``trust.pem``: the certificates a verifier trusts (the company's root CA).
  Without it the station trusts its own ``station.crt``.

A certificate PDF is signed as a PAdES baseline-B certification signature
(no changes permitted) in an incremental update that also embeds the
machine-readable data (``certificate.json``), so that data is inside the
signed bytes. ``check_pdf`` trusts a signature only when it is intact and
valid, chains to a trusted certificate, and covers the entire file: any byte
changed, or anything appended after signing, fails.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:  # imported where used: pyhanko is slow to import
    from pyhanko.pdf_utils.reader import PdfFileReader

KEY_FILE = "station.key"
CERT_FILE = "station.crt"
CHAIN_FILE = "chain.pem"
TRUST_FILE = "trust.pem"
VALIDITY_DAYS = 20 * 365
SIGNATURE_FIELD = "QA-Station-Signature"

Cert = TypeVar("Cert")  # a certificate as one library or the other reads it

# pyHanko logs each validation problem with its traceback. What it finds is reported in
# words by check_pdf; with no handler of the application's, Python would print those logs
# (tracebacks included) on stderr. A NullHandler keeps them off the terminal and still lets
# them reach the application's own log handlers.
for _name in ("pyhanko", "pyhanko_certvalidator"):
    logging.getLogger(_name).addHandler(logging.NullHandler())


class SigningError(Exception):
    """The station cannot sign: a missing, mismatched or unreadable key or certificate."""


@dataclass(frozen=True)
class StationIdentity:
    signer: Any  # pyhanko.sign.signers.SimpleSigner
    certificate: asn1_x509.Certificate
    subject: str
    self_signed: bool
    keys_dir: Path


def _write_private(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def certificate_builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: CertificatePublicKeyTypes,
    now: dt.datetime,
    days: int,
    ca: bool = False,
) -> x509.CertificateBuilder:
    """A certificate of ``public_key`` for ``subject``, issued by ``issuer``, valid from an hour
    before ``now`` for ``days`` days, to be signed: a CA's key signs certificates, a station's
    key signs documents."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )


def create_self_signed(keys_dir: Path, station_id: str) -> None:
    """A fresh EC P-256 key (file mode 0600) and a self-signed certificate for the station."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    keys_dir.chmod(0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"qa-station {station_id}"[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "qa-station"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "end-face inspection bench"),
        ]
    )
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    cert = (
        certificate_builder(name, name, key.public_key(), now, VALIDITY_DAYS)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(keys_dir / KEY_FILE, key_pem, 0o600)
    _write_private(keys_dir / CERT_FILE, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def read_certificates(
    path: Path, parse: Callable[[bytes], list[Cert]], error: Callable[[str], Exception]
) -> list[Cert]:
    """The certificates ``parse`` reads from the file at ``path``; a file that cannot be read,
    or is no certificate file, raises ``error`` with the words that say so."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        return parse(data)
    except Exception as exc:
        raise error(f"{path}: not a PEM/DER certificate file ({exc})") from None


def load_pem_certificates(path: Path) -> list[asn1_x509.Certificate]:
    """Every certificate in a PEM (or DER) file."""
    from pyhanko.keys.pemder import load_certs_from_pemder_data

    certs = read_certificates(
        path, lambda data: list(load_certs_from_pemder_data(data)), SigningError
    )
    if not certs:
        raise SigningError(f"{path}: holds no certificate")
    return certs


def ensure_station_key(keys_dir: Path, station_id: str = "bench-1") -> None:
    """Make the self-signed pair on a station's first start; refuse half a pair."""
    keys_dir = Path(keys_dir)
    key_path, cert_path = keys_dir / KEY_FILE, keys_dir / CERT_FILE
    if not key_path.exists() and not cert_path.exists():
        create_self_signed(keys_dir, station_id)
    elif not key_path.exists() or not cert_path.exists():
        have, missing = (KEY_FILE, CERT_FILE) if key_path.exists() else (CERT_FILE, KEY_FILE)
        raise SigningError(
            f"{keys_dir} holds {have} but not {missing}: put both there (your company CA's), "
            "or remove it to let the station make a self-signed pair"
        )
    _keep_private(keys_dir, key_path)


def _keep_private(keys_dir: Path, key_path: Path) -> None:
    """The signing key is readable by its owner only (a key copied in is tightened)."""
    import stat

    try:
        if stat.S_IMODE(key_path.stat().st_mode) & 0o077:
            key_path.chmod(0o600)
        if stat.S_IMODE(keys_dir.stat().st_mode) & 0o077:
            keys_dir.chmod(0o700)
    except OSError as exc:
        raise SigningError(
            f"{key_path} can be read by others and cannot be made private "
            f"({exc.strerror or exc}): make it readable by the station's user only"
        ) from None


def station_identity(keys_dir: Path, station_id: str = "bench-1") -> StationIdentity:
    """The station's signer; the key and a self-signed certificate are made on first use."""
    from pyhanko.keys.pemder import load_private_key_from_pemder_data
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    keys_dir = Path(keys_dir)
    key_path, cert_path = keys_dir / KEY_FILE, keys_dir / CERT_FILE
    ensure_station_key(keys_dir, station_id)
    try:
        key_data = key_path.read_bytes()
    except OSError as exc:
        raise SigningError(f"{key_path}: cannot be read ({exc.strerror or exc})") from None
    try:
        key = load_private_key_from_pemder_data(key_data, passphrase=None)
    except Exception as exc:
        raise SigningError(
            f"{key_path}: not an unencrypted PEM/DER private key ({type(exc).__name__})"
        ) from None
    (cert, *_rest) = load_pem_certificates(cert_path)
    chain = load_pem_certificates(keys_dir / CHAIN_FILE) if (keys_dir / CHAIN_FILE).exists() else []
    public = serialization.load_der_private_key(key.dump(), password=None).public_key()
    cert_public = x509.load_der_x509_certificate(cert.dump()).public_key()
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if public.public_bytes(*fmt) != cert_public.public_bytes(*fmt):
        raise SigningError(f"{key_path} is not the key of the certificate in {cert_path}")
    registry = SimpleCertificateStore.from_certs([cert, *chain])
    signer = signers.SimpleSigner(signing_cert=cert, signing_key=key, cert_registry=registry)
    return StationIdentity(
        signer=signer,
        certificate=cert,
        subject=_common_name(cert),
        self_signed=cert.self_signed in ("yes", "maybe"),
        keys_dir=keys_dir,
    )


def trust_roots(keys_dir: Path) -> list[asn1_x509.Certificate]:
    """The certificates this station trusts: ``trust.pem``, else its own ``station.crt``."""
    keys_dir = Path(keys_dir)
    for name in (TRUST_FILE, CERT_FILE):
        if (keys_dir / name).is_file():
            return load_pem_certificates(keys_dir / name)
    return []


def sign_pdf(
    pdf: bytes,
    identity: StationIdentity,
    attachments: Sequence[tuple[str, bytes, str]] = (),
    reason: str = "acceptance certificate",
    location: str | None = None,
) -> bytes:
    """Embed ``attachments`` ((name, data, description)) and sign the whole file (PAdES B-B)."""
    from pyhanko.pdf_utils import embed
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.fields import MDPPerm

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    for name, data, description in attachments:
        ef = embed.EmbeddedFileObject.from_file_data(
            writer,
            data,
            mime_type="application/json" if name.endswith(".json") else None,
            params=embed.EmbeddedFileParams(embed_size=True),
        )
        embed.embed_file(
            writer,
            embed.FileSpec(
                file_spec_string=name, file_name=name, embedded_data=ef, description=description
            ),
        )
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        certify=True,
        docmdp_permissions=MDPPerm.NO_CHANGES,
        signer_key_usage={"non_repudiation", "digital_signature"},
    )
    out = io.BytesIO()
    try:
        signers.sign_pdf(writer, meta, signer=identity.signer, output=out)
    except Exception as exc:
        raise SigningError(f"signing failed: {exc}") from None
    return out.getvalue()


@dataclass
class SignatureReport:
    """What a PDF's signature says; ``ok`` only when every part holds."""

    readable: bool = False
    signed: bool = False
    intact: bool = False  # the signed bytes hash to what was signed
    valid: bool = False  # the signature over that hash is cryptographically valid
    trusted: bool = False  # the signer chains to a trusted certificate
    whole_file: bool = False  # the signature covers every byte of the file
    unmodified: bool = False  # no change after signing (DocMDP, no incremental updates)
    signer: str = ""
    signer_public_der: bytes = b""  # the signer's public key (SubjectPublicKeyInfo, DER)
    signer_self_signed: bool = False
    signed_at: dt.datetime | None = None
    appended: int = 0  # bytes after the end of the signed revision (nothing else changed)
    appended_revision: bool = False  # they make a later PDF revision (an annotation, an edit)
    signed_length: int = 0
    problems: list[str] = field(default_factory=list)
    attachments: dict[str, bytes] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            self.readable
            and self.signed
            and self.intact
            and self.valid
            and self.trusted
            and self.whole_file
            and self.unmodified
            and not self.problems
        )

    def attachment_json(self, name: str) -> dict[str, Any] | None:
        raw = self.attachments.get(name)
        if raw is None:
            return None
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None


def check_pdf(data: bytes, trust: Sequence[asn1_x509.Certificate]) -> SignatureReport:
    """Check a signed PDF against trusted certificates, and read its embedded files."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    report = SignatureReport()
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        sigs = reader.embedded_signatures
        report.readable = True
    except Exception as exc:
        report.problems.append(f"the file is not a readable PDF any more ({_why(exc)})")
        return report
    if not sigs:
        report.problems.append("the file carries no signature")
        return report
    if len(sigs) != 1:
        report.problems.append(f"the file carries {len(sigs)} signatures; a certificate has one")
    sig = sigs[0]
    report.signed = True
    try:
        byte_range = [int(x) for x in sig.sig_object["/ByteRange"]]
        signed_end = byte_range[2] + byte_range[3] if len(byte_range) == 4 else -1
        covers_all = len(byte_range) == 4 and byte_range[0] == 0 and signed_end == len(data)
        if len(byte_range) == 4 and byte_range[0] == 0 and 0 < signed_end < len(data):
            report.signed_length, report.appended = signed_end, len(data) - signed_end
            report.appended_revision = b"startxref" in data[signed_end:]
    except Exception:
        covers_all = False
    vc = ValidationContext(trust_roots=list(trust), allow_fetching=False)
    try:
        status = validate_pdf_signature(sig, vc)
    except SignatureValidationError as exc:
        report.problems.append(f"the signature does not hold ({_why(exc)})")
        return report
    except Exception as exc:
        report.problems.append(f"the signature cannot be checked ({_why(exc)})")
        return report
    report.intact = bool(status.intact)
    report.valid = bool(status.valid)
    report.trusted = bool(status.trusted) and status.trust_problem_indic is None
    report.whole_file = covers_all and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    report.unmodified = (
        status.modification_level in (None, ModificationLevel.NONE)
        and status.docmdp_ok is not False
    )
    try:
        report.signer = _common_name(status.signing_cert)
        report.signer_public_der = status.signing_cert.public_key.dump()
        report.signer_self_signed = status.signing_cert.self_signed in ("yes", "maybe")
    except Exception:
        report.signer = "?"
    report.signed_at = status.signer_reported_dt
    if not report.intact:
        report.problems.append("the signed bytes were changed after signing (their hash differs)")
    elif not report.valid:
        report.problems.append("the signature itself is not valid")
    if report.intact and report.valid and not report.trusted:
        report.problems.append(
            f'the signer "{report.signer}" is not one this check trusts '
            "(give the station's certificate or your company CA with --trust)"
        )
    if not report.whole_file:
        report.problems.append(
            "the signature does not cover the whole file: bytes were added or changed after signing"
        )
    elif not report.unmodified:
        report.problems.append("the document was modified after it was signed")
    if report.whole_file:
        report.attachments = _attachments(reader)
    elif report.appended and report.intact and report.valid:
        # Bytes were only added after the signed revision: what that revision carries is
        # still the signed data, so say what was certified, and name what was added.
        try:
            signed = PdfFileReader(io.BytesIO(data[: report.signed_length]), strict=False)
            report.attachments = _attachments(signed)
        except Exception:
            report.attachments = {}
    return report


def _attachments(reader: PdfFileReader) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    try:
        names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    except Exception:
        return out
    try:
        for i in range(0, len(names) - 1, 2):
            spec = names[i + 1].get_object()
            out[str(names[i])] = spec["/EF"]["/F"].get_object().data
    except Exception:
        return out
    return out


def _common_name(cert: asn1_x509.Certificate) -> str:
    """The signer as people name it: the certificate's common name (else its whole subject)."""
    native = cert.subject.native
    return str(native.get("common_name") or cert.subject.human_friendly)


def _why(exc: Exception) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return msg[:200]


# -- detached signatures (archives of the image store) -----------------------------------------


def sign_detached(keys_dir: Path, data: bytes, station_id: str = "bench-1") -> tuple[bytes, bytes]:
    """(signature, the signer's certificate as PEM) over ``data`` with the station's key:
    ECDSA with SHA-256, for files that are not PDFs (an archive's manifest)."""
    keys_dir = Path(keys_dir)
    ensure_station_key(keys_dir, station_id)
    try:
        key = serialization.load_pem_private_key((keys_dir / KEY_FILE).read_bytes(), None)
        cert_pem = (keys_dir / CERT_FILE).read_bytes()
    except (OSError, ValueError, TypeError) as exc:
        raise SigningError(f"{keys_dir / KEY_FILE}: cannot sign with it ({_why(exc)})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise SigningError(f"{keys_dir / KEY_FILE}: an EC key is needed to sign archives")
    return key.sign(data, ec.ECDSA(hashes.SHA256())), cert_pem


def check_detached(
    data: bytes, signature: bytes, cert_pem: bytes, trust: Sequence[asn1_x509.Certificate]
) -> tuple[str | None, str]:
    """(None, signer) when ``signature`` over ``data`` is valid and made by a certificate
    that is trusted or issued by a trusted one; else (why not, signer)."""
    from cryptography.exceptions import InvalidSignature

    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        return f"the signer's certificate cannot be read ({_why(exc)})", "?"
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    signer = str(names[0].value) if names else cert.subject.rfc4514_string()
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return "the signer's key is not an EC key", signer
    try:
        key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return "the signature does not match the manifest (changed after signing)", signer
    trusted = [x509.load_der_x509_certificate(t.dump()) for t in trust]
    for t in trusted:
        if t == cert:
            return None, signer
        try:
            cert.verify_directly_issued_by(t)
            return None, signer
        except (ValueError, TypeError, InvalidSignature):
            continue
    return (
        f'the signer "{signer}" is not one this check trusts (give its certificate or your '
        "company CA with --trust)",
        signer,
    )
