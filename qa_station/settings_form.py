"""The Settings page's forms, checked and applied without Qt.

What the Devices page's fields say (``DeviceForm``), what is wrong with them
(``check_devices``, per field, before anything is written), the config they
make, and the worker-side saves. The page (``ui/settings_view.py``) only shows
the fields and the errors; headless tests drive this module directly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from grading.rules import BUILTIN_FOLDER, BUILTIN_PACKAGE, builtin_names_cached
from qa_station.config import (
    SIMULATED_MIN_FOCUS,
    SIMULATED_PROBE_ID,
    Calibration,
    StationConfig,
    load_config,
)
from qa_station.scanner_keys import ScannerKeyError, parse_scanner_keys

MAX_ID = 64  # station and probe ids are 64-character columns in the store


class Saves(Protocol):
    """What saving needs of the station controller: it checks who may, and records it."""

    def save_devices(self, config: StationConfig) -> Path: ...

    def save_calibration(self, cal: Calibration) -> Path: ...


class FieldError(ValueError):
    """A device setting that cannot be saved; ``field`` names the form row at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class DeviceForm:
    """The Devices page's fields, as typed."""

    station_id: str
    probe_kind: str  # "simulated", "uvc", "replay"
    probe_arg: str
    probe_id: str
    fixture_kind: str  # "simulated", "emulator", "serial"
    fixture_arg: str
    baudrate: int
    timeout_s: float
    motion_timeout_s: float
    scanner_kind: str  # "keyboard", "serial"
    scanner_arg: str
    store_url: str
    scanner_prefix: str = ""  # what a wedge scanner sends before each code (scanner_keys)
    scanner_suffix: str = "Enter"


def check_devices(form: DeviceForm) -> dict[str, str]:
    """What is wrong with the form, per field (empty: nothing), before anything is written."""
    errors: dict[str, str] = {}
    sid = form.station_id.strip()
    if not sid:
        errors["station_id"] = "a station id is needed: it is recorded with every action"
    elif len(sid) > MAX_ID or not sid.isprintable():
        errors["station_id"] = f"at most {MAX_ID} printable characters"
    if form.probe_kind == "uvc" and not form.probe_arg.strip():
        errors["probe"] = "give the camera's index (0, 1 ...) or its device path"
    if form.probe_kind == "replay" and not form.probe_arg.strip():
        errors["probe"] = "give the folder of images or the video file to replay"
    pid = form.probe_id.strip()
    if form.probe_kind == "simulated":
        pass  # the simulated probe has its own id; the field keeps the real probe's
    elif not pid:
        errors["probe_id"] = "a probe id is needed: calibrations and inspections name it"
    elif len(pid) > MAX_ID or not pid.isprintable():
        errors["probe_id"] = f"at most {MAX_ID} printable characters"
    if form.fixture_kind == "serial" and not form.fixture_arg.strip():
        errors["fixture"] = "give the serial port the stage is on (e.g. /dev/ttyUSB0 or COM3)"
    elif form.probe_kind == "simulated" and form.fixture_kind == "serial":
        errors["fixture"] = (
            "the simulated probe can only look through the simulated fixture or its emulator"
        )
    if form.scanner_kind == "serial" and not form.scanner_arg.strip():
        errors["scanner"] = "give the serial port the barcode scanner is on"
    try:
        parse_scanner_keys(form.scanner_prefix, form.scanner_suffix)
    except ScannerKeyError as exc:
        errors["scanner_keys"] = str(exc)
    url = form.store_url.strip()
    if url:
        try:
            driver = make_url(url).drivername
        except ArgumentError:
            errors["store_url"] = "not a database URL (e.g. postgresql://user@host/qa)"
        else:
            if not driver.startswith(("sqlite", "postgresql")):
                errors["store_url"] = f"the store runs on SQLite or PostgreSQL, not {driver}"
    return errors


def _source(kind: str, arg: str, bare: tuple[str, ...]) -> str:
    return kind if kind in bare else f"{kind}:{arg.strip()}"


def apply_devices(base: StationConfig, form: DeviceForm) -> StationConfig:
    """The config with the form's devices; calibrations are kept as they are."""
    return replace(
        base,
        station_id=form.station_id.strip(),
        probe=_source(form.probe_kind, form.probe_arg, ("simulated",)),
        probe_id=form.probe_id.strip() or base.probe_id,
        fixture=_source(form.fixture_kind, form.fixture_arg, ("simulated", "emulator")),
        fixture_baudrate=form.baudrate,
        fixture_timeout_s=form.timeout_s,
        fixture_motion_timeout_s=form.motion_timeout_s,
        scanner=_source(form.scanner_kind, form.scanner_arg, ("keyboard",)),
        scanner_prefix=parse_scanner_keys(form.scanner_prefix, form.scanner_suffix).prefix,
        scanner_suffix=form.scanner_suffix,
        store_url=form.store_url.strip(),
    )


def save_devices(controller: Saves, form: DeviceForm) -> tuple[Path, StationConfig]:
    """Worker side of Save: the saved file's current content plus the form, written whole."""
    if form.probe_kind == "replay" and not Path(form.probe_arg.strip()).expanduser().exists():
        raise FieldError("probe", f"no file or folder {form.probe_arg.strip()} to replay")
    path = controller.save_devices(apply_devices(load_config(), form))
    return path, load_config()


def effective_probe_id(config: StationConfig) -> str:
    """The id the bench gives its probe: the simulated probe is always the same one."""
    return SIMULATED_PROBE_ID if config.probe == "simulated" else config.probe_id


def default_min_focus(config: StationConfig, probe_id: str, tip: str) -> float:
    """The threshold to keep: this probe and tip's own, else its tip-less one, else the default."""
    cal = config.calibration(probe_id, tip)
    if cal is not None:
        return cal.min_focus_score
    return SIMULATED_MIN_FOCUS.get(tip, min(SIMULATED_MIN_FOCUS.values()))


def save_calibration(controller: Saves, cal: Calibration) -> tuple[Path, StationConfig]:
    """Worker side of the wizard's Save: replace this probe and tip's calibration in the file."""
    path = controller.save_calibration(cal)
    return path, load_config()


def rule_text(name: str) -> str:
    """A rule set's TOML as it is on disk: built-in ones from the package, others by path."""
    if name in builtin_names_cached():
        family, leaf = name.split("/")
        res = resources.files(BUILTIN_PACKAGE).joinpath(BUILTIN_FOLDER, family, f"{leaf}.toml")
        return res.read_text(encoding="utf-8")
    try:
        return Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise FieldError("rules", f"rule file {name}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise FieldError("rules", f"rule file {name}: not UTF-8 text") from None
