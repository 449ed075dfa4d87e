"""The gate takes a grade only as a whole inspection of the end (issue 12, hole 5).

A caller of the Python API can hand ``record_facts`` anything: a "pass" with no fibres,
fibres without their frames, or a fibre marked pass that the registered table fails. Each
is refused by name, and the record keeps nothing of it.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from grading.results import Defect
from qa_station.gate import GateRefused
from qa_station.gate.facts import InspectionFacts
from qa_station.record import load_record
from tests.qa_station.gate_kit import TRUNK, make_kit, scan


@pytest.fixture
def kit(tmp_path):
    """A gate with the trunk registered; its store closed after the test."""
    kit = make_kit(tmp_path)
    try:
        kit.gate.register(TRUNK, kit.operator)
        yield kit
    finally:
        kit.store.close()


def _passing_facts(kit) -> InspectionFacts:
    return InspectionFacts.of_scan(scan(TRUNK, "A"), kit.store.images)


def _refused(kit, facts: InspectionFacts, match: str) -> None:
    with pytest.raises(GateRefused, match=match):
        kit.gate.record_facts(TRUNK, "A", facts, kit.operator, "sim-400x")
    assert load_record(kit.store, TRUNK).end("A").inspections == ()


def test_a_pass_with_no_fibres_is_refused(kit):
    facts = _passing_facts(kit)
    empty = replace(facts, result=replace(facts.result, fibers=()), images={})
    _refused(kit, empty, r"has fibre\(s\) none: every fibre is graded, once")


def test_a_pass_whose_fibres_have_no_stored_frames_is_refused(kit):
    facts = _passing_facts(kit)
    _refused(kit, replace(facts, images={}), r"have no stored frame: inspect again")


def test_a_fibre_marked_pass_that_the_table_fails_is_refused(kit):
    facts = _passing_facts(kit)
    fibers = list(facts.result.fibers)
    f = fibers[2]
    big = Defect(kind="defect", zone="A", size_um=9.0, center_px=f.center_px)
    fibers[2] = replace(f, defects=(*f.defects, big))
    forged = replace(facts, result=replace(facts.result, fibers=tuple(fibers)))
    _refused(kit, forged, r"fibre 3 is marked pass, but .* fails it")
