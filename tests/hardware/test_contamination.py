"""The cleaning physics of the simulated bench, measured over many cleanings."""

from __future__ import annotations

import numpy as np
import pytest

from grading.geometry import connector
from hardware.simulated.assembly import EndSpec, VirtualAssembly
from hardware.simulated.bench import SimulatedBench
from hardware.simulated.contamination import EndFaceDirt, clean, expose, mate

MPO = connector("mpo12")


def assembly(serial: str, scenario: str, gender: str = "female") -> VirtualAssembly:
    return VirtualAssembly.build(
        serial, [EndSpec("A", MPO, "sm", "apc", gender)], scenario=scenario
    )


def loose_dust(dirt: EndFaceDirt) -> int:
    return sum(1 for f in dirt.features if f.loose and not f.oily)


def test_dry_cleaning_removes_most_loose_dust():
    before = after = 0
    rng = np.random.default_rng(1)
    for i in range(150):
        dirt = assembly(f"DUSTY-{i}", "dusty").ends["A"].dirt
        before += loose_dust(dirt)
        clean(dirt, "dry-one-click", rng)
        after += loose_dust(dirt)
    assert before > 1000
    assert 1 - after / before >= 0.80


def test_oil_survives_dry_cleaning_smeared_and_leaves_with_wet_to_dry():
    rng = np.random.default_rng(2)
    oily = smeared = oily_after_wet = area_before = area_after = 0.0
    for i in range(120):
        dirt = assembly(f"OILY-{i}", "oily").ends["A"].dirt
        oil = [f for f in dirt.features if f.oily]
        oily += len(oil)
        area_before += sum(f.size_um**2 for f in oil)
        clean(dirt, "dry-cassette", rng)
        after_dry = [f for f in dirt.features if f.oily]
        smeared += len(after_dry)
        area_after += sum(f.size_um**2 for f in after_dry)
        clean(dirt, "wet-to-dry", rng)
        oily_after_wet += sum(1 for f in dirt.features if f.oily)
    assert smeared == oily  # dry cleaning never lifts oil
    assert area_after > 1.5 * area_before  # it spreads it
    assert oily_after_wet / oily <= 0.1


def test_damage_is_permanent_whatever_the_cleaning():
    rng = np.random.default_rng(3)
    for i in range(40):
        a = VirtualAssembly.build(f"DMG-{i}", [EndSpec("A", MPO, "sm", "apc", "female")], "damaged")
        dirt = a.ends["A"].dirt
        fixed = [f for f in dirt.features if not f.loose]
        for method in ("dry-one-click", "dry-cassette", "wet-to-dry", "wet-to-dry"):
            clean(dirt, method, rng)
        assert [f for f in dirt.features if not f.loose] == fixed


def test_a_dirty_adapter_recontaminates_unless_it_is_cleaned_too():
    rng = np.random.default_rng(4)
    left_by_dirty = left_by_clean = 0
    for i in range(60):
        bench = SimulatedBench(seed=i)
        bench.load(assembly(f"ADP-{i}", "dirty-adapter"))
        bench.clean("A", "wet-to-dry")
        left_by_dirty += bench.mate("A")
        bench2 = SimulatedBench(seed=i)
        bench2.load(assembly(f"ADP-{i}", "dirty-adapter"))
        bench2.clean("A", "wet-to-dry")
        bench2.clean_adapter("A")
        left_by_clean += bench2.mate("A")
    assert left_by_dirty >= 60 * 2
    assert left_by_clean <= 0.1 * left_by_dirty
    assert mate(EndFaceDirt(adapter_dirt=0), MPO.fiber_positions_um, rng) == 0


def test_an_uncapped_face_collects_dust_over_minutes_and_a_capped_one_does_not():
    rng = np.random.default_rng(5)
    landed = []
    for _ in range(200):
        dirt = EndFaceDirt(capped=False, uncapped_since=0.0)
        landed.append(expose(dirt, 20 * 60.0, MPO.fiber_positions_um, rng))
    assert np.mean(landed) == pytest.approx(0.25 * 20, rel=0.2)
    capped = EndFaceDirt(capped=True)
    assert expose(capped, 3600.0, MPO.fiber_positions_um, rng) == 0


def test_a_male_connector_needs_the_male_cassette():
    rng = np.random.default_rng(6)
    wrong = right = total = 0
    for i in range(80):
        a = assembly(f"MALE-{i}", "male", gender="male")
        b = assembly(f"MALE-{i}", "male", gender="male")
        total += loose_dust(a.ends["A"].dirt)
        clean(a.ends["A"].dirt, "dry-cassette", rng, male=True, male_tool=False)
        clean(b.ends["A"].dirt, "dry-cassette", rng, male=True, male_tool=True)
        wrong += loose_dust(a.ends["A"].dirt)
        right += loose_dust(b.ends["A"].dirt)
    assert right / total < 0.15
    assert wrong / total > 0.5


def test_the_same_serial_gets_the_same_dirt_and_scenarios_follow_the_line_mix():
    a = assembly("SN-000123", "dusty").ends["A"].dirt.features
    b = assembly("SN-000123", "dusty").ends["A"].dirt.features
    c = assembly("SN-000124", "dusty").ends["A"].dirt.features
    assert a == b and a != c
    picked = [
        VirtualAssembly.build(f"LINE-{i}", [EndSpec("A", MPO, "sm", "apc", "female")]).scenario
        for i in range(400)
    ]
    assert 0.25 < picked.count("clean") / 400 < 0.45
    assert set(picked) <= {"clean", "dusty", "oily", "damaged", "dirty-adapter"}


def test_unknown_scenario_and_method_are_refused():
    with pytest.raises(ValueError, match="unknown scenario"):
        assembly("X", "sticky")
    with pytest.raises(ValueError, match="unknown cleaning method"):
        clean(EndFaceDirt(), "spit-and-polish", np.random.default_rng(0))
