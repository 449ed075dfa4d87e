"""The canonical form the chain hashes is RFC 8785 exactly: byte for byte what the
``rfc8785`` package writes, for any JSON value, including the awkward ones."""

from __future__ import annotations

import hashlib

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from qa_station.store.chain import canonical, event_hash
from tests.reliability.fuzzkit import bounded

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@bounded(400)
@given(JSON)
def test_the_canonical_form_is_the_rfc8785_package_s(value):
    assert canonical(value).encode("utf-8") == rfc8785.dumps(value)


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": [30.0, 0.1, 1e-7, 1e21, -0.0, 5e-324], "é": '\u2028\x7f\x1f"\\'},
        {"\U0001f600": 1, "\uffff": 2, "z": 3},  # keys in UTF-16 order, not code points
        [True, False, None, 2**53 - 1],
    ],
)
def test_known_awkward_values(value):
    assert canonical(value).encode("utf-8") == rfc8785.dumps(value)


@pytest.mark.parametrize("value", [2**53, float("nan"), {1: "x"}, "\ud800", object()])
def test_what_rfc8785_refuses_is_refused(value):
    with pytest.raises(rfc8785.CanonicalizationError):
        rfc8785.dumps(value)
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical(value)


FIELDS = st.tuples(
    st.text(min_size=64, max_size=64),
    st.integers(1, 2**53 - 1),
    st.sampled_from(["end.inspected", "login"]),
    st.none() | st.integers(1, 10**9),
    st.none() | st.text(max_size=16),
    st.text(),
    st.none() | st.text(max_size=64),
    st.text(max_size=64),
    st.integers(0, 2**53 - 1),
    st.none() | st.text(max_size=32),
    st.none() | st.integers(0, 2**53 - 1),
)


@bounded(200)
@given(FIELDS)
def test_the_event_hash_is_sha256_of_the_rfc8785_form_of_the_event(fields):
    names = ("prev", "id", "kind", "assembly", "end", "payload", "operator", "station",
             "at_us", "session", "mono_us")  # fmt: skip
    generic = {"v": 2, **dict(zip(names, fields, strict=True))}
    assert event_hash(*fields) == hashlib.sha256(rfc8785.dumps(generic)).hexdigest()
