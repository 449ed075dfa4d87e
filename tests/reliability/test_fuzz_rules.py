"""Rule files: any bytes, any text, any damage to a shipped file is either a usable rule set
or a RuleFileError naming the file, the key and what was expected; and a rule set that loads
grades an image without crashing.

The table-driven cases live in tests/grading/test_rules.py; these add property-based coverage
(random bytes, text and damage go through RULES in test_fuzz_files.py).
"""

from __future__ import annotations

import math
import tomllib
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grading import GradingUsageError, grade
from grading.rules import (
    STRADDLE_MODES,
    RuleFileError,
    RuleSet,
    builtin_names,
    load_rules,
    parse_rules,
)
from tests.grading.renders import SCALE, face
from tests.reliability.fuzzkit import (
    TOML_VALUES,
    FileFormat,
    assert_clear,
    bounded,
    dumps,
    mutated,
    renumbered,
)

ORIGIN = "fuzz/rules.toml"
BUILTIN = {
    name: resources.files("grading")
    .joinpath("rulesets", *name.split("/"))
    .with_suffix(".toml")
    .read_bytes()
    for name in builtin_names()
}
BUILTIN_DOCS = {name: tomllib.loads(data.decode()) for name, data in BUILTIN.items()}


def assert_sane(rs: RuleSet) -> None:
    assert isinstance(rs.name, str) and rs.name.strip()
    assert math.isfinite(rs.max_um_per_px) and rs.max_um_per_px > 0
    assert math.isfinite(rs.min_feature_um) and rs.min_feature_um >= 0
    assert math.isfinite(rs.max_blur_um) and rs.max_blur_um > 0
    assert rs.straddle in STRADDLE_MODES
    assert rs.zones
    names = [z.name for z in rs.zones]
    assert len(set(names)) == len(names)
    assert set(rs.multi_fiber_zones) <= set(names)
    previous = 0.0
    for z in rs.zones:
        assert 0 <= z.inner_diameter_um < z.outer_diameter_um and math.isfinite(z.outer_diameter_um)
        assert z.inner_diameter_um >= previous - 1e-9
        previous = z.outer_diameter_um
        for lim in z.scratch_limits + z.defect_limits:
            assert isinstance(lim.max_count, int) and lim.max_count >= 0
            for bound in (lim.from_um, lim.above_um, lim.to_um, lim.below_um):
                assert bound is None or (math.isfinite(bound) and bound >= 0)
            lim.describe()  # every limit can be put in words on a certificate


RULES = FileFormat(
    lambda data: parse_rules(data, origin=ORIGIN, source=ORIGIN),
    RuleFileError,
    f"rules file {ORIGIN}",
    assert_sane,
    tuple(BUILTIN_DOCS[name] for name in sorted(BUILTIN_DOCS)),
)


@bounded(100)
@given(
    st.sampled_from(["max_um_per_px", "min_feature_um", "max_blur_um", "schema", "name"]),
    TOML_VALUES,
)
def test_any_value_for_a_top_level_key_is_used_or_refused_by_name(key, value):
    doc = dict(BUILTIN_DOCS["iec-61300-3-35-ed2/sm-pc"], **{key: value})
    RULES.outcome(dumps(doc).encode("utf-8"), f"key '{key}'", "expected")


@bounded(60)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_load_rules_from_a_file_refuses_through_the_documented_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("rules") / "custom.toml"
    path.write_bytes(data)
    try:
        assert_sane(load_rules(path))
    except RuleFileError as exc:
        assert_clear(str(exc), str(path))


@pytest.mark.parametrize(
    "name",
    ["x" * 5000, "a/" * 3000, "\x00", "", ".", "..", "/", "/etc", "iec-61300-3-35-ed2/../x"],
    ids=["long-name", "deep-path", "nul", "empty", "dot", "dotdot", "root", "folder", "escape"],
)
def test_a_rules_name_that_is_no_file_is_refused_clearly(name):
    with pytest.raises(RuleFileError) as err:
        load_rules(name)
    assert_clear(str(err.value), "neither a built-in rule set")


@pytest.fixture(scope="module")
def lc_face():
    return face("lc-upc").image


@bounded(60)
@given(mutated(BUILTIN_DOCS["iec-61300-3-35-ed2/sm-pc"], rounds=2))
def test_a_rule_set_that_loads_grades_without_crashing(lc_face, case):
    doc, _ = case
    try:
        rs = parse_rules(dumps(doc).encode("utf-8"), origin=ORIGIN, source=ORIGIN)
    except RuleFileError:
        return
    try:
        result = grade(lc_face, connector="lc-upc", rules=rs, um_per_px=SCALE)
    except GradingUsageError as exc:  # e.g. the file now says APC: refused as a pairing
        assert_clear(str(exc))
        return
    assert result.verdict in ("pass", "fail", "error")
    result.to_dict()


@bounded(120)
@given(renumbered(BUILTIN_DOCS["iec-61300-3-35-ed2/sm-pc"], rounds=3))
def test_extreme_but_well_typed_numbers_grade_without_crashing(lc_face, doc):
    try:
        rs = parse_rules(dumps(doc).encode("utf-8"), origin=ORIGIN, source=ORIGIN)
    except RuleFileError as exc:
        assert_clear(str(exc), "key '", "expected")
        return
    assert_sane(rs)
    result = grade(lc_face, connector="lc-upc", rules=rs, um_per_px=SCALE)
    assert result.verdict in ("pass", "fail", "error")
    result.to_dict()
