"""Every row of the shipped IEC 61300-3-35 ed.2 tables, at its limits, and rule-file errors."""

from __future__ import annotations

import pytest

from grading import RuleFileError, builtin_names, load_rules
from grading.results import Defect
from grading.verdict import failures
from grading.zones import place

SM_PC = "iec-61300-3-35-ed2/sm-pc"
SM_APC = "iec-61300-3-35-ed2/sm-apc"
MM_PC = "iec-61300-3-35-ed2/mm-pc"


def judge(rules: str, zone: str, kind: str, sizes: list[float]) -> list[str]:
    rs = load_rules(rules)
    defects = [Defect(kind=kind, zone=zone, size_um=s, center_px=(0.0, 0.0)) for s in sizes]
    return failures(defects, rs.zones)


# (rules, zone, kind, sizes, passes)
TABLE = [
    # SM PC zone A: nothing at all.
    (SM_PC, "A", "defect", [], True),
    (SM_PC, "A", "defect", [1.0], False),
    (SM_PC, "A", "scratch", [0.5], False),
    # SM PC zone B: defects < 2 um any number; at most 5 of 2-5 um; none > 5 um.
    (SM_PC, "B", "defect", [1.9] * 40, True),
    (SM_PC, "B", "defect", [2.0, 3.0, 4.0, 5.0, 2.5], True),
    (SM_PC, "B", "defect", [2.0, 3.0, 4.0, 5.0, 2.5, 3.5], False),
    (SM_PC, "B", "defect", [5.0], True),
    (SM_PC, "B", "defect", [5.1], False),
    # SM PC zone B scratches: any <= 3 um, none wider.
    (SM_PC, "B", "scratch", [3.0] * 10, True),
    (SM_PC, "B", "scratch", [4.0], False),
    (SM_PC, "B", "scratch", [3.1], False),
    # SM PC zone C: no limit.
    (SM_PC, "C", "defect", [40.0] * 5, True),
    (SM_PC, "C", "scratch", [10.0] * 5, True),
    # SM PC zone D: none >= 10 um.
    (SM_PC, "D", "defect", [9.9] * 20, True),
    (SM_PC, "D", "defect", [10.0], False),
    (SM_PC, "D", "scratch", [20.0], True),
    # SM APC zone A: at most 4 scratches <= 3 um, none wider; defects none.
    (SM_APC, "A", "scratch", [3.0, 2.0, 1.0, 3.0], True),
    (SM_APC, "A", "scratch", [3.0, 2.0, 1.0, 3.0, 1.5], False),
    (SM_APC, "A", "scratch", [3.1], False),
    (SM_APC, "A", "defect", [1.0], False),
    # SM APC zone B: scratches no limit, defects as SM PC.
    (SM_APC, "B", "scratch", [10.0] * 6, True),
    (SM_APC, "B", "defect", [3.0] * 5, True),
    (SM_APC, "B", "defect", [3.0] * 6, False),
    (SM_APC, "B", "defect", [6.0], False),
    (SM_APC, "D", "defect", [10.0], False),
    # MM PC zone A: scratches <= 3 um any number; defects at most 4 <= 5 um, none > 5 um.
    (MM_PC, "A", "scratch", [3.0] * 8, True),
    (MM_PC, "A", "scratch", [3.1], False),
    (MM_PC, "A", "defect", [5.0, 4.0, 3.0, 2.0], True),
    (MM_PC, "A", "defect", [5.0, 4.0, 3.0, 2.0, 1.5], False),
    (MM_PC, "A", "defect", [5.1], False),
    # MM PC zone B: scratches <= 5 um; defects < 5 any, at most 5 of 5-10 um, none > 10 um.
    (MM_PC, "B", "scratch", [5.0] * 8, True),
    (MM_PC, "B", "scratch", [5.1], False),
    (MM_PC, "B", "defect", [4.9] * 30, True),
    (MM_PC, "B", "defect", [5.0, 6.0, 7.0, 8.0, 10.0], True),
    (MM_PC, "B", "defect", [5.0, 6.0, 7.0, 8.0, 10.0, 9.0], False),
    (MM_PC, "B", "defect", [10.1], False),
    # MM PC zone C: no limit.
    (MM_PC, "C", "defect", [50.0], True),
    # MM PC zone D: < 20 any, at most 5 of 20-30 um, none > 30 um.
    (MM_PC, "D", "defect", [19.9] * 30, True),
    (MM_PC, "D", "defect", [20.0, 25.0, 30.0, 22.0, 28.0], True),
    (MM_PC, "D", "defect", [20.0, 25.0, 30.0, 22.0, 28.0, 21.0], False),
    (MM_PC, "D", "defect", [30.1], False),
    (MM_PC, "D", "scratch", [30.0], True),
]


@pytest.mark.parametrize("rules,zone,kind,sizes,passes", TABLE)
def test_rule_table_limits(rules, zone, kind, sizes, passes):
    broken = judge(rules, zone, kind, sizes)
    assert (not broken) == passes, broken


def test_failure_spells_out_the_limit():
    broken = judge(SM_PC, "B", "defect", [3.0] * 6)
    assert broken == ["zone B (cladding): 6 defects of 2-5 um (largest 3.0 um), at most 5 allowed"]
    assert judge(SM_PC, "B", "scratch", [4.0]) == [
        "zone B (cladding): 1 scratch > 3 um wide (4.0 um), none allowed"
    ]
    assert judge(SM_PC, "D", "defect", [12.0]) == [
        "zone D (contact): 1 defect >= 10 um (12.0 um), none allowed"
    ]


