"""Drift: control charts per bench from the record, the Western Electric rules by hand, and a
point out of control flagged in the lot report."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from qa_station.drift import RULES, drift, p_chart, u_chart, western_electric
from qa_station.lots import write_lot_report
from tests.qa_station.gate_kit import dirty, make_kit, scan

DAY_S = 86_400


def test_the_western_electric_rules_by_hand():
    flags = western_electric([0.2, 3.4, -0.1, 2.3, 2.6, 0.0, 1.2, 1.5, 0.3, 1.1, 1.4])
    assert flags[1] == [RULES[0]]  # one beyond 3 sigma
    assert RULES[1] in flags[4]  # 2 of 3 beyond 2 sigma: 2.3, 2.6
    assert RULES[2] in flags[10]  # 4 of 5 beyond 1 sigma: 1.2 1.5 . 1.1 1.4
    assert not flags[0] and not flags[2]
    run = western_electric([0.5] * 7 + [0.4])
    assert run[7] == [RULES[3]] and not any(run[:7])
    assert western_electric([None, 5.0, None]) == [[], [RULES[0]], []]


def test_p_and_u_charts_carry_their_limits_per_point():
    p = p_chart("b", [(0, 1, 10), (1, 2, 40)])
    assert p.centre == pytest.approx(3 / 50)
    first = p.points[0]
    assert first.value == 0.1 and first.lcl == 0.0
    assert first.ucl == pytest.approx(0.06 + 3 * (0.06 * 0.94 / 10) ** 0.5)
    u = u_chart("b", [(0, 12, 24), (1, 0, 24)])
    assert u.centre == 0.25 and u.points[1].z < 0
    assert p_chart("b", [(0, 0, 5)]).points[0].z is None  # no variation to measure


@pytest.fixture
def line(tmp_path):
    """Twelve days at one bench: two jumpers a day; on day 10 every first inspection fails."""
    kit = make_kit(tmp_path)
    n = 0
    for day in range(12):
        for _ in range(2):
            n += 1
            serial = f"LCD-{n:07d}"
            kit.gate.register(serial, kit.operator)
            for end in ("A1", "A2", "B1", "B2"):
                bad = day == 9 or (n % 3 == 0 and end == "A1")
                s = scan(serial, end, dirty(1) if bad else None)
                kit.gate.record_inspection(serial, end, s, kit.operator, "sim-400x")
                kit.clock.advance(60)
        kit.clock.advance(DAY_S - 8 * 60)
    return kit


def test_a_bad_day_at_a_bench_is_out_of_control(line):
    d = drift(line.store)
    (p,) = [c for c in d.charts if c.kind == "p"]
    assert p.bench == "bench-t" and len(p.points) == 12
    assert [pt.n for pt in p.points] == [8] * 12
    bad = p.points[9]
    assert bad.value == 1.0 and RULES[0] in bad.flags
    assert bad.start_us in {pt.start_us for c, pt in d.flagged if c.kind == "p"}
    # The other days sit below a centre line the bad day pulled up: 8 in a row on one side.
    assert RULES[3] in p.points[7].flags
    (u,) = [c for c in d.charts if c.kind == "u"]
    assert u.centre == 0.0  # the synthetic scans put their defects in zone A


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
def test_the_lot_report_flags_the_point_out_of_control(line, tmp_path):
    path = write_lot_report(line.store, tmp_path)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True
    ).stdout
    assert "Process control (drift per bench)" in text
    assert "point(s) out of control" in text
    assert "rule 1: beyond 3 sigma" in text
