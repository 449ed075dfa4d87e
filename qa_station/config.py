"""The station config: which probe, fixture and scanner this bench uses, and their calibrations.

A TOML file at ``<station home>/config/station.toml``. A fresh install has
none and gets the simulated bench. A malformed file is refused with the file,
the key and what was expected; the station does not guess (the file's shape is
``StationFile``, a strict model: see ``datafiles``). The Settings page writes it
with ``save_config`` (whole, atomically, through tomlkit so the user's comments
stay), so a crash mid-save leaves the old file, never half a new one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

import tomlkit
from pydantic import AfterValidator, Field, model_validator
from tomlkit.exceptions import TOMLKitError

from datafiles import KeyFault, StrictModel, read_model
from qa_station.paths import StationPaths, ensure_dir, station_paths, write_whole
from qa_station.scanner_keys import PREFIX_FORMS, SUFFIXES, ScannerKeyError, parse_scanner_keys
from qa_station.text import STATION_ID_MAX, TextError, station_id

SOURCE_RE = {
    "probe": re.compile(r"^(simulated|uvc:.+|replay:.+)$"),
    "fixture": re.compile(r"^(simulated|emulator|serial:.+)$"),
    "scanner": re.compile(r"^(keyboard|serial:.+)$"),
}
MAX_BAUDRATE = 2**31 - 1  # what a serial port's speed setting can hold
MAX_QUALIFICATION_DAYS = 366  # a qualification is renewed at least yearly
SIMULATED_PROBE_ID = "sim-400x"
SIMULATED_UM_PER_PX = 0.3125
# Sharpness differs with what is in view: grainy MT plastic gives a higher focus
# score than a smooth ceramic ferrule, so each tip has its own threshold (about
# 1.1 um of blur on the simulated probe).
SIMULATED_MIN_FOCUS = {"mpo": 28.0, "lc": 13.5, "sc": 13.5}


class ConfigError(ValueError):
    """A station config that cannot be used."""


@dataclass(frozen=True)
class Calibration:
    """How one probe (with one tip) maps pixels to micrometres, and how sharp is sharp."""

    probe: str
    um_per_px: float  # horizontal
    min_focus_score: float
    tip: str = ""  # "mpo", "lc", "sc"... empty: any tip of this probe
    date: str = ""
    # Vertical scale when the pixels are not square (analog video capture); None: square.
    um_per_px_y: float | None = None

    @property
    def scale(self) -> float | tuple[float, float]:
        """What grading takes: a number for square pixels, (x, y) otherwise."""
        if self.um_per_px_y is None:
            return self.um_per_px
        return (self.um_per_px, self.um_per_px_y)


STATION_ROLES = ("bench", "auditor")


@dataclass(frozen=True)
class StationConfig:
    station_id: str = "bench-1"
    probe: str = "simulated"
    probe_id: str = SIMULATED_PROBE_ID
    fixture: str = "simulated"
    fixture_baudrate: int = 115200
    fixture_timeout_s: float = 1.0
    fixture_motion_timeout_s: float = 5.0
    scanner: str = "keyboard"
    scanner_prefix: str = ""  # a key the wedge scanner sends before each code (scanner_keys)
    scanner_suffix: str = "Enter"
    store_url: str = ""  # empty: SQLite under the station home
    # The floor database's CA certificate (PEM): set, every connection to it is TLS with the
    # server's certificate and name checked against it (libpq sslmode=verify-full).
    store_ca_file: str = ""
    # "bench" records at the gate; "auditor" opens the record read-only, with no devices.
    station_role: str = "bench"
    # A qualification older than this stops inspections ([qualification] max_age_days).
    qualification_max_age_days: float = 30.0
    # What of each frame is kept (qa_station/fibre_regions.py): every fibre's graded region
    # always; whole frames never, for inspections that did not pass, or always.
    image_full_frames: str = "never"
    image_retention_days: float = 0.0  # 0: frames stay on the bench; else archive, then remove
    calibrations: tuple[Calibration, ...] = field(
        default_factory=lambda: tuple(
            Calibration(SIMULATED_PROBE_ID, SIMULATED_UM_PER_PX, score, tip)
            for tip, score in SIMULATED_MIN_FOCUS.items()
        )
    )
    path: Path | None = None  # where it was read from, if anywhere

    def calibration(self, probe_id: str | None = None, tip: str = "") -> Calibration | None:
        """The calibration of a probe with a tip (or, failing that, its tip-less one)."""
        pid = probe_id or self.probe_id
        mine = [c for c in self.calibrations if c.probe == pid]
        for wanted in (tip, ""):
            for c in mine:
                if c.tip == wanted:
                    return c
        return mine[0] if mine and not tip else None


def tip_for(connector_name: str) -> str:
    """Which probe tip an end needs: one for MT ferrules, one per ceramic ferrule size."""
    if connector_name.startswith("mpo"):
        return "mpo"
    return connector_name.split("-")[0]


ENV_ROLE = "QA_STATION_ROLE"  # "auditor": this run is an auditor's station (qa-station --auditor)


def load_config(paths: StationPaths | None = None) -> StationConfig:
    p = (paths or station_paths()).config_file
    config = StationConfig()
    if p.exists():
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise ConfigError(f"config file {p}: cannot be read ({exc.strerror})") from None
        config = parse_config(data, p)
    if os.environ.get(ENV_ROLE) == "auditor":
        config = replace(config, station_role="auditor")
    return config


def _as_is(value: Any) -> Any:
    return value


def _toml_int(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"expected an integer, found {value!r}")
    return value


def _toml_float(value: float) -> float:
    """A number as a float (written as its shortest exact form: it reads back bit for bit)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"expected a number, found {value!r}")
    return float(value)


