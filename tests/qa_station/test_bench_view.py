"""What the bench shows, worked out headless: fibre states, the next step and its key,
the supervisor's first choice, and where a scanned code belongs."""

from __future__ import annotations

import pytest

from qa_station import bench_view as bv
from qa_station.catalog import load_catalog
from qa_station.controller import SUPERVISOR_ACTIONS
from tests.qa_station.gate_kit import TRUNK, dirty, make_kit, scan


@pytest.fixture
def kit(tmp_path):
    k = make_kit(tmp_path)
    k.gate.register(TRUNK, k.operator)
    return k


def inspect(kit, end="A", failing=None):
    s = scan(TRUNK, end, failing)
    kit.gate.record_inspection(TRUNK, end, s, kit.operator, "sim-400x")
    return s.result()


def clean(kit, end="A", method="dry-one-click"):
    return kit.gate.record_cleaning(TRUNK, end, method, "CLN-0042", True, kit.operator)


def step(kit, end="A", **bench):
    return bv.next_step(kit.gate.state(TRUNK), end, bv.Bench(**bench), kit.store.time.peek())


def test_the_next_step_follows_the_gate_with_its_key(kit):
    assert step(kit) == bv.NextStep("I", "inspect end A")
    result = inspect(kit, failing=dirty(fibre=4))
    # Failed, no tool yet: scan the tool first, then C records the cleaning.
    s = step(kit)
    assert s.key == "C" and "record the cleaning of end A" in s.action
    assert s.first == "scan the cleaning tool's label"
    assert s.text.startswith("scan the cleaning tool's label, then C: record the cleaning")
    # The last tool is offered with its own key, never filled in by itself.
    s = step(kit, last_tool="CLN-0042")
    assert "T: CLN-0042 again" in s.first
    assert step(kit, tool_id="CLN-0042").first == ""
    # The map: fibre 4 failed, the rest passed; after the cleaning fibre 4 is "cleaned".
    e = kit.gate.state(TRUNK).end("A")
    assert bv.fibre_states(e, result) == {n: ("fail" if n == 4 else "pass") for n in range(1, 13)}
    clean(kit)
    e = kit.gate.state(TRUNK).end("A")
    assert bv.fibre_states(e, result)[4] == "cleaned"
    assert step(kit) == bv.NextStep("I", "inspect end A again")
    view = bv.end_view(kit.gate.state(TRUNK), "A", result)
    assert (view.status, view.step, view.words) == ("cleaned", 2, "cleaned: inspect it again")
    inspect(kit)
    assert step(kit) == bv.NextStep("N", "connect end A")
    assert step(kit, mode="capped") == bv.NextStep("N", "cap and release end A")
    # A pass older than the exposure limit cannot be connected: inspect again is next.
    kit.clock.advance(301)
    assert step(kit).key == "I" and "too old" in step(kit).action
    kit.clock.advance(-301)
    kit.gate.connect(TRUNK, "A", kit.operator)
    assert step(kit) == bv.NextStep("E", "next end (B)")
    inspect(kit, "B")
    kit.gate.connect(TRUNK, "B", kit.operator)
    state = kit.gate.state(TRUNK)
    assert state.status == "accepted"
    assert bv.next_step(state, "B", bv.Bench()).action.endswith("scan the next assembly's serial")


def test_the_next_step_before_and_around_the_gate():
    assert bv.next_step(None, None, bv.Bench(signed_in=False)).action.startswith("sign in")
    nothing = bv.next_step(None, None, bv.Bench())
    assert nothing.key == "" and "scan the assembly's serial" in nothing.action
    assert bv.next_step(None, None, bv.Bench(scanning=True)).key == "Esc"
    waiting = bv.next_step(None, None, bv.Bench(part_number="MTP12-FF-B-SMAPC-005M"))
    assert waiting.action == "scan the serial of this MTP12-FF-B-SMAPC-005M assembly"


def fail_cycles(kit, positions, methods):
    for i, where in enumerate(positions):
        inspect(kit, failing=dirty(where=where))
        if i < len(methods):
            clean(kit, method=methods[i])


