"""The station config: a fresh install is the simulated bench; a bad file says what is wrong."""

from __future__ import annotations

import pytest

from qa_station.config import ConfigError, load_config, parse_config
from qa_station.paths import station_paths


def test_a_fresh_install_uses_the_simulated_bench():
    cfg = load_config()
    assert (cfg.probe, cfg.fixture, cfg.scanner) == ("simulated", "simulated", "keyboard")
    assert cfg.calibration().um_per_px == pytest.approx(0.3125)


def test_a_written_config_is_read(tmp_path):
    p = station_paths().config_file
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(
        '[station]\nid = "bench-7"\n'
        '[probe]\nsource = "uvc:0"\nid = "uvc-a"\n'
        '[fixture]\nsource = "serial:/dev/ttyUSB0"\nbaudrate = 57600\n'
        '[[calibrations]]\nprobe = "uvc-a"\ntip = "MPO 400x"\num_per_px = 0.301\nmin_focus_score = 18\n'
    )
    cfg = load_config()
    assert cfg.station_id == "bench-7" and cfg.probe == "uvc:0" and cfg.fixture_baudrate == 57600
    assert cfg.calibration().um_per_px == pytest.approx(0.301)
    assert cfg.calibration().tip == "MPO 400x"


@pytest.mark.parametrize(
    "text,key,expected",
    [
        ('[probe]\nsource = "webcam"\n', "probe.source", "uvc:INDEX"),
        ('[fixture]\nsource = "usb"\n', "fixture.source", "serial:PORT"),
        ("[fixture]\nbaudrate = -9\n", "fixture.baudrate", "positive integer"),
        ('[probe]\ncolour = "red"\n', "probe.colour", "unknown key"),
        ('[gui]\ntheme = "dark"\n', "gui", "sections"),
        (
            '[[calibrations]]\nprobe = "x"\num_per_px = 0\nmin_focus_score = 1\n',
            "calibrations[0].um_per_px",
            "positive",
        ),
        ("[station\n", None, "not valid TOML"),
    ],
)
def test_malformed_configs_are_refused(text, key, expected, tmp_path):
    p = tmp_path / "station.toml"
    with pytest.raises(ConfigError) as err:
        parse_config(text.encode(), p)
    assert str(p) in str(err.value) and expected in str(err.value)
    if key:
        assert f"key '{key}'" in str(err.value)
