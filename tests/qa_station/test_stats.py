"""Production statistics, counted by the database, checked against a production run we script.

Two days of work through the real gate (fake clock, synthetic scans), on
SQLite and PostgreSQL: every number below follows from the script by hand.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from grading.geometry import UnknownConnectorError, connector
from qa_station import stats
from qa_station.stats import StatsError
from tests.qa_station.gate_kit import TRUNK, dirty, make_kit, scan

DAY_S = 86_400
J1, J2, J3 = "LCD-0000001", "LCD-0000002", "LCD-0000003"
JUMPER_ID, TRUNK_ID = "jumper-lc-duplex-sm-upc", "trunk-mpo12-sm-apc-b"


class Line:
    """The bench, scripted: each action a minute after the one before."""

    def __init__(self, kit) -> None:
        self.kit = kit

    def tick(self) -> None:
        self.kit.clock.advance(60)

    def inspect(self, serial: str, end: str, failing=None, unjudged: tuple[int, ...] = ()):
        self.tick()
        s = scan(serial, end, failing)
        for k in unjudged:
            s.fibers[k] = replace(s.fibers[k], verdict="error", error="out of focus")
        return self.kit.gate.record_inspection(serial, end, s, self.kit.operator, "sim-400x")

    def clean(self, serial: str, end: str) -> None:
        self.tick()
        self.kit.gate.record_cleaning(serial, end, "dry-cassette", "CAS-1", True, self.kit.operator)

    def passes(self, serial: str, end: str) -> None:
        assert self.inspect(serial, end).verdict == "pass"
        self.tick()
        self.kit.gate.connect(serial, end, self.kit.operator, mode="capped")

    def keeps_failing(self, serial: str, end: str, places) -> str:
        """Fail, clean, fail ... until the gate escalates; the cause it gave."""
        for i, where in enumerate(places):
            rec = self.inspect(serial, end, dirty(1, where))
            if rec.escalation:
                return rec.escalation.cause
            assert i < len(places) - 1, "the gate did not escalate"
            self.clean(serial, end)
        raise AssertionError("unreachable")


@pytest.fixture
def production(tmp_path, store_url):
    """Day 1: J1 half done, T1 end A failing twice. Day 2: J1 and T1 accepted (T1.B not
    judged once, failed once), J2 rejected (damage), J3 open with two residue escalations."""
    kit = make_kit(tmp_path, store_url)
    line = Line(kit)
    day1 = (int(kit.clock()) // DAY_S) * DAY_S
    for serial in (J1, TRUNK):
        kit.gate.register(serial, kit.operator)
    line.passes(J1, "A1")
    assert line.inspect(J1, "A2", dirty(1)).verdict == "fail"
    line.clean(J1, "A2")
    line.inspect(TRUNK, "A", {**dirty(3), **dirty(7)})
    line.clean(TRUNK, "A")
    line.inspect(TRUNK, "A", dirty(3))
    line.clean(TRUNK, "A")

    kit.clock.t = day1 + DAY_S + 9 * 3600  # day 2, 09:00 UTC
    for end in ("A2", "B1", "B2"):
        line.passes(J1, end)
    line.passes(TRUNK, "A")
    assert line.inspect(TRUNK, "B", unjudged=(5,)).verdict == "error"
    line.inspect(TRUNK, "B", dirty(12))
    line.clean(TRUNK, "B")
    line.passes(TRUNK, "B")
    for serial in (J2, J3):
        kit.gate.register(serial, kit.operator)
    same_place = [(5, 2), (5.5, 2.2), (5.2, 1.8), (5.1, 2.1)]
    assert line.keeps_failing(J2, "A1", same_place) == "damage"
    kit.gate.reject(J2, kit.supervisor, "scratch through the core of A1")
    moving = [(5, 2), (12, 9), (19, 3), (2, 15)]
    assert line.keeps_failing(J3, "A1", moving) == "residue"
    assert line.keeps_failing(J3, "A2", moving) == "residue"
    assert kit.gate.state(J1).status == "accepted" and kit.gate.state(TRUNK).status == "accepted"
    yield kit, day1
    kit.store.close()


def as_tuples(fpy: stats.FirstPassYield) -> list[tuple[int, int, int]]:
    return [(b.start_us // 1_000_000, b.ends, b.passed) for b in fpy.buckets]


def test_first_pass_yield_counts_each_end_once_in_the_bucket_of_its_first_inspection(
    production,
):
    kit, day1 = production
    fpy = stats.first_pass_yield(kit.store, None, None)
    # Day 1 first inspections: J1.A1 pass, J1.A2 fail, T1.A fail. Day 2: J1.B1 and B2 pass;
    # T1.B (not judged: not a pass), J2.A1, J3.A1, J3.A2 fail. Re-inspections (J1.A2, T1.A,
    # T1.B ...) do not count.
    assert as_tuples(fpy) == [(day1, 3, 1), (day1 + DAY_S, 6, 2)]
    assert (fpy.ends, fpy.passed) == (9, 3) and fpy.share == pytest.approx(1 / 3)
    assert fpy.buckets[0].share == pytest.approx(1 / 3)


def test_first_pass_yield_by_product_and_period(production):
    kit, day1 = production
    jumpers = stats.first_pass_yield(kit.store, None, None, product_id=JUMPER_ID)
    assert as_tuples(jumpers) == [(day1, 2, 1), (day1 + DAY_S, 5, 2)]
    trunks = stats.first_pass_yield(kit.store, None, None, product_id=TRUNK_ID)
    assert as_tuples(trunks) == [(day1, 1, 0), (day1 + DAY_S, 1, 0)]
    # From day 2 on, J1.A2 (first inspected on day 1, passed on day 2) is still not counted.
    day2 = stats.first_pass_yield(kit.store, (day1 + DAY_S) * 10**6, None)
    assert as_tuples(day2) == [(day1 + DAY_S, 6, 2)]
    assert stats.first_pass_yield(kit.store, None, day1 * 10**6).buckets == ()


def test_first_pass_yield_by_hour_and_in_local_days(production):
    kit, day1 = production
    hours = stats.first_pass_yield(kit.store, None, None, bucket="hour")
    assert sum(b.ends for b in hours.buckets) == 9 and sum(b.passed for b in hours.buckets) == 3
    starts = [b.start_us // 1_000_000 for b in hours.buckets]
    assert starts == sorted(starts) and all(s % 3600 == 0 for s in starts)
    assert starts[0] == day1 + 8 * 3600  # the clock starts at 08:00 UTC on day 1
    # Ten hours east of UTC, day 1's morning work and day 2's 09:00 work are one local day
    # apart still, and the buckets start at local midnight.
    local = stats.first_pass_yield(kit.store, None, None, utc_offset_s=10 * 3600)
    assert [b.start_us // 1_000_000 for b in local.buckets] == [
        day1 - 10 * 3600,
        day1 + DAY_S - 10 * 3600,
    ]
    with pytest.raises(StatsError, match="bucket 'week'"):
        stats.first_pass_yield(kit.store, None, None, bucket="week")


def test_defects_by_position_counts_every_failed_fibre_inspection(production):
    kit, day1 = production
    mpo = stats.defects_by_position(kit.store, "mpo12", None, None)
    assert mpo.inspections == 6  # T1.A three times, T1.B three times
    failed = {p.fiber: p.failed for p in mpo.positions if p.failed}
    assert failed == {3: 2, 7: 1, 12: 1}  # a fibre not judged is not a failed one
    assert {p.fiber: p.not_judged for p in mpo.positions if p.not_judged} == {5: 1}
    assert all(p.inspected == 6 for p in mpo.positions)
    assert [p.position_um for p in mpo.positions] == list(connector("mpo12").fiber_positions_um)
    assert mpo.geometry.name == "mpo12" and mpo.max_failed == 2 and mpo.failed == 4
    later = stats.defects_by_position(kit.store, "mpo12", (day1 + DAY_S) * 10**6, None)
    assert later.inspections == 4 and {p.fiber: p.failed for p in later.positions if p.failed} == {
        12: 1
    }
    lc = stats.defects_by_position(kit.store, "lc-upc", None, None)
    # J1: A1, A2 twice, B1, B2; J2: four; J3: four on A1 and four on A2.
    assert lc.inspections == 17 and len(lc.positions) == 1
    assert (lc.positions[0].inspected, lc.positions[0].failed) == (17, 13)
    none = stats.defects_by_position(kit.store, "lc-upc", None, None, product_id=TRUNK_ID)
    assert none.inspections == 0 and none.positions[0].failed == 0
    with pytest.raises(UnknownConnectorError, match="known types"):
        stats.defects_by_position(kit.store, "mpo13", None, None)


def test_cleaning_cycles_of_closed_assemblies(production):
    kit, day1 = production
    hist = stats.cleaning_cycles(kit.store, None, None)
    # J1 accepted after 1 cleaning, T1 accepted after 3, J2 rejected after 3; J3 is open.
    assert hist.cycles == (0, 1, 2, 3)
    assert hist.accepted == (0, 1, 0, 1) and hist.rejected == (0, 0, 0, 1)
    assert hist.assemblies == 3 and hist.mean() == pytest.approx(7 / 3)
    trunks = stats.cleaning_cycles(kit.store, None, None, product_id=TRUNK_ID)
    assert (trunks.accepted, trunks.rejected) == ((0, 0, 0, 1), (0, 0, 0, 0))
    day_one = stats.cleaning_cycles(kit.store, None, (day1 + DAY_S) * 10**6)
    assert day_one.cycles == () and day_one.assemblies == 0  # nothing was closed on day 1


def test_escalation_causes_from_the_escalation_events(production):
    kit, day1 = production
    esc = stats.escalation_causes(kit.store, None, None)
    assert esc.causes == (("residue", 2), ("damage", 1))
    assert esc.total == 3 and esc.share("residue") == pytest.approx(2 / 3)
    assert stats.escalation_causes(kit.store, None, None, product_id=TRUNK_ID).causes == ()
    assert stats.escalation_causes(kit.store, None, (day1 + DAY_S) * 10**6).total == 0


def test_an_empty_store_gives_empty_statistics(tmp_path):
    kit = make_kit(tmp_path)
    try:
        assert stats.first_pass_yield(kit.store, None, None).buckets == ()
        assert stats.defects_by_position(kit.store, "mpo24", None, None).failed == 0
        assert stats.cleaning_cycles(kit.store, None, None).assemblies == 0
        assert stats.escalation_causes(kit.store, None, None).total == 0
    finally:
        kit.store.close()
