"""The station config: any file is a usable config or a ConfigError naming the file and the key.

tests/qa_station/test_config.py holds the table of known-bad files; test_fuzz_files.py runs
random bytes, random text and random damage to a complete, valid config (every section,
calibrations) through CONFIG; this adds any value of each setting and the file on disk.
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
    FileFormat,
    assert_clear,
    bounded,
    dumps,
)

ORIGIN = Path("fuzz/config/station.toml")  # only named in messages; nothing is read from it
FULL_DOC = tomllib.loads(render_config(FULL_CONFIG))


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


CONFIG = FileFormat(
    lambda data: parse_config(data, ORIGIN),
    ConfigError,
    f"config file {ORIGIN}",
    assert_sane,
    (FULL_DOC,),
)


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
    CONFIG.outcome(dumps(doc).encode("utf-8"), f"key '{section}.{key}'")


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
