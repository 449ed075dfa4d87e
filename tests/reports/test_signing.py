"""The station key, PAdES signatures, and what a check of a signed PDF trusts."""

from __future__ import annotations

import datetime as dt
import io
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from reportlab.pdfgen.canvas import Canvas

from reports.signing import (
    CERT_FILE,
    CHAIN_FILE,
    KEY_FILE,
    TRUST_FILE,
    SigningError,
    certificate_builder,
    check_pdf,
    load_pem_certificates,
    sign_pdf,
    station_identity,
    trust_roots,
)


def small_pdf(words: str = "hello") -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf)
    c.drawString(72, 720, words)
    c.showPage()
    c.save()
    return buf.getvalue()


def test_first_use_makes_a_private_key_and_a_self_signed_certificate(tmp_path):
    keys = tmp_path / "keys"
    ident = station_identity(keys, "bench-7")
    assert ident.subject == "qa-station bench-7" and ident.self_signed
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert stat.S_IMODE((keys / KEY_FILE).stat().st_mode) == 0o600
    again = station_identity(keys, "bench-7")
    assert again.certificate.dump() == ident.certificate.dump()
    assert [c.dump() for c in trust_roots(keys)] == [ident.certificate.dump()]


def test_a_signed_pdf_checks_and_carries_its_attachment(tmp_path):
    ident = station_identity(tmp_path / "keys", "bench-1")
    signed = sign_pdf(small_pdf(), ident, [("certificate.json", b'{"serial": "X-1"}', "data")])
    rep = check_pdf(signed, trust_roots(tmp_path / "keys"))
    assert rep.ok, rep.problems
    assert rep.signer == "qa-station bench-1" and rep.signer_self_signed
    assert rep.attachment_json("certificate.json") == {"serial": "X-1"}


def test_changes_and_appended_bytes_and_strangers_fail(tmp_path):
    ident = station_identity(tmp_path / "keys", "bench-1")
    signed = sign_pdf(small_pdf(), ident)
    trust = trust_roots(tmp_path / "keys")
    appended = check_pdf(signed + b"\n% a comment\n", trust)
    assert not check_pdf(signed + b"\n%%EOF\n", trust).ok
    assert not appended.ok and appended.intact and not appended.whole_file
    changed = bytearray(signed)
    changed[len(signed) // 5] ^= 1
    assert not check_pdf(bytes(changed), trust).ok
    assert not check_pdf(signed[:-40], trust).ok
    other = station_identity(tmp_path / "other", "bench-2")
    stranger = check_pdf(sign_pdf(small_pdf(), other), trust)
    assert not stranger.ok and stranger.intact and not stranger.trusted
    assert any("not one this check trusts" in p for p in stranger.problems)
    unsigned = check_pdf(small_pdf(), trust)
    assert not unsigned.ok and "no signature" in unsigned.problems[0]
    assert not check_pdf(b"garbage", trust).ok


def test_half_a_key_pair_or_a_mismatched_pair_is_refused(tmp_path):
    keys = tmp_path / "keys"
    station_identity(keys, "bench-1")
    (keys / CERT_FILE).rename(tmp_path / "saved.crt")
    with pytest.raises(SigningError, match=r"holds station\.key but not station\.crt"):
        station_identity(keys, "bench-1")
    station_identity(tmp_path / "other", "bench-2")
    (tmp_path / "other" / CERT_FILE).rename(keys / CERT_FILE)
    with pytest.raises(SigningError, match="is not the key of the certificate"):
        station_identity(keys, "bench-1")


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def test_a_company_ca_signs_the_station_key_and_is_trusted(tmp_path):
    """The README's recipe: station.key + station.crt issued by the company's CA
    (chain.pem for an intermediate), trust.pem with the root."""
    now = dt.datetime.now(dt.UTC)

    def cert(subject, issuer, pub, signer, ca, days=3650):
        b = certificate_builder(_name(subject), _name(issuer), pub, now, days, ca=ca)
        return b.sign(signer, hashes.SHA256())

    root_key = ec.generate_private_key(ec.SECP256R1())
    inter_key = ec.generate_private_key(ec.SECP256R1())
    station_key = ec.generate_private_key(ec.SECP256R1())
    root = cert(
        "Example Corp Root CA", "Example Corp Root CA", root_key.public_key(), root_key, True
    )
    inter = cert(
        "Example Corp Signing CA", "Example Corp Root CA", inter_key.public_key(), root_key, True
    )
    leaf = cert(
        "qa-station bench-3", "Example Corp Signing CA", station_key.public_key(), inter_key, False
    )
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    (keys / KEY_FILE).write_bytes(
        station_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (keys / CERT_FILE).write_bytes(_pem(leaf))
    (keys / CHAIN_FILE).write_bytes(_pem(inter))
    (keys / TRUST_FILE).write_bytes(_pem(root))
    ident = station_identity(keys, "bench-3")
    assert not ident.self_signed
    signed = sign_pdf(small_pdf(), ident)
    rep = check_pdf(signed, trust_roots(keys))
    assert rep.ok, rep.problems
    assert not rep.signer_self_signed
    # a verifier who trusts only some other root does not trust it
    other_root = station_identity(tmp_path / "x", "x").certificate
    assert not check_pdf(signed, [other_root]).ok
    # and one who holds just the root (as a customer would) does
    (tmp_path / "root.pem").write_bytes(_pem(root))
    assert check_pdf(signed, load_pem_certificates(tmp_path / "root.pem")).ok
