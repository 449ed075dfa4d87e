"""The station's files and settings as the tests write them: a one-product catalog file, a
station config with every setting given, and the Devices page's form showing a config."""

from __future__ import annotations

from typing import Any

from qa_station.config import Calibration, StationConfig
from qa_station.settings_form import DeviceForm

SM_PC = "iec-61300-3-35-ed2/sm-pc"


def product_toml(
    product_id: str,
    name: str,
    part_numbers: str,
    serial_pattern: str,
    serial_example: str,
    *,
    policy: str | None = None,
    connector: str = "lc-upc",
    fiber: str = "sm",
    rules: str = SM_PC,
) -> bytes:
    """A catalog file of one product with one end, A (``serial_pattern`` is written as a TOML
    literal string: backslashes stay as they are)."""
    end = f'label = "A", connector = "{connector}", fiber = "{fiber}", rules = "{rules}"'
    lines = [
        "schema = 1",
        "[[product]]",
        f'id = "{product_id}"',
        f'name = "{name}"',
        f'part_numbers = ["{part_numbers}"]',
        f"serial_pattern = '{serial_pattern}'",
        f'serial_example = "{serial_example}"',
        *([f'policy = "{policy}"'] if policy else []),
        f"ends = [{{ {end} }}]",
    ]
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


# Every setting away from its default, real devices, and two calibrations of the camera
# after the simulated probe's (a config reads back with those first: it round-trips).
FULL_CONFIG = StationConfig(
    station_id="bench-7",
    probe="uvc:0",
    probe_id="uvc-a",
    fixture="serial:/dev/ttyUSB0",
    fixture_baudrate=57600,
    fixture_timeout_s=0.8,
    fixture_motion_timeout_s=4.0,
    scanner="serial:/dev/ttyACM0",
    store_url="postgresql://qa@floor-db/qa",
    calibrations=(
        *StationConfig().calibrations,
        Calibration("uvc-a", 0.301, 18.0, "mpo", "2026-01-05"),
        Calibration("uvc-a", 0.29, 12.0, "lc", ""),
    ),
)


def device_form(config: StationConfig, **changes: Any) -> DeviceForm:
    """The Devices page as it shows ``config`` (each source split into its kind and the rest,
    as the page fills its fields), with ``changes`` typed over it."""
    fields = {
        name: getattr(config, name)
        for name in ("station_id", "probe_id", "store_url", "scanner_prefix", "scanner_suffix")
    }
    for name in ("baudrate", "timeout_s", "motion_timeout_s"):  # the fixture's
        fields[name] = getattr(config, f"fixture_{name}")
    for device in ("probe", "fixture", "scanner"):
        kind, _, arg = getattr(config, device).partition(":")
        fields[f"{device}_kind"], fields[f"{device}_arg"] = kind, arg
    return DeviceForm(**(fields | changes))
