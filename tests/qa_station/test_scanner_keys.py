"""A wedge scanner's prefix and suffix: written in the config, checked, matched by key."""

from __future__ import annotations

import pytest

from qa_station.config import ConfigError, StationConfig, load_config, parse_config, save_config
from qa_station.scanner_keys import ScannerKeyError, parse_scanner_keys
from qa_station.settings_form import DeviceForm, apply_devices, check_devices
from tests.qa_station.files_kit import device_form

KEY_B, KEY_F12 = 0x42, 0x01000030 + 11


def test_the_forms_a_prefix_takes():
    stx = parse_scanner_keys("ctrl+b")
    assert stx.prefix == "Ctrl+B" and stx.suffix == "Enter"
    assert stx.is_prefix(KEY_B, "\x02", ctrl=True)
    assert stx.is_prefix(0, "\x02", ctrl=False)  # a control character that comes as its text
    assert not stx.is_prefix(KEY_B, "b", ctrl=False)  # the letter b is not the prefix
    f12 = parse_scanner_keys("F12", "Tab")
    assert f12.is_prefix(KEY_F12, "", ctrl=False) and f12.suffix == "Tab"
    assert not f12.is_prefix(KEY_F12 - 1, "", ctrl=False)
    tilde = parse_scanner_keys("~")
    assert tilde.is_prefix(0x7E, "~", ctrl=False)
    assert not parse_scanner_keys("").prefix


@pytest.mark.parametrize("bad", ["A", "7", "-", "Ctrl+1", "F25", "ab", "\x07"])
def test_a_prefix_a_code_could_contain_or_no_key_can_send_is_refused(bad):
    with pytest.raises(ScannerKeyError):
        parse_scanner_keys(bad)


def test_the_config_keeps_the_scanner_keys_and_refuses_wrong_ones(tmp_path):
    saved = StationConfig(scanner_prefix="Ctrl+B", scanner_suffix="Tab")
    save_config(saved)
    back = load_config()
    assert (back.scanner_prefix, back.scanner_suffix) == ("Ctrl+B", "Tab")
    with pytest.raises(ConfigError, match=r"key 'scanner\.prefix'"):
        parse_config(b'[scanner]\nprefix = "T"\n', tmp_path / "station.toml")
    with pytest.raises(ConfigError, match=r"key 'scanner\.suffix'"):
        parse_config(b'[scanner]\nsuffix = "Space"\n', tmp_path / "station.toml")


def form(**changes) -> DeviceForm:
    """The Devices page of a fresh station, with ``changes`` typed over it."""
    return device_form(StationConfig(), **changes)


def test_the_settings_form_checks_the_scanner_keys_before_anything_is_written():
    assert "scanner_keys" in check_devices(form(scanner_prefix="Q"))
    assert check_devices(form(scanner_prefix=" f12 ")) == {}
    cfg = apply_devices(StationConfig(), form(scanner_prefix=" f12 ", scanner_suffix="Tab"))
    assert (cfg.scanner_prefix, cfg.scanner_suffix) == ("F12", "Tab")
