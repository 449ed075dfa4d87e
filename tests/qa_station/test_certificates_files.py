"""Serial numbers never become raw file paths, and records changed after issue do not verify.

These use the gate with synthetic scans (tests/qa_station/gate_kit.py): exact
control over serials, products and the clock, no simulated optics.
"""

from __future__ import annotations

import re
import unicodedata

import pytest

from qa_station.catalog import Catalog, load_catalog
from qa_station.certificates import CertificateError, inside, issue, verify_file
from qa_station.paths import safe_name
from tests.qa_station.gate_kit import catalog_with_odd_serials, make_kit, scan

SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

NASTY = [
    "../../etc/passwd",
    "..",
    ".",
    "",
    "/abs/path",
    "a/b",
    "a\\b\\..\\c",
    "..hidden",
    "-rf",
    "spaced serial 1",
    "ÆØÅ-ünïcødé-☃",
    "东京-0001",
    "x\x00y",
    "CON",
    "a" * 300,
    "T12B-000123",
]


@pytest.mark.parametrize("serial", NASTY)
def test_safe_names_stay_plain(serial, tmp_path):
    name = safe_name(serial)
    assert SAFE.match(name), name
    assert ".." not in name and "/" not in name and "\\" not in name
    assert len(name) <= 100
    target = inside(tmp_path, f"{name}-QAC-AAAA-BBBB-CCCC-DDDD.pdf")
    assert target.parent == tmp_path.resolve()
    if serial == "T12B-000123":
        assert name == serial  # ordinary serials keep their name


def test_serials_that_clean_up_alike_get_different_names():
    assert len({safe_name("A/B"), safe_name("A_B"), safe_name("A?B"), safe_name("A B")}) == 4
    assert safe_name("Ünï-1").startswith("Uni-1-")  # accents become plain letters where they can


@pytest.mark.parametrize("name", ["../x.pdf", "..", "a/b.pdf", "", "x\x00.pdf"])
def test_inside_refuses_names_that_leave_the_folder(name, tmp_path):
    with pytest.raises(CertificateError):
        inside(tmp_path, name)


def _accepted(kit, serial: str, catalog: Catalog) -> None:
    kit.gate.register(serial, kit.operator)
    kit.gate.record_inspection(
        serial, "A", scan(serial, "A", catalog=catalog), kit.operator, "sim-400x"
    )
    kit.gate.connect(serial, "A", kit.operator)
    assert kit.gate.state(serial).status == "accepted"


ODD_SERIALS = [
    "ODD/../../escape",
    "ODD/..",
    "ODD..",
    "ODD\\..\\..\\win",
    "ODD-ÆØÅ-ü/☃",
    "ODD%2e%2e%2fx",
]


def test_issue_never_writes_outside_the_folder(tmp_path):
    catalog = catalog_with_odd_serials()
    kit = make_kit(tmp_path, catalog=catalog)
    out = tmp_path / "work" / "out"
    before = {p for p in tmp_path.rglob("*") if "out" not in p.parts}
    written = []
    for serial in ODD_SERIALS:
        _accepted(kit, serial, catalog)
        path = issue(kit.store, serial, out, keys_dir=tmp_path / "keys")
        assert path.parent == out.resolve(), path
        assert SAFE.match(path.name) and path.name.endswith(".pdf")
        written.append(path)
        outcome = verify_file(path, kit.store, serial=serial, keys_dir=tmp_path / "keys")
        assert outcome.ok, outcome.lines()
        assert outcome.data["serial"] == serial  # the real serial, exactly, inside the file
    assert sorted(out.iterdir()) == sorted(written)
    after = {p for p in tmp_path.rglob("*") if "out" not in p.parts}
    new = {p for p in after - before if not p.is_relative_to(tmp_path / "images")}
    new = {
        p
        for p in new
        if not p.is_relative_to(tmp_path / "keys") and not p.name.startswith("gate.db")
    }
    new.discard(tmp_path / "work")  # the output folder's parent, made with it
    assert new == set(), new  # nothing written anywhere else (escape, win, ...)
    assert not list(tmp_path.parent.glob("escape*"))


def test_a_unicode_serial_prints_as_itself(tmp_path):
    """Latin, Greek, Cyrillic print as typed (DejaVu Sans). Scripts the font lacks (CJK)
    show as blanks in the text; the embedded data and the QR code carry them exactly."""
    import subprocess

    catalog = catalog_with_odd_serials()
    kit = make_kit(tmp_path, catalog=catalog)
    serial = "ODD-Ærø-Ωμέγα-Жук"
    _accepted(kit, serial, catalog)
    path = issue(kit.store, serial, tmp_path / "out", keys_dir=tmp_path / "keys")
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert unicodedata.normalize("NFC", serial) in unicodedata.normalize("NFC", text)


def test_a_record_changed_after_issue_no_longer_verifies(tmp_path):
    catalog = load_catalog()
    kit = make_kit(tmp_path, catalog=catalog)
    serial = "LCD-0004242"
    kit.gate.register(serial, kit.operator)
    for end in ("A1", "A2", "B1", "B2"):
        kit.gate.record_inspection(serial, end, scan(serial, end), kit.operator, "sim-400x")
        kit.gate.connect(serial, end, kit.operator)
    path = issue(kit.store, serial, tmp_path / "out", keys_dir=tmp_path / "keys")
    assert verify_file(path, kit.store, keys_dir=tmp_path / "keys").ok
    # a refused action later does not change what the certificate certifies
    from qa_station.gate import GateRefused

    with pytest.raises(GateRefused):
        kit.gate.record_cleaning(serial, "A1", "dry-one-click", "T-1", True, kit.operator)
    assert verify_file(path, kit.store, keys_dir=tmp_path / "keys").ok
    # something recorded about the assembly afterwards does
    with kit.store.write() as w:
        aid = kit.store.assembly_id(w.session, serial)
        w.event(
            "end.override",
            {"action": "note", "reason": "late change", "supervisor": "sam"},
            aid,
            "A1",
            "sam",
        )
    outcome = verify_file(path, kit.store, keys_dir=tmp_path / "keys")
    assert not outcome.ok
    (record,) = [c for c in outcome.checks if c.name == "record"]
    assert record.state == "fail" and "changed after this certificate was issued" in record.detail
