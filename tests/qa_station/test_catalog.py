"""The product catalog: a serial names a product, the product names each end's rule set."""

from __future__ import annotations

import subprocess
import sys

import pytest

from qa_station.catalog import CatalogError, load_catalog, parse_products
from tests.qa_station.files_kit import product_toml


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_the_four_example_products_ship(catalog):
    ids = {p.id for p in catalog.products}
    assert ids == {
        "trunk-mpo12-sm-apc-b",
        "trunk-mpo24-mm",
        "fanout-mpo12-12lc-sm",
        "jumper-lc-duplex-sm-upc",
    }
    fanout = catalog.get("fanout-mpo12-12lc-sm")
    assert [e.label for e in fanout.ends] == ["MPO"] + [f"LC{i}" for i in range(1, 13)]
    assert fanout.end("MPO").rules.endswith("sm-apc") and fanout.end("LC7").rules.endswith("sm-pc")
    assert fanout.end("MPO").gender == "male"


@pytest.mark.parametrize(
    "label,product,serial",
    [
        ("T12B-000123", "trunk-mpo12-sm-apc-b", "T12B-000123"),
        ("MTP12-FF-B-SMAPC-005M T12B-000123", "trunk-mpo12-sm-apc-b", "T12B-000123"),
        ("MTP24-FF-A-OM4-010M|T24M-000045", "trunk-mpo24-mm", "T24M-000045"),
        ("  LCD-0012345 ", "jumper-lc-duplex-sm-upc", "LCD-0012345"),
    ],
)
def test_labels_identify_products(catalog, label, product, serial):
    found = catalog.identify(label)
    assert (found.product.id, found.serial) == (product, serial)


@pytest.mark.parametrize(
    "label,message",
    [
        ("", "empty label"),
        ("T12B-12", "not a serial of any product"),
        ("NOPE-1 T12B-000123", "unknown part number 'NOPE-1'"),
        ("MTP12-FF-B-SMAPC-005M T24M-000045", "does not fit part number"),
        ("MTP12-FF-B-SMAPC-005M", "is a part number: scan the assembly's serial too"),
        ("A B C", "expected a part number and a serial"),
        ("T12B-000123\x1b[2J", "not a serial number"),
        ("X" * 200, "not a serial number"),
    ],
)
def test_unknown_or_malformed_labels_are_refused_clearly(catalog, label, message):
    with pytest.raises(CatalogError, match=message.replace("(", r"\(").replace("'", "'")):
        catalog.identify(label)


def test_an_end_the_product_does_not_have(catalog):
    with pytest.raises(CatalogError, match="has no end 'C'; its ends are A, B"):
        catalog.get("trunk-mpo12-sm-apc-b").end("C")


GOOD = product_toml(
    "custom",
    "Custom MPO-16",
    "C16-*",
    "^C16-[0-9]{4}$",
    "C16-0001",
    connector="mpo16",
    rules="iec-61300-3-35-ed2/sm-apc",
)


@pytest.mark.parametrize(
    "patch,key,expected",
    [
        ((b'policy = "clean-if-fail"\n', b""), None, None),
        (
            (b'connector = "mpo16"', b'connector = "mpo17"'),
            "product[0].ends[0].connector",
            "one of",
        ),
        ((b'connector = "mpo16"', b'connector = "lc-upc"'), "product[0].ends[0].rules", "PC rules"),
        (
            (
                b'fiber = "sm", rules = "iec-61300-3-35-ed2/sm-apc"',
                b'fiber = "mm", rules = "iec-61300-3-35-ed2/sm-apc"',
            ),
            "product[0].ends[0].rules",
            "MM",
        ),
        ((b"'^C16-[0-9]{4}$'", b"'^C16-[0-9'"), "product[0].serial_pattern", "regular expression"),
        (
            (b'serial_example = "C16-0001"', b'serial_example = "C16-1"'),
            "product[0].serial_example",
            "matches",
        ),
        ((b'id = "custom"', b'id = "custom"\nwarranty = 5'), "product[0].warranty", "unknown key"),
        ((b'label = "A"', b'label = "A/../../x"'), "product[0].ends[0].label", "letters"),
    ],
)
def test_catalog_files_are_validated(patch, key, expected):
    data = GOOD.replace(*patch)
    if key is None:
        (product,) = parse_products(data, "mine.toml")
        assert product.policy == "clean-if-fail" and product.exposure_limit_s == 300
        return
    with pytest.raises(CatalogError) as err:
        parse_products(data, "mine.toml")
    assert "catalog mine.toml" in str(err.value) and f"key '{key}'" in str(err.value)
    if expected:
        assert expected in str(err.value)


def test_a_factory_catalog_extends_the_built_in_one(tmp_path):
    f = tmp_path / "products.toml"
    f.write_bytes(GOOD)
    catalog = load_catalog(f)
    assert catalog.identify("C16-0042").product.id == "custom"
    assert catalog.identify("T12B-000123").product.id == "trunk-mpo12-sm-apc-b"


HOUSE = GOOD.replace(b"'^C16-[0-9]{4}$'", b"'^(a+)+$'").replace(b'"C16-0001"', b'"aaaa"')


def test_a_house_pattern_with_nested_repeats_cannot_hang_the_bench(tmp_path):
    """Hole 10: `^(a+)+$` hung `scan` on a 41-character serial (catastrophic backtracking).
    Serial patterns run on RE2: linear in the serial. Run in a child so that a hang fails
    the test at the timeout instead of hanging the suite."""
    f = tmp_path / "products.toml"
    f.write_bytes(HOUSE)
    code = (
        "import sys; from pathlib import Path; from qa_station.catalog import load_catalog, "
        "CatalogError\nc = load_catalog(Path(sys.argv[1]))\n"
        "assert c.identify('a' * 41).product.id == 'custom'\n"
        "for label in ('a' * 41 + '!', 'a' * 60 + 'b'):\n"
        "    try: c.identify(label)\n"
        "    except CatalogError: pass\n"
        "    else: raise SystemExit('accepted ' + label)\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(f)], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr


@pytest.mark.parametrize(
    "pattern,word",
    [("^(a)\\1$", "backreferences"), ("^(?=T)T12$", "look-around"), ("^a{1001}$", "RE2")],
)
def test_a_pattern_re2_cannot_run_is_refused_in_one_line(pattern, word, capfd):
    data = GOOD.replace(b"'^C16-[0-9]{4}$'", f"'{pattern}'".encode())
    with pytest.raises(CatalogError) as err:
        parse_products(data, "mine.toml")
    message = str(err.value)
    assert "key 'product[0].serial_pattern'" in message and word in message
    assert "\n" not in message
    assert capfd.readouterr().err == ""  # RE2 logs nothing of its own
