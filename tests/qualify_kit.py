"""Qualify a test station the way a supervisor would: the built-in set, really graded.

The station records no inspection without a valid qualification (issue 14), so
every test that records inspections first qualifies its store's station for
the probe ids it inspects with. The built-in reference set is graded once per
test process with the simulated probe's calibrations (about 4 s) and the
result recorded in each store: a probe named otherwise in a test ("p",
"sim") with the same calibrations is graded exactly the same, so the one run
is its qualification too.
"""

from __future__ import annotations

import functools
from dataclasses import replace

from qa_station.config import StationConfig
from qa_station.qualification.reference import QualificationResult, qualify
from qa_station.store import Store
from qa_station.store.kinds import Kind

TEST_PROBES = ("sim-400x", "sim", "p", "uvc-1")
QUALIFIER = "qualifier"  # the supervisor named on the test record


@functools.cache
def builtin_result() -> QualificationResult:
    result = qualify(StationConfig())
    assert result.passed, result.reasons  # the built-in set qualifies a default station
    return result


def qualify_store(store: Store, probes: tuple[str, ...] = TEST_PROBES) -> list[int]:
    """Record a passing qualification of each probe at this store's station."""
    base = builtin_result()
    ids = []
    for probe in probes:
        result = replace(base, probe=probe, station=store.station_id)
        with store.write() as w:
            ids.append(
                w.event(Kind.STATION_QUALIFIED, result.to_payload(), None, None, QUALIFIER).id
            )
    return ids


def record_qualification(store: Store, payload: dict) -> int:
    """A qualification on the record, as one made earlier: under the supervisor's name,
    with no session of this test's (the session checks are tested on their own)."""
    with store.write() as w:
        return w.event(Kind.STATION_QUALIFIED, payload, None, None, QUALIFIER).id
