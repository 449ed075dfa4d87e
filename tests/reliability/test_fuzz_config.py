"""The station config: any file is a usable config or a ConfigError naming the file and the key.

tests/qa_station/test_config.py holds the table of known-bad files; this adds random bytes,
random text and random damage to a complete, valid config (every section, calibrations).
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from qa_station.config import (
    SOURCE_RE,
    ConfigError,
    StationConfig,
    load_config,
    parse_config,
    render_config,
)
from qa_station.paths import station_paths
from tests.qa_station.files_kit import FULL_CONFIG
from tests.reliability.fuzzkit import (
    TOML_VALUES,
    assert_clear,
    bounded,
    dumps,
    mutated,
    renumbered,
)

ORIGIN = Path("fuzz/config/station.toml")  # only named in messages; nothing is read from it
FULL_DOC = tomllib.loads(render_config(FULL_CONFIG))


def outcome(data: bytes, *must_name: str) -> StationConfig | None:
    try:
        cfg = parse_config(data, ORIGIN)
    except ConfigError as exc:
        assert_clear(str(exc), f"config file {ORIGIN}", *must_name)
        return None
    assert_sane(cfg)
    return cfg


def assert_sane(cfg: StationConfig) -> None:
    """What the bench builder relies on: sources it can open, real numbers, one calibration
    per probe and tip (so the Settings page can write the config back)."""
    for kind, source in (("probe", cfg.probe), ("fixture", cfg.fixture), ("scanner", cfg.scanner)):
        assert isinstance(source, str) and SOURCE_RE[kind].fullmatch(source), (kind, source)
    assert isinstance(cfg.station_id, str) and isinstance(cfg.probe_id, str)
    assert isinstance(cfg.store_url, str)
    assert isinstance(cfg.fixture_baudrate, int) and cfg.fixture_baudrate > 0
    for seconds in (cfg.fixture_timeout_s, cfg.fixture_motion_timeout_s):
        assert isinstance(seconds, float) and math.isfinite(seconds) and seconds > 0
    keys = [(c.probe, c.tip) for c in cfg.calibrations]
    assert len(set(keys)) == len(keys)
    for c in cfg.calibrations:
        assert math.isfinite(c.um_per_px) and c.um_per_px > 0
        assert math.isfinite(c.min_focus_score) and c.min_focus_score >= 0
        assert all(isinstance(x, str) for x in (c.probe, c.tip, c.date))
    # What was read can be written back and reads the same.
    assert parse_config(render_config(cfg).encode("utf-8"), ORIGIN).calibrations == cfg.calibrations


@bounded(150)
@given(st.binary(max_size=500))
def test_random_bytes_are_a_config_or_a_clear_refusal(data):
    outcome(data)


@bounded(150)
@given(st.text(max_size=500))
def test_random_text_is_a_config_or_a_clear_refusal(text):
    outcome(text.encode("utf-8"))


@bounded(200)
@given(mutated(FULL_DOC, rounds=3))
def test_a_damaged_config_names_the_key_at_fault(case):
    doc, _ = case
    outcome(dumps(doc).encode("utf-8"), "key '", "expected")


@bounded(100)
@given(renumbered(FULL_DOC, rounds=2))
def test_extreme_numbers_in_a_config_are_used_or_refused_by_name(doc):
    outcome(dumps(doc).encode("utf-8"), "key '", "expected")


@bounded(100)
@given(
    st.sampled_from(
        [
            ("fixture", "timeout_s"),
            ("fixture", "motion_timeout_s"),
            ("fixture", "baudrate"),
            ("probe", "source"),
            ("scanner", "source"),
            ("store", "url"),
            ("station", "id"),
        ]
    ),
    TOML_VALUES,
)
def test_any_value_of_a_setting_is_used_or_refused_by_name(where, value):
    section, key = where
    doc = {**FULL_DOC, section: {**FULL_DOC[section], key: value}}
    outcome(dumps(doc).encode("utf-8"), f"key '{section}.{key}'")


@bounded(40)
@given(st.binary(max_size=200))
def test_the_config_file_on_disk_is_read_or_refused_clearly(data):
    path = station_paths().config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    try:
        assert_sane(load_config())
    except ConfigError as exc:
        assert_clear(str(exc), str(path))


def test_a_config_file_that_is_a_folder_is_refused_clearly():
    station_paths().config_file.mkdir(parents=True)
    try:
        load_config()
    except ConfigError as exc:
        assert_clear(str(exc), "cannot be read")
    else:
        raise AssertionError("a folder was read as the station config")
