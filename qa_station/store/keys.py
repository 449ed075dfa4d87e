"""The station's key in the record: signing events and checkpoints, and trusting signers.

The record is signed with the key the station signs its certificates with
(``<config>/keys/station.key``; EC P-256 made on first use, or a company
CA's key, or Ed25519). Its certificate (with ``chain.pem``) is registered in
the record, under a key id: the SHA-256 of the public key (SubjectPublicKeyInfo,
DER), in hex. A verifier trusts a registered certificate only when it is one
it was given (``trust.pem``, else the station's own ``station.crt``, or
``--trust``) or was issued by one of those: a key someone added to the
database proves nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from reports.signing import (
    CERT_FILE,
    CHAIN_FILE,
    KEY_FILE,
    TRUST_FILE,
    ensure_station_key,
    read_certificates,
)

# Any key a certificate can hold; only EC, Ed25519 and RSA keys sign the record
# (``_sign``) or have their signatures accepted (``check_signature``).
PublicKey = PublicKeyTypes


class RecordKeyError(Exception):
    """The station's key cannot be used to sign the record (the message says why)."""


def key_id(public: PublicKey) -> str:
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def _sign(private: PrivateKeyTypes, data: bytes) -> bytes:
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return private.sign(data, ec.ECDSA(hashes.SHA256()))
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return private.sign(data)
    if isinstance(private, rsa.RSAPrivateKey):
        return private.sign(data, padding.PKCS1v15(), hashes.SHA256())
    raise RecordKeyError(
        f"a {type(private).__name__} cannot sign the record: use EC, Ed25519 or RSA"
    )


def check_signature(public: PublicKey, signature_b64: str | None, data: bytes) -> bool:
    """Whether ``signature_b64`` is ``public``'s signature of ``data``."""
    if not signature_b64:
        return False
    try:
        sig = base64.b64decode(signature_b64, validate=True)
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(sig, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(sig, data)
        elif isinstance(public, rsa.RSAPublicKey):
            public.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class RecordKey:
    """The station's private key, its id and its certificate (PEM, with the chain)."""

    private: PrivateKeyTypes
    id: str
    certificate_pem: str

    def sign(self, data: bytes) -> str:
        return base64.b64encode(_sign(self.private, data)).decode("ascii")

    @property
    def public(self) -> PublicKey:
        return self.private.public_key()


def load_record_key(keys_dir: Path, station_id: str) -> RecordKey:
    """The station's key (made on first use, like the certificate key it is)."""
    from reports.signing import SigningError

    keys_dir = Path(keys_dir)
    try:
        ensure_station_key(keys_dir, station_id)
        private = serialization.load_pem_private_key((keys_dir / KEY_FILE).read_bytes(), None)
        cert_pem = (keys_dir / CERT_FILE).read_text("ascii")
        chain = keys_dir / CHAIN_FILE
        if chain.is_file():
            cert_pem += chain.read_text("ascii")
        cert = x509.load_pem_x509_certificate(cert_pem.encode("ascii"))
    except (OSError, ValueError, TypeError, SigningError, UnicodeDecodeError) as exc:
        raise RecordKeyError(
            f"the station key in {keys_dir} cannot sign the record: {exc}"
        ) from None
    if key_id(cert.public_key()) != key_id(private.public_key()):
        raise RecordKeyError(f"{keys_dir / KEY_FILE} is not the key of {keys_dir / CERT_FILE}")
    return RecordKey(private, key_id(private.public_key()), cert_pem)


def certificates(pem: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem.encode("ascii"))


def public_of(certificate_pem: str) -> PublicKey:
    return certificates(certificate_pem)[0].public_key()


class Trust:
    """The certificates a verifier was given; a registered signer is trusted through them."""

    def __init__(self, roots: Iterable[x509.Certificate]) -> None:
        self.roots = list(roots)
        self._der = {c.public_bytes(serialization.Encoding.DER) for c in self.roots}

    @classmethod
    def of(cls, keys_dir: Path | None, extra: Path | None = None) -> Trust:
        """``trust.pem`` (else ``station.crt``) of a keys folder, plus a file given by hand."""
        roots: list[x509.Certificate] = []
        if keys_dir is not None:
            for name in (TRUST_FILE, CERT_FILE):
                path = Path(keys_dir) / name
                if path.is_file():
                    roots += _read(path)
                    break
        if extra is not None:
            roots += _read(Path(extra))
        return cls(roots)

    def trusts(self, certificate_pem: str) -> bool:
        """The leaf is a given certificate, or chains to one through the registered chain."""
        try:
            chain = certificates(certificate_pem)
        except ValueError:
            return False
        if not chain:
            return False
        cert = chain[0]
        pool = chain[1:] + self.roots
        for _ in range(len(pool) + 1):
            if cert.public_bytes(serialization.Encoding.DER) in self._der:
                return True
            issuer = next((c for c in pool if _issued(cert, c)), None)
            if issuer is None or issuer is cert:
                return False
            cert = issuer
        return False


def _issued(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject or cert == issuer:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    now = dt.datetime.now(dt.UTC)
    return issuer.not_valid_before_utc <= now <= issuer.not_valid_after_utc


def _parse(data: bytes) -> list[x509.Certificate]:
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


def _read(path: Path) -> list[x509.Certificate]:
    return read_certificates(path, _parse, RecordKeyError)
