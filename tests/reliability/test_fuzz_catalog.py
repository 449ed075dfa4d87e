"""The product catalog and scanned labels: a usable product or a CatalogError, always readable.

tests/qa_station/test_catalog.py holds the known cases; random and damaged catalog files go
through CATALOG_FILE in test_fuzz_files.py; this adds any value of a product's keys, and random
labels as a barcode scanner or a keyboard could deliver them.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources

from hypothesis import given
from hypothesis import strategies as st

from qa_station.catalog import (
    POLICIES,
    Catalog,
    CatalogError,
    Product,
    load_catalog,
    parse_products,
)
from tests.qa_station.files_kit import product_toml
from tests.reliability.fuzzkit import FileFormat, assert_clear, bounded, dumps

ORIGIN = "fuzz/products.toml"
SHIPPED = resources.files("qa_station.catalog").joinpath("products.toml").read_bytes()
SHIPPED_DOC = tomllib.loads(SHIPPED.decode("utf-8"))
CATALOG = load_catalog()
SERIALS = [p.serial_example for p in CATALOG.products]
PARTS = [p.part_numbers[0].replace("*", "X1") for p in CATALOG.products]


def assert_sane(p: Product) -> None:
    assert p.id.strip() and p.name.strip() and p.part_numbers and p.ends
    assert p.policy in POLICIES
    assert p.exposure_limit_s > 0 and p.exposure_limit_s != float("inf")
    assert isinstance(p.max_clean_cycles, int) and p.max_clean_cycles >= 1
    assert p.polarity is None or isinstance(p.polarity, str)
    assert p.serial_ok(p.serial_example)
    assert len({e.label for e in p.ends}) == len(p.ends)
    for e in p.ends:
        assert e.geometry.fiber_count >= 1
        assert e.ruleset().zones  # the rule set an end names loads


def assert_all_sane(products: list[Product]) -> None:
    for p in products:
        assert_sane(p)


CATALOG_FILE = FileFormat(
    lambda data: parse_products(data, ORIGIN),
    CatalogError,
    f"catalog {ORIGIN}",
    assert_all_sane,
    (SHIPPED_DOC,),
)


@bounded(80)
@given(
    st.sampled_from(["serial_pattern", "part_numbers", "polarity", "exposure_limit_s", "policy"]),
    st.one_of(
        st.text(max_size=30),
        st.sampled_from(["(" * 400 + ")" * 400, "a{99999999999}", "[", "(?P<x>", "\\", "*"]),
        st.lists(st.text(max_size=8), max_size=3),
        st.floats(),
        st.integers(min_value=-(2**80), max_value=2**80),
    ),
)
def test_any_value_of_a_product_key_is_used_or_refused_by_name(key, value):
    doc = {**SHIPPED_DOC, "product": [{**SHIPPED_DOC["product"][0], key: value}]}
    # A new serial_pattern may be refused through the example that no longer fits it.
    CATALOG_FILE.outcome(dumps(doc).encode("utf-8"), "key 'product[0].")


# -- labels ---------------------------------------------------------------------------------------

LABELS = st.one_of(
    st.text(max_size=160),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
    st.builds(
        lambda part, serial, sep, junk: f"{part}{sep}{serial}{junk}",
        st.sampled_from([*PARTS, "", "MTP12-FF-B-SMAPC-*", "*"]),
        st.sampled_from([*SERIALS, "", "T12B-", "T12B-0001234"]),
        st.sampled_from([" ", "|", "  ", "\t", "\n", " | ", ""]),
        st.text(max_size=4),
    ),
)


def check_label(catalog: Catalog, label: str) -> None:
    try:
        found = catalog.identify(label)
    except CatalogError as exc:
        assert_clear(str(exc))
        return
    assert found.product in catalog.products
    assert found.product.serial_ok(found.serial)
    assert found.serial.isprintable() and " " not in found.serial and found.serial
    assert found.serial in label
    if found.part_number is not None:
        assert found.product.matches_part(found.part_number)


@bounded(200)
@given(LABELS)
def test_any_scanned_label_identifies_one_product_or_is_refused_clearly(label):
    check_label(CATALOG, label)


@bounded(60)
@given(LABELS)
def test_labels_against_a_catalog_whose_serials_allow_any_printable_character(label):
    odd = parse_products(
        product_toml("odd", "Odd serials", "ODD-*", r"^\S+$", "ODD-1"), "odd catalog"
    )
    check_label(Catalog(odd), label)


def test_known_serials_still_identify():
    for serial in SERIALS:
        assert CATALOG.identify(serial).serial == serial
    assert re.fullmatch(CATALOG.products[0].serial_pattern, SERIALS[0])
