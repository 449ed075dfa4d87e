"""Acceptance certificates from a real (demo-made) record: content, signature, verification.

The record is made once per module by the demo (LC duplex jumpers: clean ones are
accepted, damaged ones rejected), in a station home of its own; each test issues
its own certificates into its tmp_path.
"""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from qa_station.certificates import (
    EVENT_ISSUED,
    NotAccepted,
    build_certificate,
    certificate_id,
    issue,
    render_signed,
    verify_file,
)
from qa_station.config import load_config
from qa_station.paths import station_paths
from qa_station.record import load_record
from qa_station.store.store import open_store
from tests.qa_station.cert_kit import (
    JUMPER_ENDS,
    flip,
    make_world,
    needs_poppler,
    pdfsig,
    pdftotext,
    qa,
    signed_ranges,
)
from tests.qa_station.test_store_outage import closed_port

pytestmark = pytest.mark.slow  # a file of tens of seconds: a parallel run starts it first


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = make_world(tmp_path_factory.mktemp("cert-world"), accepted=2, damaged=2)
    assert len(w.accepted) >= 2, "the clean demo assemblies were not accepted"
    return w


@pytest.fixture
def home(world, monkeypatch):
    monkeypatch.setenv("QA_STATION_HOME", str(world.home))
    return world.home


@pytest.fixture
def store(home):
    s = open_store(load_config())
    yield s
    s.close()


def certify(capsys, serial: str, out) -> str:
    code, stdout, err = qa(capsys, "certificate", serial, "-o", str(out))
    assert code == 0, err
    (line,) = stdout.splitlines()
    return line


# -- content ---------------------------------------------------------------------------------


@needs_poppler
def test_the_text_names_the_serial_every_end_verdict_and_the_rule_set(
    capsys, home, world, tmp_path
):
    serial = world.accepted[0]
    path = certify(capsys, serial, tmp_path)
    assert path.startswith(str(tmp_path)) and path.endswith(".pdf")
    text = pdftotext(path)
    assert serial in text
    assert "ACCEPTED" in text
    assert "iec-61300-3-35-ed2/sm-pc" in text
    cert_id = re.search(r"QAC(-[A-Z2-7]{4}){4}", text).group(0)
    assert cert_id in path
    for end in JUMPER_ENDS:  # the ends table: one row per end with its verdict
        assert re.search(rf"^\s*{end}\s+lc-upc\s+sm-pc\s+1\s*/\s*1\s+PASS\b", text, re.M), end
        assert re.search(rf"End {end}\s+LC-UPC.*verdict PASS", text), end
    assert re.search(r"page 1 of \d+", text)
    assert "No deviations" in text


def test_the_embedded_data_and_the_qr_payload_name_the_record(store, world):
    serial = world.accepted[0]
    cert = build_certificate(store, serial, load_config())
    rec = load_record(store, serial)
    data = cert.data()
    assert data["serial"] == serial and data["status"] == "accepted"
    assert data["record_hash"] == rec.record_hash and data["last_event_id"] == rec.last_event_id
    assert [e["label"] for e in data["ends"]] == list(JUMPER_ENDS)
    assert all(e["verdict"] == "pass" and e["rules_sha256"] for e in data["ends"])
    assert cert.qr_text == f"{serial}|{cert.certificate_id}|{rec.record_hash}"


def test_the_certificate_id_is_deterministic():
    a = certificate_id("LCD-0900001", "ab" * 32, 1_800_000_000_000_000)
    assert a == certificate_id("LCD-0900001", "ab" * 32, 1_800_000_000_000_000)
    assert re.fullmatch(r"QAC(-[A-Z2-7]{4}){4}", a)
    assert a != certificate_id("LCD-0900002", "ab" * 32, 1_800_000_000_000_000)
    assert a != certificate_id("LCD-0900001", "cd" * 32, 1_800_000_000_000_000)
    assert a != certificate_id("LCD-0900001", "ab" * 32, 1_800_000_000_000_001)


def test_issuing_records_an_event_with_the_file_hash(capsys, home, store, world, tmp_path):
    import hashlib

    serial = world.accepted[1]
    path = certify(capsys, serial, tmp_path)
    events = store.history(serial)
    last = events[-1]
    assert last.kind == EVENT_ISSUED
    assert last.payload["sha256"] == hashlib.sha256(Path(path).read_bytes()).hexdigest()
    assert last.payload["certificate_id"] in path
    code, out, _ = qa(capsys, "history", serial)
    assert code == 0 and "certificate.issued" in out and last.payload["certificate_id"] in out