def test_damage_offers_the_rework_the_advice_names_never_an_override(kit):
    fail_cycles(kit, [(5, 2), (5.5, 2.2), (5.2, 1.8), (5.1, 2.1)], ["dry-cassette"] * 3)
    e = kit.gate.state(TRUNK).end("A")
    assert e.escalation.cause == "damage"
    assert bv.default_decision(e) == "release for rework"
    s = step(kit)
    assert s.key == "S" and "release for rework" in s.action
    view = bv.end_view(kit.gate.state(TRUNK), "A", None)
    assert view.tone == "bad" and view.decision == "release for rework"
    assert "re-polishing" in view.advice
    assert tuple(k.label for k in SUPERVISOR_ACTIONS) == (bv.OVERRIDE, bv.REWORK, bv.REJECT)


def test_residue_asks_for_wet_to_dry_and_persistent_dirt_offers_a_rejection(kit):
    fail_cycles(kit, [(5, 2), (12, 9), (19, 3), (2, 15)], ["dry-one-click"] * 3)
    view = bv.end_view(kit.gate.state(TRUNK), "A", None)
    assert view.required_method == "wet-to-dry" and view.status == "failed"
    assert "wet-to-dry" in step(kit, tool_id="CLN-1").action  # the method the advice asks for
    clean(kit, method="wet-to-dry")
    inspect(kit, failing=dirty(where=(30, -10)))
    e = kit.gate.state(TRUNK).end("A")
    assert e.escalation.cause == "persistent contamination"
    assert bv.default_decision(e) == "reject assembly"


def test_a_fibre_of_a_scan_is_drawn_with_its_own_verdict():
    result = scan(TRUNK, "A", dirty(fibre=3)).result()
    assert result.verdict == "fail"
    one = bv.one_fibre(result, 5)
    assert one.verdict == "pass" and [f.index for f in one.fibers] == [5]
    assert one.rules_sha256 == result.rules_sha256 and one.um_per_px == result.um_per_px
    assert bv.one_fibre(result, 3).verdict == "fail"
    assert bv.one_fibre(result, 99) is None


def test_where_a_scanned_code_belongs():
    cat = load_catalog()
    route = bv.route_scan
    assert route("T12B-000123", cat, tool_field=False, awaiting_clean=False) == bv.Routed(
        "serial", "T12B-000123"
    )
    assert route("CLN-0042", cat, tool_field=True, awaiting_clean=False).kind == "tool"
    # The end waits for a cleaning: a code no product knows as a serial is the tool's label...
    assert route("CLN-0042", cat, tool_field=False, awaiting_clean=True) == bv.Routed(
        "tool", "CLN-0042"
    )
    # ...but the next assembly's serial is still a serial.
    assert route("T12B-000124", cat, tool_field=False, awaiting_clean=True).kind == "serial"
    # A part number alone waits for its serial, and the two open together.
    part = route("MTP12-FF-B-SMAPC-005M", cat, tool_field=False, awaiting_clean=False)
    assert part == bv.Routed("part", "MTP12-FF-B-SMAPC-005M")
    joined = route(
        "T12B-000123", cat, tool_field=False, awaiting_clean=False, part_number=part.text
    )
    assert joined == bv.Routed("serial", "MTP12-FF-B-SMAPC-005M T12B-000123")
    assert cat.identify(joined.text).part_number == "MTP12-FF-B-SMAPC-005M"
    # An unknown code is opened as a serial, so the catalog says what is wrong with it.
    assert route("ZZ-NOT-A-SERIAL", cat, tool_field=False, awaiting_clean=False).kind == "serial"


def test_a_programming_error_is_never_taken_for_a_refusal():
    from qa_station.catalog import CatalogError
    from qa_station.gate import GateRefused

    assert not isinstance(ValueError("x"), bv.EXPECTED)
    assert not isinstance(KeyError("x"), bv.EXPECTED)
    assert ValueError not in bv.EXPECTED and Exception not in bv.EXPECTED
    assert isinstance(GateRefused("x"), bv.EXPECTED)
    assert isinstance(CatalogError("x"), bv.EXPECTED)
