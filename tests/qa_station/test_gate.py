"""Every rule of the gate, refused and allowed, through the real store."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from qa_station.catalog import Catalog, CatalogError, load_catalog, parse_products
from qa_station.gate import Gate, GateRefused
from qa_station.store.models import Event
from tests.qa_station.files_kit import product_toml
from tests.qa_station.gate_kit import JUMPER, TRUNK, dirty, make_kit, scan


@pytest.fixture
def kit(tmp_path):
    k = make_kit(tmp_path)
    k.gate.register(TRUNK, k.operator)
    return k


def inspect(kit, end="A", failing=None, serial=TRUNK):
    return kit.gate.record_inspection(
        serial, end, scan(serial, end, failing), kit.operator, "sim-400x"
    )


def clean(kit, end="A", method="dry-one-click", adapter=True, serial=TRUNK):
    return kit.gate.record_cleaning(serial, end, method, "ONECLICK-7", adapter, kit.operator)


def events(kit, kind=None):
    with kit.store.read() as s:
        rows = s.execute(select(Event).order_by(Event.id)).scalars().all()
    return [(e.kind, e.end_label, json.loads(e.payload)) for e in rows if kind in (None, e.kind)]


def test_registering_records_the_product_and_its_ends(kit):
    state = kit.gate.state(TRUNK)
    assert state.product_id == "trunk-mpo12-sm-apc-b"
    assert list(state.ends) == ["A", "B"] and all(e.status == "new" for e in state.ends.values())
    ((_kind, _, payload),) = [e for e in events(kit) if e[0] == "assembly.registered"]
    assert payload["ends"][0]["rules"] == "iec-61300-3-35-ed2/sm-apc"
    _again, state2 = kit.gate.register(TRUNK, kit.operator)
    assert state2 == state and len(events(kit, "assembly.registered")) == 1
    with pytest.raises(CatalogError):
        kit.gate.register("NOT-A-SERIAL", kit.operator)


def test_connect_needs_an_inspection(kit):
    with pytest.raises(GateRefused, match="has not been inspected"):
        kit.gate.connect(TRUNK, "A", kit.operator)


def test_connect_needs_the_last_inspection_to_pass(kit):
    inspect(kit, failing=dirty())
    with pytest.raises(GateRefused, match="failed its last inspection"):
        kit.gate.connect(TRUNK, "A", kit.operator)


def test_a_failed_end_cannot_be_inspected_again_until_it_is_cleaned(kit):
    inspect(kit, failing=dirty())
    with pytest.raises(GateRefused, match=r"clean it .* before inspecting again"):
        inspect(kit)
    clean(kit)
    assert inspect(kit).verdict == "pass"
    kit.gate.connect(TRUNK, "A", kit.operator)
    assert kit.gate.state(TRUNK).end("A").connected == "connected"


def test_cleaning_after_the_inspection_makes_it_stale(kit):
    inspect(kit)
    clean(kit)
    with pytest.raises(GateRefused, match="cleaned after its last inspection"):
        kit.gate.connect(TRUNK, "A", kit.operator)


def test_connect_needs_a_fresh_inspection(kit):
    inspect(kit)
    kit.clock.advance(301)
    with pytest.raises(GateRefused, match=r"inspected 5\.0 min ago \(limit 5\.0 min\)"):
        kit.gate.connect(TRUNK, "A", kit.operator)
    inspect(kit)  # a passed end may simply be inspected again
    kit.clock.advance(299)
    kit.gate.connect(TRUNK, "A", kit.operator)


def test_a_connected_end_is_done(kit):
    inspect(kit)
    kit.gate.connect(TRUNK, "A", kit.operator)
    for action in (
        lambda: inspect(kit),
        lambda: clean(kit),
        lambda: kit.gate.connect(TRUNK, "A", kit.operator),
    ):
        with pytest.raises(GateRefused, match="already connected"):
            action()


@pytest.mark.parametrize(
    "method,tool,message",
    [("spit", "T-1", "unknown cleaning method"), ("dry-cassette", "  ", "tool's id is needed")],
)
def test_cleanings_need_a_known_method_and_a_tool(kit, method, tool, message):
    with pytest.raises(GateRefused, match=message):
        kit.gate.record_cleaning(TRUNK, "A", method, tool, True, kit.operator)


def test_all_ends_released_accepts_the_assembly(kit):
    for end in ("A", "B"):
        inspect(kit, end)
        kit.gate.connect(TRUNK, end, kit.operator, mode="capped")
    state = kit.gate.state(TRUNK)
    assert state.status == "accepted"
    assert [k for k, *_ in events(kit)][-1] == "assembly.accepted"
    with pytest.raises(GateRefused, match="is accepted"):
        inspect(kit, "A")


def test_refusals_are_recorded(kit):
    with pytest.raises(GateRefused):
        kit.gate.connect(TRUNK, "B", kit.operator)
    ((_, end, payload),) = events(kit, "gate.refused")
    assert (
        end == "B" and payload["action"] == "connect" and "not been inspected" in payload["reason"]
    )


def test_a_scan_graded_against_other_rules_or_incomplete_is_refused(kit):
    s = scan(TRUNK, "A")
    s.rules = "iec-61300-3-35-ed2/mm-pc"
    with pytest.raises(GateRefused, match="graded against iec-61300-3-35-ed2/sm-apc"):
        kit.gate.record_inspection(TRUNK, "A", s, kit.operator, "sim-400x")
    partial = scan(TRUNK, "A")
    del partial.fibers[12]
    with pytest.raises(GateRefused, match="incomplete"):
        kit.gate.record_inspection(TRUNK, "A", partial, kit.operator, "sim-400x")


def test_unknown_serials_and_ends_are_refused(kit):
    with pytest.raises(GateRefused, match="not registered"):
        kit.gate.connect("T12B-999999", "A", kit.operator)
    with pytest.raises(GateRefused, match="has no end 'C'"):
        kit.gate.connect(TRUNK, "C", kit.operator)


def fail_cycles(kit, positions, methods):
    """Fail, clean, fail... with the defect of fibre 3 at the given positions."""
    out = None
    for i, where in enumerate(positions):
        out = inspect(kit, failing=dirty(where=where))
        if i < len(methods):
            clean(kit, method=methods[i])
    return out


def test_defects_that_stay_put_escalate_as_damage_and_block_the_end(kit):
    rec = fail_cycles(kit, [(5, 2), (5.5, 2.2), (5.2, 1.8), (5.1, 2.1)], ["dry-cassette"] * 3)
    assert (
        rec.escalation is not None and rec.escalation.cause == "damage" and rec.escalation.blocking
    )
    state = kit.gate.state(TRUNK)
    assert state.end("A").status == "escalated"
    with pytest.raises(GateRefused, match="escalated \\(damage\\)"):
        clean(kit)
    with pytest.raises(GateRefused, match="escalated \\(damage\\)"):
        kit.gate.connect(TRUNK, "A", kit.operator)
    with pytest.raises(GateRefused, match="only a supervisor"):
        kit.gate.reject(TRUNK, kit.operator, "scratched core")
    with pytest.raises(GateRefused, match="needs a reason"):
        kit.gate.reject(TRUNK, kit.supervisor, "")
    assert (
        kit.gate.reject(TRUNK, kit.supervisor, "scratch through fibre 3 core").status == "rejected"
    )
    with pytest.raises(GateRefused, match="is rejected"):
        inspect(kit, "B")


def test_a_scratch_that_survives_cleaning_is_damage(kit):
    rec = None
    for _ in range(4):
        rec = inspect(kit, failing=dirty(kind="scratch", size=2.5))
        if rec.escalation:
            break
        clean(kit)
    assert rec.escalation.cause == "damage"


def test_contamination_that_moves_after_dry_cleaning_is_residue_wet_to_dry_next(kit):
    rec = fail_cycles(kit, [(5, 2), (12, 9), (19, 3), (2, 15)], ["dry-one-click"] * 3)
    esc = rec.escalation
    assert esc.cause == "residue" and not esc.blocking and esc.require_method == "wet-to-dry"
    with pytest.raises(GateRefused, match="clean wet-to-dry next \\(not dry-cassette\\)"):
        clean(kit, method="dry-cassette")
    clean(kit, method="wet-to-dry")
    assert inspect(kit).verdict == "pass"
    assert kit.gate.state(TRUNK).end("A").escalation is None
    kit.gate.connect(TRUNK, "A", kit.operator)


def test_residue_that_survives_wet_to_dry_goes_to_a_supervisor(kit):
    fail_cycles(kit, [(5, 2), (12, 9), (19, 3), (2, 15)], ["dry-one-click"] * 3)
    clean(kit, method="wet-to-dry")
    rec = inspect(kit, failing=dirty(where=(30, -10)))
    assert rec.escalation.cause == "persistent contamination" and rec.escalation.blocking
    assert "stop assuming contamination" in rec.advice


def test_a_supervisor_may_release_an_escalated_end_for_rework(kit):
    fail_cycles(kit, [(5, 2)] * 4, ["dry-cassette"] * 3)
    with pytest.raises(GateRefused):
        inspect(kit)
    kit.gate.release_for_rework(TRUNK, "A", kit.supervisor, "re-polished on line 2")
    assert inspect(kit).verdict == "pass"


def test_an_override_connects_a_refused_end_and_is_marked_as_a_deviation(kit):
    inspect(kit, failing=dirty())
    with pytest.raises(GateRefused, match="only a supervisor"):
        kit.gate.override_connect(TRUNK, "A", kit.operator, "customer waiver 17")
    state = kit.gate.override_connect(TRUNK, "A", kit.supervisor, "customer waiver 17 for fibre 3")
    assert state.end("A").connected == "connected" and state.end("A").deviation
    ((_, _, override),) = events(kit, "end.override")
    assert (
        override["supervisor"] == "sam" and "failed its last inspection" in override["overriding"]
    )
    assert events(kit, "end.connected")[-1][2]["deviation"] is True


def test_the_state_is_rebuilt_from_the_store_after_a_restart(tmp_path):
    k = make_kit(tmp_path)
    k.gate.register(TRUNK, k.operator)
    inspect(k, failing=dirty())
    clean(k)
    before = k.gate.state(TRUNK)
    restarted = Gate(
        type(k.store)(k.store.url, tmp_path / "images", "bench-t", k.clock), load_catalog()
    )
    after = restarted.state(TRUNK)
    assert after == before and after.end("A").status == "cleaned"


def test_two_benches_on_one_store_see_each_others_actions(kit, tmp_path):
    other = Gate(
        type(kit.store)(kit.store.url, tmp_path / "images", "bench-2", kit.clock), load_catalog()
    )
    inspect(kit, "B")
    other.connect(TRUNK, "B", kit.operator)
    assert kit.gate.state(TRUNK).end("B").connected == "connected"


ALWAYS = product_toml(
    "mac-jumper",
    "LC jumper for moves, adds and changes",
    "MAC-*",
    "^MAC-[0-9]{4}$",
    "MAC-0001",
    policy="always-clean",
)


def test_always_clean_needs_connector_and_adapter_cleaned_then_a_pass(tmp_path):
    cat = Catalog(parse_products(ALWAYS, "test"))
    k = make_kit(tmp_path, catalog=cat)
    k.gate.register("MAC-0007", k.operator)

    def insp():
        return k.gate.record_inspection(
            "MAC-0007", "A", scan("MAC-0007", "A", catalog=cat), k.operator, "p"
        )

    assert insp().verdict == "pass"
    with pytest.raises(GateRefused, match="policy always-clean"):
        k.gate.connect("MAC-0007", "A", k.operator)
    k.gate.record_cleaning("MAC-0007", "A", "dry-one-click", "OC-1", False, k.operator)
    insp()
    with pytest.raises(GateRefused, match="clean the connector and its adapter"):
        k.gate.connect("MAC-0007", "A", k.operator)
    k.gate.record_cleaning("MAC-0007", "A", "dry-one-click", "OC-1", True, k.operator)
    insp()
    assert k.gate.connect("MAC-0007", "A", k.operator).status == "accepted"


def test_ends_of_a_fanout_are_independent(tmp_path):
    k = make_kit(tmp_path)
    k.gate.register(JUMPER, k.operator)
    k.gate.record_inspection(
        JUMPER, "A1", scan(JUMPER, "A1", {1: [("defect", 0, 0, 3)]}), k.operator, "p"
    )
    k.gate.record_inspection(JUMPER, "A2", scan(JUMPER, "A2"), k.operator, "p")
    k.gate.connect(JUMPER, "A2", k.operator)
    state = k.gate.state(JUMPER)
    assert state.end("A1").status == "failed" and state.end("A2").status == "connected"
    assert state.status == "open"