def test_builtin_rule_sets_load_with_their_metadata():
    assert builtin_names() == [MM_PC, SM_APC, SM_PC]
    for name in builtin_names():
        rs = load_rules(name)
        assert rs.name == name
        assert [z.name for z in rs.zones] == ["A", "B", "C", "D"]
        assert rs.multi_fiber_zones == ("A", "B")
        assert rs.straddle == "stricter"
        assert 0 < rs.max_um_per_px <= 1.0
        assert len(rs.sha256) == 64
    assert load_rules(SM_APC).polish == "apc"
    assert load_rules(MM_PC).fiber == "mm"


def test_multi_fibre_ferrules_grade_zones_a_and_b_only():
    rs = load_rules(SM_APC)
    assert [z.name for z in rs.zones_for(multi_fiber=True)] == ["A", "B"]
    assert [z.name for z in rs.zones_for(multi_fiber=False)] == ["A", "B", "C", "D"]


def test_straddling_defect_counts_in_the_stricter_zone():
    rs = load_rules(SM_PC)
    # A 4 um particle centred in B but reaching into A (r from 10.5 to 14.5 um).
    zone = place("defect", 4.0, 10.5, 14.5, 12.5 + 0.0, rs.zones, "stricter")
    assert zone.name == "A"
    # Straddling C/D, a 12 um defect counts in D (C has no limit, D allows none >= 10).
    assert place("defect", 12.0, 62.0, 74.0, 68.0, rs.zones, "stricter").name == "D"
    # The "center" option puts it where its centre is.
    assert place("defect", 4.0, 10.5, 14.5, 13.0, rs.zones, "center").name == "B"


def test_a_defect_outside_every_graded_zone_is_not_placed():
    rs = load_rules(SM_PC)
    zones = rs.zones_for(multi_fiber=True)
    assert place("defect", 5.0, 70.0, 75.0, 72.5, zones, "stricter") is None


def write(tmp_path, text: str):
    p = tmp_path / "custom.toml"
    p.write_text(text)
    return p


VALID = """
schema = 1
name = "customer/strict"
max_um_per_px = 0.5
[[zones]]
name = "A"
inner_diameter_um = 0
outer_diameter_um = 30
defects = [{ max_count = 0 }]
scratches = [{ max_count = 0 }]
[[zones]]
name = "B"
inner_diameter_um = 30
outer_diameter_um = 120
defects = [{ above_um = 3, max_count = 0 }]
"""


def test_a_custom_rule_file_loads_by_path(tmp_path):
    rs = load_rules(write(tmp_path, VALID))
    assert rs.name == "customer/strict"
    assert rs.source.endswith("custom.toml")
    assert rs.zone("B").defect_limits[0].matches(3.5)
    assert not rs.zone("B").defect_limits[0].matches(3.0)


@pytest.mark.parametrize(
    "text,key,expected",
    [
        ("schema = 1\nname = 'x'\nmax_um_per_px = 0.5\n[[zones", None, "not valid TOML"),
        (VALID.replace("max_um_per_px = 0.5\n", ""), "max_um_per_px", "missing"),
        (VALID.replace("max_um_per_px = 0.5", "max_um_per_px = -1"), "max_um_per_px", "> 0"),
        (VALID.replace("max_um_per_px = 0.5", "max_um_per_px = 'fine'"), "max_um_per_px", "number"),
        (VALID.replace("schema = 1", "schema = 2"), "schema", "schema 1"),
        ("colour = 'red'\n" + VALID, "colour", "unknown key"),
        (
            VALID.replace("above_um = 3", "abov_um = 3"),
            "zones[1].defects[0].abov_um",
            "unknown key",
        ),
        (
            VALID.replace("max_count = 0 }]\n[[zones]]", "max_count = -1 }]\n[[zones]]"),
            "zones[0].scratches[0].max_count",
            "integer >= 0",
        ),
        (
            VALID.replace("above_um = 3", "above_um = 3, from_um = 2"),
            "zones[1].defects[0]",
            "lower bound",
        ),
        (
            VALID.replace("inner_diameter_um = 30", "inner_diameter_um = 20"),
            "zones[1].inner_diameter_um",
            "without overlap",
        ),
        (
            VALID.replace("outer_diameter_um = 120", "outer_diameter_um = 10"),
            "zones[1].outer_diameter_um",
            "larger than",
        ),
        (VALID.replace('name = "B"', 'name = "A"'), "zones[1].name", "repeated"),
        ('straddle = "maybe"\n' + VALID, "straddle", "stricter"),
        ('multi_fiber_zones = ["A", "Q"]\n' + VALID, "multi_fiber_zones", "'Q'"),
        (
            VALID.replace("defects = [{ above_um = 3, max_count = 0 }]", "defects = 5"),
            "zones[1].defects",
            "array",
        ),
        ("schema = 1\nname = 'x'\nmax_um_per_px = 0.5\nzones = []\n", "zones", "non-empty"),
    ],
)
def test_malformed_rule_files_name_file_key_and_expectation(tmp_path, text, key, expected):
    path = write(tmp_path, text)
    with pytest.raises(RuleFileError) as err:
        load_rules(path)
    message = str(err.value)
    assert str(path) in message
    if key:
        assert f"key '{key}'" in message
    assert expected in message


def test_a_rule_file_that_is_not_text_or_missing(tmp_path):
    p = tmp_path / "bin.toml"
    p.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(RuleFileError, match="not UTF-8"):
        load_rules(p)
    with pytest.raises(RuleFileError, match="neither a built-in rule set"):
        load_rules(tmp_path / "nope.toml")
    with pytest.raises(RuleFileError, match="neither a built-in"):
        load_rules("iec-61300-3-35-ed2/../../etc/passwd")
