"""Writing the station config: what is saved reads back the same, or nothing is written."""

from __future__ import annotations

import stat
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_station.config import (
    Calibration,
    ConfigError,
    StationConfig,
    load_config,
    render_config,
    save_config,
    with_calibration,
)
from qa_station.paths import station_paths
from tests.qa_station.files_kit import FULL_CONFIG

# A camera by its device path, a store URL with a password.
FULL = replace(
    FULL_CONFIG,
    probe="uvc:/dev/video2",
    probe_id="westover-fbp-42",
    fixture_motion_timeout_s=12.5,
    store_url="postgresql://qa:s3cret@floor-db/qa",
)


def test_a_fresh_default_config_round_trips():
    cfg = StationConfig()
    path = save_config(cfg)
    assert path == station_paths().config_file
    assert load_config() == replace(cfg, path=path)


def test_every_setting_and_calibration_round_trips():
    cfg = with_calibration(
        FULL, Calibration("westover-fbp-42", 0.30123456789, 17.25, "mpo", "2026-11-20")
    )
    cfg = with_calibration(cfg, Calibration("westover-fbp-42", 0.29, 0.0, "", "2026-11-19"))
    path = save_config(cfg)
    back = load_config()
    assert back == replace(cfg, path=path)
    assert back.fixture_motion_timeout_s == 12.5  # the reader honours every key it accepts
    assert back.calibration("westover-fbp-42", "mpo").um_per_px == 0.30123456789


def test_saving_again_replaces_the_file_whole(tmp_path):
    save_config(FULL)
    cfg = with_calibration(load_config(), Calibration("westover-fbp-42", 0.31, 20.0, "lc", "d"))
    save_config(replace(cfg, station_id="bench-8"))
    back = load_config()
    assert (
        back.station_id == "bench-8" and back.calibration("westover-fbp-42", "lc").um_per_px == 0.31
    )
    folder = station_paths().config_dir
    assert sorted(p.name for p in folder.iterdir()) == ["station.toml"]  # no temp files left


@pytest.mark.parametrize(
    "text",
    [
        'bench "seven"',
        "C:\\stations\\bench\\7",
        "tab\there, newline\nthere, cr\rand \x7f del",
        "\\\\server\\share\\",
        "ümlaut, 東京, emoji 🔬",
        '\'single\' and "double" and \\"both\\"',
        "trailing backslash \\",
    ],
)
def test_strings_with_quotes_and_backslashes_round_trip(text):
    cfg = replace(  # (not the station id: it is a plain name now, tests/reliability)
        FULL,
        probe_id=text,
        probe=f"replay:{text.splitlines()[0]}",
        store_url=text,
        calibrations=(*FULL.calibrations, Calibration(text, 0.3, 1.0, text, text)),
    )
    path = save_config(cfg)
    assert load_config() == replace(cfg, path=path)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40).filter(
        str.strip
    )
)
def test_any_text_round_trips(text):
    cfg = replace(  # (not the station id: it is a plain name now, tests/reliability)
        FULL,
        probe_id=text,
        calibrations=(*FULL.calibrations, Calibration(text, 0.3, 1.0, text, text)),
    )
    path = save_config(cfg)
    assert load_config() == replace(cfg, path=path)


def test_values_the_reader_refuses_are_never_written():
    save_config(FULL)
    before = station_paths().config_file.read_bytes()
    bad = [
        (replace(FULL, fixture="serial:"), "fixture.source"),
        (replace(FULL, probe="replay:a\nb"), "probe.source"),  # one line: the reader's rule
        (replace(FULL, scanner="usb"), "scanner.source"),
        (replace(FULL, fixture_timeout_s=0.0), "fixture.timeout_s"),
        (replace(FULL, fixture_motion_timeout_s=float("nan")), "fixture.motion_timeout_s"),
        (replace(FULL, fixture_baudrate=0), "fixture.baudrate"),
        (with_calibration(FULL, Calibration("p", -0.3, 1.0, "lc")), "um_per_px"),
        (with_calibration(FULL, Calibration(" ", 0.3, 1.0, "lc")), ".probe"),
    ]
    for cfg, key in bad:
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            save_config(cfg)
    assert station_paths().config_file.read_bytes() == before
    assert sorted(p.name for p in station_paths().config_dir.iterdir()) == ["station.toml"]


def test_two_calibrations_for_one_probe_and_tip_are_refused():
    twice = replace(
        FULL,
        calibrations=(Calibration("p", 0.3, 1.0, "lc"), Calibration("p", 0.31, 1.0, "lc")),
    )
    with pytest.raises(ConfigError, match="two calibrations for probe 'p' with the lc tip"):
        render_config(twice)
    assert not station_paths().config_file.exists()


def test_with_calibration_replaces_the_same_probe_and_tip_in_place():
    base = StationConfig()
    mpo = Calibration("sim-400x", 0.3, 30.0, "mpo", "2026-11-21")
    cfg = with_calibration(base, mpo)
    assert cfg.calibrations[0] == mpo and cfg.calibrations[1:] == base.calibrations[1:]
    other = Calibration("uvc-a", 0.3, 30.0, "mpo")
    cfg2 = with_calibration(cfg, other)
    assert cfg2.calibrations == (*cfg.calibrations, other)
    anytip = Calibration("uvc-a", 0.4, 30.0, "")
    assert with_calibration(cfg2, anytip).calibrations == (*cfg2.calibrations, anytip)
    assert base.calibrations[0].um_per_px == 0.3125  # the original is untouched


def test_a_new_file_is_owner_only_and_an_existing_one_keeps_its_mode():
    path = save_config(FULL)  # the store URL may carry a password
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o640)
    save_config(replace(FULL, station_id="bench-9"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_an_unwritable_folder_is_a_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the station home should be")
    monkeypatch.setenv("QA_STATION_HOME", str(blocker))
    with pytest.raises(ConfigError, match=r"station\.toml: cannot be written"):
        save_config(FULL)


COMMENTED = """# Bench 7, line 2: ask Dana before changing the stage.
[station]
id = "bench-7"  # printed on every certificate

[fixture]
# The stage on the left USB hub.
source = "serial:/dev/ttyUSB0"
baudrate = 57600

[[calibrations]]
# Checked against the 125 um reticle.
probe = "uvc-a"
tip = "mpo"
um_per_px = 0.301
min_focus_score = 18.0
"""


def test_a_commented_config_saved_from_settings_keeps_its_comments():
    path = station_paths().config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(COMMENTED)
    cfg = with_calibration(load_config(), Calibration("uvc-a", 0.305, 19.0, "mpo", "2026-12-01"))
    save_config(replace(cfg, station_id="bench-8", fixture_baudrate=9600))
    text = path.read_text()
    for comment in (
        "# Bench 7, line 2: ask Dana before changing the stage.",
        "# printed on every certificate",
        "# The stage on the left USB hub.",
        "# Checked against the 125 um reticle.",
    ):
        assert comment in text
    back = load_config()
    assert (back.station_id, back.fixture_baudrate) == ("bench-8", 9600)
    assert back.calibration("uvc-a", "mpo").um_per_px == 0.305
    assert text.count("[[calibrations]]") == len(back.calibrations)