# Where each of StationConfig's single values stands in the file, in the file's order, and
# how it is written there: field -> (section, key, writer). The calibrations are tables apart.
_FILE_KEYS: dict[str, tuple[str, str, Callable[[Any], Any]]] = {
    "station_id": ("station", "id", _as_is),
    "station_role": ("station", "role", _as_is),
    "probe": ("probe", "source", _as_is),
    "probe_id": ("probe", "id", _as_is),
    "fixture": ("fixture", "source", _as_is),
    "fixture_baudrate": ("fixture", "baudrate", _toml_int),
    "fixture_timeout_s": ("fixture", "timeout_s", _toml_float),
    "fixture_motion_timeout_s": ("fixture", "motion_timeout_s", _toml_float),
    "scanner": ("scanner", "source", _as_is),
    "scanner_prefix": ("scanner", "prefix", _as_is),
    "scanner_suffix": ("scanner", "suffix", _as_is),
    "store_url": ("store", "url", _as_is),
    "store_ca_file": ("store", "ca_file", _as_is),
    "image_full_frames": ("images", "full_frames", _as_is),
    "image_retention_days": ("images", "retention_days", _toml_float),
    "qualification_max_age_days": ("qualification", "max_age_days", _toml_float),
}


def parse_config(data: bytes, origin: Path) -> StationConfig:
    """A station file's bytes as a StationConfig; ConfigError naming the key at fault."""
    doc = read_model(StationFile, data, f"config file {origin}", ConfigError)
    parsed = list(_DEFAULTS.calibrations)
    for c in doc.calibrations:
        cal = Calibration(**c.model_dump())
        parsed = [x for x in parsed if (x.probe, x.tip) != (cal.probe, cal.tip)] + [cal]
    values = {
        name: getattr(getattr(doc, section), key) for name, (section, key, _) in _FILE_KEYS.items()
    }
    values["scanner_prefix"] = parse_scanner_keys(doc.scanner.prefix, doc.scanner.suffix).prefix
    return StationConfig(**values, calibrations=tuple(parsed), path=origin)


# -- the file's shape -----------------------------------------------------------------------------

_DEFAULTS = StationConfig()
# A timeout or a scale must be a real number: inf would wait forever, and an integer beyond
# 1.8e308 has no float at all (the model refuses both).
Positive = Annotated[float, Field(gt=0, description="a positive number")]
NotNegative = Annotated[float, Field(ge=0, description="a positive number")]


def _source(kind: str, forms: str) -> Any:
    def check(value: str) -> str:
        if not SOURCE_RE[kind].fullmatch(value):
            raise ValueError(f"found {value!r}")
        return value

    return Annotated[str, AfterValidator(check), Field(description=forms)]


