"""No sequence of actions gets round the gate (hypothesis, stateful).

A simple model of the facts (last inspection, its verdict and time, cleanings
since) runs beside the real gate on a real store. Whatever the order of
inspections, cleanings, connects and waits, every connect the gate allows
must follow a passing inspection that is fresh and not cleaned since, and
every inspection it allows of a failed end must follow a cleaning.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from qa_station.gate import GateRefused
from tests.qa_station.gate_kit import JUMPER, make_kit, scan

ENDS = ("A1", "A2", "B1", "B2")
METHODS = ("dry-one-click", "dry-cassette", "wet-to-dry")


class GateMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="gate-sm-"))
        self.kit = make_kit(self.dir)
        self.kit.gate.register(JUMPER, self.kit.operator)
        self.facts = {
            e: {"last": None, "at": 0.0, "cleaned": False, "connected": False} for e in ENDS
        }
        self.allowed = {"connect": 0, "inspect": 0}

    def teardown(self) -> None:
        if hasattr(self, "kit"):
            self.kit.store.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    @rule(
        end=st.sampled_from(ENDS), passing=st.booleans(), x=st.floats(-20, 20), y=st.floats(-20, 20)
    )
    def inspect(self, end, passing, x, y) -> None:
        f = self.facts[end]
        failing = None if passing else {1: [("defect", x, y, 4.0)]}
        try:
            self.kit.gate.record_inspection(
                JUMPER, end, scan(JUMPER, end, failing), self.kit.operator, "p"
            )
        except GateRefused:
            return
        # Allowed: then the end was not a failed one awaiting a cleaning.
        assert not (f["last"] == "fail" and not f["cleaned"]), f"re-inspected failed {end} unclean"
        assert not f["connected"]
        f.update(last="pass" if passing else "fail", at=self.kit.clock(), cleaned=False)
        self.allowed["inspect"] += 1

    @rule(end=st.sampled_from(ENDS), method=st.sampled_from(METHODS), adapter=st.booleans())
    def clean(self, end, method, adapter) -> None:
        try:
            self.kit.gate.record_cleaning(JUMPER, end, method, "TOOL-1", adapter, self.kit.operator)
        except GateRefused:
            return
        assert not self.facts[end]["connected"]
        self.facts[end]["cleaned"] = True

    @rule(end=st.sampled_from(ENDS), mode=st.sampled_from(("connected", "capped")))
    def connect(self, end, mode) -> None:
        f = self.facts[end]
        try:
            self.kit.gate.connect(JUMPER, end, self.kit.operator, mode=mode)
        except GateRefused:
            return
        assert f["last"] == "pass", f"connected {end} without a passing inspection"
        assert not f["cleaned"], f"connected {end} cleaned after its inspection"
        assert self.kit.clock() - f["at"] <= 300.0, f"connected {end} on a stale inspection"
        assert not f["connected"]
        f["connected"] = True
        self.allowed["connect"] += 1

    @rule(seconds=st.sampled_from((1.0, 30.0, 120.0, 250.0, 299.0, 301.0, 900.0)))
    def wait(self, seconds) -> None:
        self.kit.clock.advance(seconds)

    @invariant()
    def the_store_agrees_with_the_model(self) -> None:
        if not hasattr(self, "kit"):
            return
        state = self.kit.gate.state(JUMPER)
        for end in ENDS:
            assert bool(state.end(end).connected) == self.facts[end]["connected"]


GateMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_no_sequence_of_actions_gets_round_the_gate = GateMachine.TestCase