def test_the_station_key_is_made_once_and_kept_private(capsys, home, world, tmp_path):
    certify(capsys, world.accepted[0], tmp_path)
    keys = station_paths().keys_dir
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert stat.S_IMODE((keys / "station.key").stat().st_mode) == 0o600
    before = (keys / "station.crt").read_bytes()
    certify(capsys, world.accepted[0], tmp_path)
    assert (keys / "station.crt").read_bytes() == before  # reused, not remade


# -- verify ----------------------------------------------------------------------------------


@needs_poppler
def test_a_fresh_certificate_verifies_and_pdfsig_agrees(capsys, home, world, tmp_path):
    path = certify(capsys, world.accepted[0], tmp_path)
    code, out, err = qa(capsys, "verify", path)
    assert code == 0, out + err
    assert "VALID" in out and "NOT VALID" not in out
    for check in ("signature", "unchanged", "certificate data", "record", "issued"):
        assert re.search(rf"\[ok  \] {check}:", out), check
    sig = pdfsig(path)
    assert "Signature Validation: Signature is Valid." in sig
    assert "Total document signed" in sig
    code, out, _ = qa(capsys, "verify", path, "--serial", world.accepted[0], "--json")
    doc = json.loads(out)
    assert code == 0 and doc["ok"] is True and doc["certificate"]["serial"] == world.accepted[0]


@needs_poppler
@pytest.mark.parametrize("where", ["middle", "end", "start"])
def test_one_byte_changed_fails(capsys, home, world, tmp_path, where):
    path = certify(capsys, world.accepted[0], tmp_path)
    data = Path(path).read_bytes()
    _a, b, c, _d = signed_ranges(data)
    at = {"middle": b // 2, "end": len(data) - 3, "start": 20}[where]
    assert at < b or at >= c  # inside the signed bytes, not the signature's own hole
    bad = tmp_path / f"changed-{where}.pdf"
    bad.write_bytes(flip(data, at))
    code, out, err = qa(capsys, "verify", str(bad))
    assert code == 1, out + err
    assert "NOT VALID" in out
    assert "Signature is Valid" not in pdfsig(bad)  # poppler sees it too


@needs_poppler
def test_bytes_appended_after_signing_fail(capsys, home, world, tmp_path):
    path = certify(capsys, world.accepted[0], tmp_path)
    bad = tmp_path / "appended.pdf"
    bad.write_bytes(Path(path).read_bytes() + b"\n% an innocent-looking comment\n")
    code, out, _ = qa(capsys, "verify", str(bad))
    assert code == 1
    # Hole 12: it said "no certificate data"; it names the appended bytes and what was signed.
    size = len(Path(path).read_bytes())
    assert (
        f"[FAIL] unchanged: 31 bytes were appended after the signed document (bytes {size}-" in out
    )
    assert "[ok  ] certificate data: certificate QAC-" in out and "no certificate data" not in out
    # pdfsig still finds the signature valid over the bytes it covers, but not the whole file
    assert "Not total document signed" in pdfsig(bad)


def test_an_untrusted_signer_or_an_annotation_is_said_in_words_never_a_traceback(
    capsys, home, world, tmp_path
):
    """Hole 12: verify printed 10-30 line pyHanko tracebacks for these (the verdict was right)."""
    import io

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    path = certify(capsys, world.accepted[0], tmp_path)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "someone else")])
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    other = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    crt = tmp_path / "other.crt"
    crt.write_bytes(other.public_bytes(serialization.Encoding.PEM))
    import os
    import subprocess
    import sys

    def verify(*args: str) -> subprocess.CompletedProcess:  # a real process: Python's own
        return subprocess.run(  # logging defaults, as a person at a terminal has them
            [sys.executable, "-m", "qa_station", "verify", *args],
            capture_output=True, text=True, timeout=120, env={**os.environ, "QA_STATION_HOME": str(home)},
        )  # fmt: skip

    done = verify(path, "--trust", str(crt))
    assert (done.returncode, done.stderr) == (1, ""), done.stderr[-2000:]
    assert '[FAIL] signature: the signer "qa-station bench-1" is not one this check trusts' in (
        done.stdout
    )

    writer = IncrementalPdfFileWriter(io.BytesIO(Path(path).read_bytes()))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    note = generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject("/Text"),
        generic.NameObject("/Rect"): generic.ArrayObject([generic.NumberObject(v) for v in (9, 9, 40, 40)]),
        generic.NameObject("/Contents"): generic.TextStringObject("all good, trust me"),
    })  # fmt: skip
    page[generic.NameObject("/Annots")] = generic.ArrayObject([writer.add_object(note)])
    writer.update_container(page)
    annotated = tmp_path / "annotated.pdf"
    buf = io.BytesIO()
    writer.write(buf)
    annotated.write_bytes(buf.getvalue())
    done = verify(str(annotated))
    assert (done.returncode, done.stderr) == (1, ""), done.stderr[-2000:]
    assert "they make a later revision of the PDF: an annotation or an edit" in done.stdout
    # the head, six checks (signature, unchanged, certificate data, checkpoint, record,
    # issued), the verdict: one line each, nothing else
    assert len(done.stdout.splitlines()) == 8