def _station_id(value: str) -> str:
    """Every event and the signing certificate's name carry it: printable, short."""
    try:
        return station_id(value)
    except TextError:
        raise ValueError(f"found {value[:60]!r}") from None


def _full_frames(value: str) -> str:
    from qa_station.fibre_regions import FULL_FRAMES  # (numpy and grading: only when read)

    if value not in FULL_FRAMES:
        raise ValueError(f"one of {', '.join(FULL_FRAMES)}; found {value[:40]!r}")
    return value


def _named(value: str) -> str:
    if not value.strip():
        raise ValueError("found an empty name")
    return value


def _station_role(value: str) -> str:
    if value not in STATION_ROLES:
        raise ValueError(f"found {value!r}")
    return value


class StationTable(StrictModel):
    id: Annotated[
        str,
        AfterValidator(_station_id),
        Field(
            description=f"1-{STATION_ID_MAX} letters, digits, '.', '_' or '-', starting with "
            "a letter or digit"
        ),
    ] = _DEFAULTS.station_id
    role: Annotated[
        str,
        AfterValidator(_station_role),
        Field(description=f"one of {', '.join(STATION_ROLES)}"),
    ] = _DEFAULTS.station_role


class ProbeTable(StrictModel):
    source: _source("probe", "simulated, uvc:INDEX|PATH or replay:PATH") = _DEFAULTS.probe
    id: str = Field(default=_DEFAULTS.probe_id, description="a string")


class FixtureTable(StrictModel):
    source: _source("fixture", "simulated, emulator or serial:PORT") = _DEFAULTS.fixture
    baudrate: int = Field(
        default=_DEFAULTS.fixture_baudrate,
        gt=0,
        le=MAX_BAUDRATE,
        description=f"a positive integer (at most {MAX_BAUDRATE})",
    )
    timeout_s: Positive = _DEFAULTS.fixture_timeout_s
    motion_timeout_s: Positive = _DEFAULTS.fixture_motion_timeout_s


class ScannerTable(StrictModel):
    source: _source("scanner", "keyboard or serial:PORT") = _DEFAULTS.scanner
    prefix: str = Field(default=_DEFAULTS.scanner_prefix, description="a string")
    suffix: str = Field(default=_DEFAULTS.scanner_suffix, description="a string")

    @model_validator(mode="after")
    def _keys(self) -> ScannerTable:
        try:
            parse_scanner_keys(self.prefix, self.suffix)
        except ScannerKeyError as exc:
            if self.suffix not in SUFFIXES:
                raise KeyFault("suffix", f"Enter or Tab; found {self.suffix!r}") from None
            raise KeyFault("prefix", f"{PREFIX_FORMS} ({exc})") from None
        return self


class StoreTable(StrictModel):
    url: str = Field(default=_DEFAULTS.store_url, description="a database URL")
    # The CA that signed the floor server's certificate: connections then verify it
    # (sslmode=verify-full).
    ca_file: str = Field(default=_DEFAULTS.store_ca_file, description="a file path")


class QualificationTable(StrictModel):
    max_age_days: float = Field(
        default=_DEFAULTS.qualification_max_age_days,
        gt=0,
        le=MAX_QUALIFICATION_DAYS,
        description=f"a number of days up to {MAX_QUALIFICATION_DAYS}",
    )


class ImagesTable(StrictModel):
    full_frames: Annotated[str, AfterValidator(_full_frames)] = _DEFAULTS.image_full_frames
    retention_days: NotNegative = _DEFAULTS.image_retention_days


class CalibrationTable(StrictModel):
    probe: Annotated[str, AfterValidator(_named), Field(description="a string")]
    um_per_px: Positive
    min_focus_score: NotNegative = 1e-9
    tip: str = Field(default="", description="a string")
    date: str = Field(default="", description="a string")
    um_per_px_y: Positive | None = None


class StationFile(StrictModel):
    """``station.toml``: a section per device, then one ``[[calibrations]]`` per probe tip."""

    KEYS_NAME = "sections"
    station: StationTable = StationTable()
    probe: ProbeTable = ProbeTable()
    fixture: FixtureTable = FixtureTable()
    scanner: ScannerTable = ScannerTable()
    store: StoreTable = StoreTable()
    images: ImagesTable = ImagesTable()
    qualification: QualificationTable = QualificationTable()
    calibrations: list[CalibrationTable] = Field(
        default=[], description="an array of [[calibrations]] tables"
    )


