"""Every file the station reads from a factory or a bench (station config, rule sets, product
catalog), fuzzed the same way: random bytes, random text and random damage to a valid file
are a usable value or the format's own error, in one line, naming the file (and, where the
damaged file is still valid TOML, the key and what was expected).

Each format, with what must hold of what it accepts, is in test_fuzz_config, test_fuzz_rules
and test_fuzz_catalog (fuzzkit.FileFormat); those add the cases that are theirs alone.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.reliability.fuzzkit import bounded, dumps, mutated, renumbered
from tests.reliability.test_fuzz_catalog import CATALOG_FILE
from tests.reliability.test_fuzz_config import CONFIG
from tests.reliability.test_fuzz_rules import RULES

FORMATS = {"config": CONFIG, "rules": RULES, "catalog": CATALOG_FILE}
each_format = pytest.mark.parametrize("fmt", FORMATS.values(), ids=FORMATS)


@each_format
@bounded(150)
@given(data=st.binary(max_size=600))
def test_random_bytes_are_read_or_refused_clearly(fmt, data):
    fmt.outcome(data)


@each_format
@bounded(150)
@given(text=st.text(max_size=600))
def test_random_text_is_read_or_refused_clearly(fmt, text):
    fmt.outcome(text.encode("utf-8"))


@each_format
@bounded(200)
@given(data=st.data())
def test_a_damaged_valid_file_names_the_key_at_fault(fmt, data):
    doc, _ = data.draw(st.sampled_from(fmt.valid).flatmap(lambda d: mutated(d, rounds=3)))
    # The document is valid TOML, so the refusal is about a key and what it should be.
    fmt.outcome(dumps(doc).encode("utf-8"), "key '", "expected")


# (The rule sets' extreme numbers are graded too: test_fuzz_rules.)
@pytest.mark.parametrize("fmt", [CONFIG, CATALOG_FILE], ids=["config", "catalog"])
@bounded(100)
@given(data=st.data())
def test_extreme_numbers_are_used_or_refused_by_name(fmt, data):
    doc = data.draw(st.sampled_from(fmt.valid).flatmap(lambda d: renumbered(d, rounds=2)))
    fmt.outcome(dumps(doc).encode("utf-8"), "key '", "expected")