def test_a_certificate_of_one_serial_does_not_verify_as_another(capsys, home, world, tmp_path):
    x, y = world.accepted[:2]
    path = certify(capsys, x, tmp_path)
    renamed = tmp_path / f"{y}.pdf"  # the file name is not evidence
    renamed.write_bytes(Path(path).read_bytes())
    code, out, _ = qa(capsys, "verify", str(renamed), "--serial", y)
    assert code == 1
    assert f"this certificate is for serial {x}, not {y}" in out
    code, out, _ = qa(capsys, "verify", str(renamed), "--serial", x)
    assert code == 0, out


def test_certificate_data_naming_another_serial_fails_against_the_record(
    home, store, world, tmp_path
):
    """Even signed with the station's own key: data that says serial Y with X's record hash
    does not match Y's record, and the file was never recorded as issued for Y."""
    from dataclasses import replace

    x, y = world.accepted[:2]
    cert = build_certificate(store, x, load_config())
    forged = replace(cert, assembly=replace(cert.assembly, serial=y))
    path = tmp_path / "forged.pdf"
    path.write_bytes(render_signed(forged))
    outcome = verify_file(path, store, serial=y)
    assert not outcome.ok
    states = {c.name: c.state for c in outcome.checks}
    assert states["signature"] == "ok" and states["serial"] == "ok"
    assert states["record"] == "fail"
    detail = next(c.detail for c in outcome.checks if c.name == "record")
    assert f"not part of the record of {y}" in detail


def test_an_unreachable_store_is_not_a_pass_unless_offline(capsys, home, world, tmp_path):
    path = certify(capsys, world.accepted[0], tmp_path)
    url = f"postgresql://qa@127.0.0.1:{closed_port()}/floor"
    code, out, _ = qa(capsys, "verify", path, "--db", url)
    assert code == 1
    assert re.search(r"\[ok  \] signature:", out) and re.search(r"\[ok  \] unchanged:", out)
    assert re.search(r"\[\?\?  \] record: the station's record cannot be reached", out)
    assert "--offline" in out
    code, out, _ = qa(capsys, "verify", path, "--offline")
    assert code == 0, out
    assert "not compared with the station's record (offline)" in out


def test_offline_elsewhere_needs_the_station_certificate_to_trust(
    capsys, home, world, tmp_path, monkeypatch
):
    path = certify(capsys, world.accepted[0], tmp_path)
    crt = station_paths().keys_dir / "station.crt"
    monkeypatch.setenv("QA_STATION_HOME", str(tmp_path / "customer"))  # another computer
    code, out, _ = qa(capsys, "verify", path, "--offline")
    assert code == 1 and "give --trust" in out
    code, out, _ = qa(capsys, "verify", path, "--offline", "--trust", str(crt))
    assert code == 0, out
    assert not (tmp_path / "customer" / "data").exists()  # verify made no store there
    code, out, _ = qa(capsys, "verify", path)  # no record on this computer: not checked
    assert code == 1 and "no station record on this computer" in out