def with_calibration(config: StationConfig, cal: Calibration) -> StationConfig:
    """The config with ``cal`` in place of the calibration of the same probe and tip (or added)."""
    cals = list(config.calibrations)
    for i, c in enumerate(cals):
        if (c.probe, c.tip) == (cal.probe, cal.tip):
            cals[i] = cal
            break
    else:
        cals.append(cal)
    return replace(config, calibrations=tuple(cals))


_HEADER = (
    "qa-station station config, written by the Settings page.",
    "Devices are opened at start: a change here takes effect at the next start.",
)


def render_config(config: StationConfig, base: str = "") -> str:
    """The station TOML of a config: every key written, so the file says what the bench uses.

    ``base`` is the file as it is now: its comments, order and layout are kept, and only
    the values change (a calibration keeps its table when its probe and tip stay).
    """
    seen: set[tuple[str, str]] = set()
    for c in config.calibrations:
        if (c.probe, c.tip) in seen:
            tip = f"the {c.tip} tip" if c.tip else "no tip"
            raise ConfigError(f"two calibrations for probe {c.probe!r} with {tip}: keep one")
        seen.add((c.probe, c.tip))
    doc = _base_document(base)
    sections: dict[str, dict[str, Any]] = {}
    for name, (section, key, write) in _FILE_KEYS.items():
        sections.setdefault(section, {})[key] = write(getattr(config, name))
    for name, values in sections.items():
        table = doc.get(name)
        if not isinstance(table, dict):
            doc[name] = table = tomlkit.table()
        for key, value in values.items():
            table[key] = value
    _put_calibrations(doc, config.calibrations)
    return tomlkit.dumps(doc)


def _base_document(base: str) -> tomlkit.TOMLDocument:
    """The current file to edit, or a new one with the header when there is none usable."""
    if base.strip():
        try:
            return tomlkit.parse(base)
        except (TOMLKitError, ValueError, RecursionError):
            pass  # a file the reader refused: the saved one starts fresh
    doc = tomlkit.document()
    for line in _HEADER:
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())
    return doc


def _put_calibrations(doc: tomlkit.TOMLDocument, cals: tuple[Calibration, ...]) -> None:
    """Each calibration into the table of its probe and tip (a new one appended)."""
    old = doc.get("calibrations")
    tables = list(old) if isinstance(old, list) else []
    by_key = {(t.get("probe"), t.get("tip", "")): t for t in tables if isinstance(t, dict)}
    out = tomlkit.aot()
    for c in cals:
        table = by_key.get((c.probe, c.tip))
        if table is None:
            table = tomlkit.table()
        values: dict[str, Any] = {
            "probe": c.probe,
            "tip": c.tip,
            "um_per_px": _toml_float(c.um_per_px),
            "min_focus_score": _toml_float(c.min_focus_score),
            "date": c.date,
        }
        if c.um_per_px_y is not None:
            values["um_per_px_y"] = _toml_float(c.um_per_px_y)
        elif "um_per_px_y" in table:
            del table["um_per_px_y"]
        for key, value in values.items():
            table[key] = value
        out.append(table)
    if "calibrations" in doc:
        del doc["calibrations"]
    if cals:
        doc["calibrations"] = out


def save_config(config: StationConfig, paths: StationPaths | None = None) -> Path:
    """Write the station config atomically (temp file, fsync, rename); returns the file.

    The text is parsed back before anything is written, so a value the reader
    would refuse (a bad source, a negative timeout) never reaches the disk.
    An existing file keeps its permissions; a new one is owner-only, as a
    store URL may carry a database password.
    """
    target = (paths or station_paths()).config_file
    try:
        base = target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # none yet, or unreadable: written afresh
        base = ""
    text = render_config(config, base)
    parse_config(text.encode("utf-8"), target)  # raises ConfigError naming the key at fault
    try:
        ensure_dir(target.parent)
        try:
            mode = target.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o600
        write_whole(target, text.encode("utf-8"), mode)
    except OSError as exc:
        raise ConfigError(
            f"config file {target}: cannot be written ({exc.strerror or exc})"
        ) from None
    return target
