"""The Devices page's checks without Qt: every row at fault is reported at once."""

from __future__ import annotations

from qa_station.settings_form import apply_devices, check_devices
from tests.qa_station.files_kit import FULL_CONFIG, device_form
from tests.qa_station.test_scanner_keys import form


def test_a_good_form_has_no_errors():
    assert check_devices(form()) == {}
    assert check_devices(device_form(FULL_CONFIG)) == {}  # a camera, serial stage and scanner
    assert apply_devices(FULL_CONFIG, device_form(FULL_CONFIG)) == FULL_CONFIG  # shown as it is


def test_every_row_at_fault_is_reported_at_once():
    errors = check_devices(
        form(
            station_id=" ",
            fixture_kind="serial",
            fixture_arg="/dev/ttyUSB0",
            scanner_kind="serial",
            store_url="mysql://x@y/z",
            scanner_prefix="Q",
        )
    )
    assert sorted(errors) == ["fixture", "scanner", "scanner_keys", "station_id", "store_url"]
    assert "station id is needed" in errors["station_id"]
    assert "simulated probe can only look through" in errors["fixture"]
    assert "SQLite or PostgreSQL, not mysql" in errors["store_url"]
