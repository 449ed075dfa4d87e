"""Who may change the station config from the bench, and that each change is on the record."""

from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy import select

from qa_station.accounts import AuthError
from qa_station.config import Calibration, load_config
from qa_station.controller import StationController
from qa_station.paths import station_paths
from qa_station.store.models import Event
from qa_station.store.verify import verify


@pytest.fixture
def station():
    c = StationController.open(realtime=False)
    admin = c.create_first_admin("ada", "admin horse battery staple")
    c.accounts.add("olga", "operator", admin, None, "operator horse battery staple")
    c.accounts.add("sam", "supervisor", admin, None, "supervisor horse battery staple")
    yield c
    c.close()


def station_events(c):
    with c.store.read() as s:
        return [
            (e.kind, e.operator, json.loads(e.payload))
            for e in s.execute(select(Event).where(Event.kind.like("station.%"))).scalars()
        ]


def test_only_an_admin_saves_devices_and_the_store_password_never_reaches_the_record(station):
    c = station
    wanted = dataclasses.replace(
        load_config(), store_url="postgresql://qa:s3cret-pass@db.floor/qa", station_id="bench-7"
    )
    c.login("olga", "operator horse battery staple")
    with pytest.raises(AuthError, match="only an admin"):
        c.save_devices(wanted)
    assert not station_paths().config_file.exists()
    c.login("ada", "admin horse battery staple")
    c.save_devices(wanted)
    assert load_config().station_id == "bench-7"
    ((kind, who, payload),) = station_events(c)
    assert (kind, who) == ("station.configured", "ada")
    assert "s3cret" not in str(payload) and payload["store"].startswith("postgresql://qa:***@")
    assert verify(c.store).ok


def test_a_calibration_is_signed_by_a_supervisor_with_the_old_and_new_scale(station):
    c = station
    cal = Calibration("sim-400x", 0.3130, 28.0, "mpo", "2026-11-20")
    c.login("olga", "operator horse battery staple")
    with pytest.raises(AuthError, match="supervisor or admin"):
        c.save_calibration(cal)
    c.login("sam", "supervisor horse battery staple")
    c.save_calibration(cal)
    c.save_calibration(dataclasses.replace(cal, um_per_px=0.3150, date="2026-11-21"))
    assert load_config().calibration("sim-400x", "mpo").um_per_px == 0.3150
    events = station_events(c)
    assert [(k, w) for k, w, _ in events] == [("station.calibrated", "sam")] * 2
    assert events[0][2]["previous_um_per_px"] == 0.3125  # the simulated probe's built-in one
    assert events[1][2]["previous_um_per_px"] == 0.313 and events[1][2]["um_per_px"] == 0.315


def test_nothing_is_saved_signed_out(station):
    station.logout()
    with pytest.raises(PermissionError, match="sign in first"):
        station.save_calibration(Calibration("sim-400x", 0.3, 28.0, "mpo", "2026-11-20"))
