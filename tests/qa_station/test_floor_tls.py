"""The floor database over TLS: ``[store] ca_file`` makes every connection verify-full.

A throwaway PostgreSQL server with ssl=on and a server certificate made here, signed by a
CA made here: the station connects when its config names that CA, and refuses a server
whose certificate another CA signed, or a CA file that is not there.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import text

from qa_station.store import Store, StoreError, StoreUnavailable
from tests import pg

pytestmark = pytest.mark.postgres


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn: str):
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_server_cert(ca_key, ca_cert):
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("floor-db"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(san, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def tls_server(tmp_path):
    if pg.find_bin_dir() is None:
        pytest.skip("no PostgreSQL server binaries to start one")
    server = pg.PgServer.create()
    try:
        ca_key, ca = make_ca("floor test CA")
        key, cert = make_server_cert(ca_key, ca)
        crt_file, key_file = server.root / "server.crt", server.root / "server.key"
        crt_file.write_bytes(pem(cert))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_file.chmod(0o600)
        if server.user is not None:
            for f in (crt_file, key_file):
                os.chown(f, server.user.pw_uid, server.user.pw_gid)
        with (server.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"ssl = on\nssl_cert_file = '{crt_file}'\nssl_key_file = '{key_file}'\n")
        server.start()
        ca_file = tmp_path / "floor-ca.pem"
        ca_file.write_bytes(pem(ca))
        yield server, ca_file
    finally:
        server.destroy()


def test_a_station_with_the_floor_ca_connects_verify_full(tls_server, tmp_path):
    server, ca_file = tls_server
    url = server.create_database("floor")
    store = Store(url, tmp_path / "images", ca_file=ca_file)
    try:
        store.migrate()
        with store.engine.connect() as conn:
            ssl = conn.execute(
                text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            ).scalar()
        assert ssl is True
        assert store.engine.dialect.name == "postgresql"
    finally:
        store.close()


def test_a_server_another_ca_signed_is_refused(tls_server, tmp_path):
    server, _ = tls_server
    _, other = make_ca("someone else's CA")
    wrong = tmp_path / "other-ca.pem"
    wrong.write_bytes(pem(other))
    store = Store(server.url(), tmp_path / "images", ca_file=wrong)
    try:
        with pytest.raises(StoreUnavailable, match="certificate verify failed"):
            store.ping()
    finally:
        store.engine.dispose()


def test_a_ca_file_that_is_not_there_is_said_before_connecting(tls_server, tmp_path):
    server, _ = tls_server
    with pytest.raises(StoreError, match=r"CA file .*\[store\] ca_file\) does not exist"):
        Store(server.url(), tmp_path / "images", ca_file=tmp_path / "nowhere.pem")
    with pytest.raises(StoreError, match="not SQLite"):
        Store(f"sqlite:///{tmp_path}/s.db", tmp_path / "images", ca_file=tmp_path / "x.pem")