def test_verify_usage_errors_exit_2(capsys, home, tmp_path):
    code, _, err = qa(capsys, "verify", str(tmp_path / "missing.pdf"))
    assert code == 2 and "no such file" in err
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf at all")
    code, out, _ = qa(capsys, "verify", str(junk), "--offline")
    assert code == 1 and "NOT VALID" in out  # readable but not a certificate: a failed check
    code, _, err = qa(capsys, "verify", str(junk), "--trust", str(junk))
    assert code == 2 and "certificate" in err


# -- refusals --------------------------------------------------------------------------------


def test_rejected_and_open_assemblies_get_no_certificate(capsys, home, store, world, tmp_path):
    assert world.rejected, "the damaged demo assemblies were all accepted"
    code, out, err = qa(capsys, "certificate", world.rejected[0], "-o", str(tmp_path))
    assert (code, out) == (1, "")
    assert "was rejected" in err and "qa-station report rejection" in err
    with pytest.raises(NotAccepted, match="was rejected"):
        issue(store, world.rejected[0], tmp_path)
    code, _, err = qa(capsys, "certificate", "LCD-9999999", "-o", str(tmp_path))
    assert code == 2 and "no assembly with serial" in err
    assert list(tmp_path.iterdir()) == []


def test_an_open_assembly_gets_no_certificate(tmp_path):
    from tests.qa_station.gate_kit import JUMPER, make_kit, scan

    kit = make_kit(tmp_path)
    kit.gate.register(JUMPER, kit.operator)
    kit.gate.record_inspection(JUMPER, "A1", scan(JUMPER, "A1"), kit.operator, "sim-400x")
    kit.gate.connect(JUMPER, "A1", kit.operator)
    with pytest.raises(NotAccepted, match=r"not accepted yet \(ends not released: A2, B1, B2\)"):
        issue(kit.store, JUMPER, tmp_path / "out", keys_dir=tmp_path / "keys")
    assert not (tmp_path / "out").exists()


# -- the demo --------------------------------------------------------------------------------


def demo_with_certificates(capsys, product: str, out: Path) -> dict:
    """``qa-station demo`` of one clean assembly of ``product``, certificates to ``out``:
    its JSON summary."""
    code, stdout, err = qa(
        capsys, "demo", "--assemblies", "1", "--scenario", "clean", "--product", product,
        "--out", str(out), "--json",
    )  # fmt: skip
    assert code == 0, err
    return json.loads(stdout)


def test_demo_out_writes_one_certificate_per_accepted_assembly(capsys, tmp_path):
    out = tmp_path / "certs"
    summary = demo_with_certificates(capsys, "jumper-lc-duplex-sm-upc", out)
    assert len(summary["certificates"]) == summary["accepted"] == 1
    (path,) = summary["certificates"]
    assert path.startswith(str(out)) and Path(path).read_bytes()[:5] == b"%PDF-"
    code, text, _ = qa(capsys, "--demo", "verify", path)  # signed and recorded by the demo
    assert code == 0, text


@needs_poppler
def test_an_mpo_trunk_certificate_shows_every_fibre_of_both_ends(capsys, tmp_path):
    out = tmp_path / "certs"
    (path,) = demo_with_certificates(capsys, "trunk-mpo12-sm-apc-b", out)["certificates"]
    text = pdftotext(path)
    serial = re.search(r"Serial number\s+(T12B-\d{6})", text).group(1)
    assert path.startswith(str(out / serial))
    assert "iec-61300-3-35-ed2/sm-apc" in text and "MT ferrule: zones A and B only" in text
    for end in ("A", "B"):
        assert re.search(rf"^\s*{end}\s+mpo12\s+sm-apc\s+12\s*/\s*12\s+PASS\b", text, re.M), end
        assert re.search(rf"End {end}\s+MPO12, 12 fibres, female, single-mode\s+verdict PASS", text)
    rows = re.findall(r"^\s*(\d{1,2})\s+PASS\s+0\s+\d+\s+\d+\s+\d+\s", text, re.M)
    assert sorted(int(n) for n in rows) == sorted(list(range(1, 13)) * 2)  # the per-fibre tables
    assert "Ferrule overview (key up), each fibre ringed in its verdict's colour" in text
    data = Path(path).read_bytes()
    # 24 thumbnails, 2 overviews, the fibre map (both ends alike: reportlab stores it once)
    assert data.count(b"/Subtype /Image") >= 24 + 2 + 1
    code, out_text, _ = qa(capsys, "--demo", "verify", path)
    assert code == 0, out_text
