"""The Devices page's checks without Qt: every row at fault is reported at once."""

from __future__ import annotations

from qa_station.settings_form import DeviceForm, check_devices

GOOD = DeviceForm(
    station_id="bench-7",
    probe_kind="uvc",
    probe_arg="0",
    probe_id="uvc-a",
    fixture_kind="serial",
    fixture_arg="/dev/ttyUSB0",
    baudrate=115200,
    timeout_s=1.0,
    motion_timeout_s=5.0,
    scanner_kind="serial",
    scanner_arg="/dev/ttyACM0",
    store_url="postgresql://qa@floor-db/qa",
)


def test_a_good_form_has_no_errors():
    assert check_devices(GOOD) == {}


def test_every_row_at_fault_is_reported_at_once():
    bad = DeviceForm(
        station_id=" ",
        probe_kind="simulated",
        probe_arg="",
        probe_id="",
        fixture_kind="serial",
        fixture_arg="/dev/ttyUSB0",
        baudrate=115200,
        timeout_s=1.0,
        motion_timeout_s=5.0,
        scanner_kind="serial",
        scanner_arg="",
        store_url="mysql://x@y/z",
        scanner_prefix="Q",
    )
    errors = check_devices(bad)
    assert sorted(errors) == ["fixture", "scanner", "scanner_keys", "station_id", "store_url"]
    assert "station id is needed" in errors["station_id"]
    assert "simulated probe can only look through" in errors["fixture"]
    assert "SQLite or PostgreSQL, not mysql" in errors["store_url"]
