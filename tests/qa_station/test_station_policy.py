"""The qualification policy at the gate, and the dirty-probe alarm on the simulated bench.

A station with no passing qualification of its probe, one older than the
policy period, one of another probe, tip or scale, or one whose probe is
dirty records no inspection; the gate says why, in the operator's words, and
the refusal is on the record.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from hardware.simulated.lens import LensSmudge
from qa_station.accounts import Accounts
from qa_station.catalog import load_catalog
from qa_station.config import StationConfig, parse_config, render_config
from qa_station.controller import StationController
from qa_station.gate import Gate, GateRefused
from qa_station.qualification.dirty_probe import Mark, find_spot
from qa_station.qualification.policy import QualificationPolicy
from qa_station.store import Store
from qa_station.store.kinds import Kind
from qa_station.store.models import Event
from tests.qa_station.gate_kit import JUMPER, TRUNK, Clock, dirty, make_kit, scan
from tests.qualify_kit import builtin_result, qualify_store, record_qualification

pytestmark = pytest.mark.slow  # a file of tens of seconds: a parallel run starts it first

DAY_S = 86_400


def refused_words(store: Store) -> list[str]:
    with store.read() as s:
        rows = s.execute(
            select(Event.payload).where(Event.kind == Kind.GATE_REFUSED.value)
        ).scalars()
        return [json.loads(p)["reason"] for p in rows]


@pytest.fixture
def bare(tmp_path):
    """A store with people but no qualification, and a gate on it."""
    clock = Clock()
    store = Store(f"sqlite:///{tmp_path}/p.db", tmp_path / "images", "bench-t", clock)
    store.migrate()
    accounts = Accounts(store)
    accounts.add("admin", "admin", None, "Admin", "admin-password")
    admin = accounts.sign_in("admin", "admin-password")
    accounts.add("olga", "operator", admin, "Olga", "olga-password")
    olga = accounts.sign_in("olga", "olga-password")
    gate = Gate(store, load_catalog())
    gate.register(JUMPER, olga)
    yield store, gate, olga, clock
    store.close()


def test_no_qualification_no_inspection_and_the_refusal_is_on_the_record(bare):
    store, gate, olga, _ = bare
    with pytest.raises(
        GateRefused, match="this station has no qualification on record: a supervisor qualifies it"
    ):
        gate.record_inspection(JUMPER, "A1", scan(JUMPER, "A1"), olga, "sim-400x")
    assert len(refused_words(store)) == 1
    assert gate.state(JUMPER).end("A1").inspections == 0


def test_a_qualification_lets_the_probe_inspect_and_each_inspection_names_it(bare):
    store, gate, olga, _ = bare
    (qid,) = qualify_store(store, ("sim-400x",))
    rec = gate.record_inspection(JUMPER, "A1", scan(JUMPER, "A1"), olga, "sim-400x")
    assert rec.verdict == "pass"
    with store.read() as s:
        payload = s.execute(
            select(Event.payload).where(Event.kind == Kind.END_INSPECTED.value)
        ).scalar()
    assert json.loads(payload)["qualification"] == qid
    with pytest.raises(
        GateRefused, match=r"probe uvc-9 has no qualification on this station \(its last one"
    ):
        gate.record_inspection(JUMPER, "A2", scan(JUMPER, "A2"), olga, "uvc-9")


def test_a_failed_qualification_stops_inspections_until_a_passing_one(bare):
    store, gate, olga, _ = bare
    failed = builtin_result().to_payload() | {
        "passed": False,
        "reasons": ["2 false pass(es)"],
        "probe": "sim-400x",
    }
    record_qualification(store, failed)
    with pytest.raises(
        GateRefused, match=r"this station failed its last qualification \(.*2 false pass"
    ):
        gate.record_inspection(JUMPER, "A1", scan(JUMPER, "A1"), olga, "sim-400x")
    qualify_store(store, ("sim-400x",))
    assert (
        gate.record_inspection(JUMPER, "A1", scan(JUMPER, "A1"), olga, "sim-400x").verdict == "pass"
    )


def test_a_qualification_older_than_the_period_expires(bare, tmp_path):
    store, gate, olga, clock = bare
    qualify_store(store, ("sim-400x",))
    clock.advance(29 * DAY_S)
    olga = Accounts(store).sign_in("olga", "olga-password")  # a sign-in lasts a shift
    assert (
        gate.record_inspection(JUMPER, "A1", scan(JUMPER, "A1"), olga, "sim-400x").verdict == "pass"
    )
    clock.advance(2 * DAY_S)
    olga = Accounts(store).sign_in("olga", "olga-password")
    with pytest.raises(
        GateRefused, match=r"this station's qualification expired on .* valid 30 days"
    ):
        gate.record_inspection(JUMPER, "A2", scan(JUMPER, "A2"), olga, "sim-400x")
    weekly = Gate(store, load_catalog(), QualificationPolicy(max_age_days=7))
    with pytest.raises(GateRefused, match="valid 7 days"):
        weekly.record_inspection(JUMPER, "A2", scan(JUMPER, "A2"), olga, "sim-400x")


def test_a_new_calibration_of_the_tip_or_another_scale_expires_it(bare):
    store, gate, olga, _ = bare
    qualify_store(store, ("sim-400x",))
    other_scale = scan(JUMPER, "A1")
    other_scale.um_per_px = 0.33
    with pytest.raises(
        GateRefused,
        match=r"the lc tip of probe sim-400x is calibrated at 0\.33 um/px, not the 0\.3125",
    ):
        gate.record_inspection(JUMPER, "A1", other_scale, olga, "sim-400x")
    with store.write() as w:
        w.event(
            Kind.STATION_CALIBRATED,
            {"probe": "sim-400x", "tip": "lc", "um_per_px": 0.3125},
            operator="sam",
        )
    with pytest.raises(
        GateRefused, match=r"the lc tip of probe sim-400x was calibrated again on .* after"
    ):
        gate.record_inspection(JUMPER, "A1", scan(JUMPER, "A1"), olga, "sim-400x")
    # A calibration of another tip leaves this one qualified.
    qualify_store(store, ("sim-400x",))
    with store.write() as w:
        w.event(
            Kind.STATION_CALIBRATED,
            {"probe": "sim-400x", "tip": "mpo", "um_per_px": 0.3},
            operator="sam",
        )
    assert (
        gate.record_inspection(JUMPER, "A1", scan(JUMPER, "A1"), olga, "sim-400x").verdict == "pass"
    )


def test_the_policy_period_is_a_setting_of_the_station_config(tmp_path):
    cfg = parse_config(b"[qualification]\nmax_age_days = 7\n", tmp_path / "s.toml")
    assert cfg.qualification_max_age_days == 7.0
    assert parse_config(render_config(cfg).encode(), tmp_path / "s.toml") == parse_config(
        render_config(cfg).encode(), tmp_path / "s.toml"
    )
    assert "max_age_days = 7.0" in render_config(cfg)
    assert StationConfig().qualification_max_age_days == 30.0
    for bad in (
        b"[qualification]\nmax_age_days = 0\n",
        b"[qualification]\nmax_age_days = 400\n",
        b"[qualification]\nevery = 3\n",
    ):
        with pytest.raises(ValueError, match="qualification"):
            parse_config(bad, tmp_path / "s.toml")


# -- the dirty-probe alarm ------------------------------------------------------------------------
SMUDGE = LensSmudge((749.5, 419.5), 6.0 / 0.3125, -0.5, seed=3)  # 6 um, in zone B of every view


@pytest.fixture
def bench():
    c = StationController.open(realtime=False)
    admin = c.create_first_admin("admin", "admin-password-1")
    c.accounts.add("olga", "operator", admin, "Olga", "olga-password-1")
    qualify_store(c.store)
    c.login("olga", "olga-password-1")
    yield c
    c.close()


def test_a_lens_smudge_stops_an_lc_bench_within_three_inspections_until_the_tip_is_cleaned(bench):
    c = bench
    c.open_serial("LCD-0000101")
    c.bench.simulated.smudge_lens(SMUDGE)
    alarms = []
    for end in ("A1", "A2", "B1"):
        alarms.append(c.inspect(end).probe_alarm)
    assert alarms[:2] == [None, None] and alarms[2] is not None
    assert alarms[2].startswith("the probe tip is dirty: the same spot (")
    assert "clean the probe tip" in alarms[2]
    with pytest.raises(GateRefused, match="the probe tip is dirty"):
        c.inspect("B2")
    assert not c.standing().ok and c.standing().dirty_probe is not None
    # Every inspection it affected is marked on the assembly's record.
    rec = c.record("LCD-0000101")
    marked = sorted(rec.probe_alarms)
    assert len(marked) == 3
    assert all("made with a dirty probe tip" in rec.probe_alarms[i] for i in marked)
    c.probe_cleaned("wiped with a one-click cleaner")
    assert c.bench.simulated.lens is None and c.standing().ok
    c.open_serial("LCD-0000102")
    for end in ("A1", "A2", "B1", "B2"):
        assert c.inspect(end).probe_alarm is None


def test_on_an_mpo_end_the_first_inspection_is_enough(bench):
    c = bench
    c.open_serial(TRUNK)
    c.bench.simulated.smudge_lens(SMUDGE)
    rec = c.inspect("A")
    assert rec.probe_alarm is not None and "fibres of 1 connector end" in rec.probe_alarm
    with c.store.read() as s:
        (payload,) = s.execute(
            select(Event.payload).where(Event.kind == Kind.PROBE_DIRTY.value)
        ).scalars()
    doc = json.loads(payload)
    assert doc["inspections"][0]["inspection_id"] == rec.inspection_id
    assert len(doc["inspections"][0]["fibres"]) >= 4
    assert abs(doc["spot_px"][0] - 749.5) < 2 and abs(doc["size_um"] - 6.0) < 0.6


def test_a_clean_probe_never_raises_the_alarm_over_a_line_of_dirty_assemblies(bench):
    """Dusty, oily, damaged, dirty-adapter ends: dirt on the glass moves with its fibre."""
    c = bench
    for n in range(6):
        serial = f"T12B-00070{n}"
        c.open_serial(serial)
        c.bench.load(c.session.identified, ("dusty", "oily", "damaged")[n % 3])
        for end in ("A", "B"):
            assert c.inspect(end).probe_alarm is None
    with c.store.read() as s:
        assert not s.execute(select(Event.id).where(Event.kind == Kind.PROBE_DIRTY.value)).all()


def test_the_same_spot_on_fibres_that_did_not_move_is_the_connectors_not_the_probe():
    """A flaw at the same place on every fibre of a batch, with a perfect stage, is fixed to
    the fibre as well as the frame: not a dirty probe."""
    still = [Mark(i, 1, "A", i, 400.0, 300.0, 4.0, 320.0, 240.0) for i in range(1, 7)]
    assert find_spot(still[:3], still[3:]) is None
    moved = [Mark(i, 1, "A", i, 400.0, 300.0, 4.0, 320.0 + 4 * i, 240.0) for i in range(1, 7)]
    assert find_spot(moved[:3], moved[3:]) is not None


def test_the_alarm_of_the_gate_kit_never_fires_on_synthetic_scans(tmp_path):
    kit = make_kit(tmp_path)
    kit.gate.register(TRUNK, kit.operator)
    kit.gate.register(JUMPER, kit.operator)
    assert (
        kit.gate.record_inspection(
            TRUNK, "A", scan(TRUNK, "A", dirty(3)), kit.operator, "p"
        ).probe_alarm
        is None
    )
    assert (
        kit.gate.record_inspection(
            JUMPER, "A1", scan(JUMPER, "A1", dirty(1)), kit.operator, "p"
        ).probe_alarm
        is None
    )


def test_the_stations_evidence_is_recorded_only_under_a_session_that_may_record_it(bare):
    """As every gate action: an operator's session does not qualify the station, and an
    ended one records nothing at all (not even a cleaned probe)."""
    from qa_station.accounts import AuthError, NotSignedIn
    from qa_station.qualification.dirty_probe import record_cleaned
    from qa_station.qualification.record import record_event

    store, _gate, olga, _ = bare
    payload = builtin_result().to_payload()
    before = event_count(store)
    with pytest.raises(AuthError, match="olga is an operator: a supervisor runs qualifications"):
        record_event(store, Kind.STATION_QUALIFIED, payload, olga, supervising=True)
    with pytest.raises(NotSignedIn):
        record_event(store, Kind.STATION_QUALIFIED, payload, None, supervising=True)
    assert event_count(store) == before
    assert record_cleaned(store, olga, "wiped") > 0  # an operator cleans the probe
    Accounts(store).sign_out(olga)
    after = event_count(store)
    with pytest.raises(NotSignedIn, match="olga has signed out"):
        record_cleaned(store, olga, "again")
    assert event_count(store) == after


def event_count(store: Store) -> int:
    with store.read() as s:
        return len(s.execute(select(Event.id)).all())
