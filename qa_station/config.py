"""The station config: which probe, fixture and scanner this bench uses, and their calibrations.

A TOML file at ``<station home>/config/station.toml``. A fresh install has
none and gets the simulated bench. A malformed file is refused with the file,
the key and what was expected; the station does not guess. The Settings page
writes it with ``save_config`` (whole, atomically), so a crash mid-save leaves
the old file, never half a new one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from grading.rules import finite, shown, toml_document
from qa_station.paths import StationPaths, ensure_dir, station_paths, write_whole
from qa_station.scanner_keys import PREFIX_FORMS, SUFFIXES, ScannerKeyError, parse_scanner_keys

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


def load_config(paths: StationPaths | None = None) -> StationConfig:
    p = (paths or station_paths()).config_file
    if not p.exists():
        return StationConfig()
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"config file {p}: cannot be read ({exc.strerror})") from None
    return parse_config(data, p)


def parse_config(data: bytes, origin: Path) -> StationConfig:
    def fail(key: str, expected: str) -> None:
        raise ConfigError(
            f"config file {shown(str(origin))}: key '{shown(key)}': expected {expected}"
        )

    try:
        doc = toml_document(data.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError is one
        raise ConfigError(f"config file {shown(str(origin))}: not valid TOML ({exc})") from None
    tables = {
        "station",
        "probe",
        "fixture",
        "scanner",
        "store",
        "images",
        "calibrations",
        "qualification",
    }
    for k in doc:
        if k not in tables:
            fail(k, f"one of the sections {', '.join(sorted(tables))}; unknown")
    defaults = StationConfig()
    station = _table(doc, "station", fail, {"id"})
    probe = _table(doc, "probe", fail, {"source", "id"})
    fixture = _table(doc, "fixture", fail, {"source", "baudrate", "timeout_s", "motion_timeout_s"})
    scanner = _table(doc, "scanner", fail, {"source", "prefix", "suffix"})
    store = _table(doc, "store", fail, {"url"})
    qualification = _table(doc, "qualification", fail, {"max_age_days"})
    images = _table(doc, "images", fail, {"full_frames", "retention_days"})
    values = {
        "station_id": _station_id(station, defaults.station_id, fail),
        "probe": _source(probe, "probe", defaults.probe, fail),
        "probe_id": _str(probe, "id", "probe.id", defaults.probe_id, fail),
        "fixture": _source(fixture, "fixture", defaults.fixture, fail),
        "fixture_baudrate": _int(
            fixture, "baudrate", "fixture.baudrate", defaults.fixture_baudrate, fail
        ),
        "fixture_timeout_s": _pos(
            fixture, "timeout_s", "fixture.timeout_s", defaults.fixture_timeout_s, fail
        ),
        "fixture_motion_timeout_s": _pos(
            fixture,
            "motion_timeout_s",
            "fixture.motion_timeout_s",
            defaults.fixture_motion_timeout_s,
            fail,
        ),
        "scanner": _source(scanner, "scanner", defaults.scanner, fail),
        **_scanner_keys(scanner, fail),
        "store_url": store.get("url", "")
        if isinstance(store.get("url", ""), str)
        else fail("store.url", "a database URL"),
        "image_full_frames": _full_frames(images, defaults.image_full_frames, fail),
        "image_retention_days": _pos(
            images,
            "retention_days",
            "images.retention_days",
            defaults.image_retention_days,
            fail,
            allow_zero=True,
        ),
        "qualification_max_age_days": _pos(
            qualification,
            "max_age_days",
            "qualification.max_age_days",
            defaults.qualification_max_age_days,
            fail,
        ),
    }
    if values["qualification_max_age_days"] > MAX_QUALIFICATION_DAYS:
        fail("qualification.max_age_days", f"a number of days up to {MAX_QUALIFICATION_DAYS}")
    cals = doc.get("calibrations", [])
    if not isinstance(cals, list):
        fail("calibrations", "an array of [[calibrations]] tables")
    parsed = list(defaults.calibrations)
    for i, c in enumerate(cals):
        where = f"calibrations[{i}]"
        if not isinstance(c, dict):
            fail(where, "a table")
        for k in c:
            if k not in {"probe", "tip", "um_per_px", "um_per_px_y", "min_focus_score", "date"}:
                fail(
                    f"{where}.{k}",
                    "probe, tip, um_per_px, um_per_px_y, min_focus_score or date; unknown key",
                )
        cal = Calibration(
            probe=_str(c, "probe", f"{where}.probe", None, fail),
            um_per_px=_pos(c, "um_per_px", f"{where}.um_per_px", None, fail),
            min_focus_score=_pos(
                c, "min_focus_score", f"{where}.min_focus_score", 1e-9, fail, allow_zero=True
            ),
            tip=_str(c, "tip", f"{where}.tip", "", fail),
            date=_str(c, "date", f"{where}.date", "", fail),
            um_per_px_y=_pos(c, "um_per_px_y", f"{where}.um_per_px_y", None, fail)
            if "um_per_px_y" in c
            else None,
        )
        parsed = [x for x in parsed if (x.probe, x.tip) != (cal.probe, cal.tip)] + [cal]
    return StationConfig(calibrations=tuple(parsed), path=origin, **values)


def _table(doc, name, fail, allowed):
    t = doc.get(name, {})
    if not isinstance(t, dict):
        fail(name, "a table")
    for k in t:
        if k not in allowed:
            fail(f"{name}.{k}", f"one of {', '.join(sorted(allowed))}; unknown key")
    return t


def _str(t, key, where, default, fail):
    if key not in t and default is not None:
        return default
    v = t.get(key)
    if not isinstance(v, str) or (default is None and not v.strip()):
        fail(where, "a string")
    return v


def _full_frames(t, default, fail):
    from qa_station.fibre_regions import FULL_FRAMES

    v = t.get("full_frames", default)
    if v not in FULL_FRAMES:
        fail("images.full_frames", f"one of {', '.join(FULL_FRAMES)}; found {shown(repr(v))[:40]}")
    return v


def _station_id(t, default, fail):
    """Every event and the signing certificate's name carry it: printable, short."""
    from qa_station.text import STATION_ID_MAX, TextError, station_id

    value = t.get("id", default)
    try:
        return station_id(value)
    except TextError:
        fail(
            "station.id",
            f"1-{STATION_ID_MAX} letters, digits, '.', '_' or '-', starting with a letter or "
            f"digit; found {shown(repr(value))[:60]}",
        )


def _int(t, key, where, default, fail):
    v = t.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= MAX_BAUDRATE:
        fail(where, f"a positive integer (at most {MAX_BAUDRATE})")
    return v


def _pos(t, key, where, default, fail, allow_zero=False):
    v = t.get(key, default)
    ok = (
        isinstance(v, int | float) and not isinstance(v, bool) and (v >= 0 if allow_zero else v > 0)
    )
    # A timeout or a scale must be a real number: inf would wait forever, and an integer
    # beyond 1.8e308 has no float at all.
    if v is None or not ok or not finite(v):
        fail(where, "a positive number")
    return float(v)


def _source(t, kind, default, fail):
    v = t.get("source", default)
    if not isinstance(v, str) or not SOURCE_RE[kind].fullmatch(v):
        forms = {
            "probe": "simulated, uvc:INDEX|PATH or replay:PATH",
            "fixture": "simulated, emulator or serial:PORT",
            "scanner": "keyboard or serial:PORT",
        }[kind]
        fail(f"{kind}.source", f"{forms}; found {v!r}")
    return v


def _scanner_keys(t, fail) -> dict[str, str]:
    prefix = _str(t, "prefix", "scanner.prefix", "", fail)
    suffix = _str(t, "suffix", "scanner.suffix", "Enter", fail)
    try:
        keys = parse_scanner_keys(prefix, suffix)
    except ScannerKeyError as exc:
        if suffix not in SUFFIXES:
            fail("scanner.suffix", f"Enter or Tab; found {suffix!r}")
        fail("scanner.prefix", f"{PREFIX_FORMS} ({exc})")
    return {"scanner_prefix": keys.prefix, "scanner_suffix": keys.suffix}


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


def render_config(config: StationConfig) -> str:
    """The station TOML of a config: every key written, so the file says what the bench uses."""
    seen: set[tuple[str, str]] = set()
    for c in config.calibrations:
        if (c.probe, c.tip) in seen:
            tip = f"the {c.tip} tip" if c.tip else "no tip"
            raise ConfigError(f"two calibrations for probe {c.probe!r} with {tip}: keep one")
        seen.add((c.probe, c.tip))
    lines = [
        "# qa-station station config, written by the Settings page.",
        "# Devices are opened at start: a change here takes effect at the next start.",
        "",
        "[station]",
        f"id = {toml_str(config.station_id)}",
        "",
        "[probe]",
        f"source = {toml_str(config.probe)}",
        f"id = {toml_str(config.probe_id)}",
        "",
        "[fixture]",
        f"source = {toml_str(config.fixture)}",
        f"baudrate = {_toml_int(config.fixture_baudrate)}",
        f"timeout_s = {_toml_float(config.fixture_timeout_s)}",
        f"motion_timeout_s = {_toml_float(config.fixture_motion_timeout_s)}",
        "",
        "[scanner]",
        f"source = {toml_str(config.scanner)}",
        f"prefix = {toml_str(config.scanner_prefix)}",
        f"suffix = {toml_str(config.scanner_suffix)}",
        "",
        "[store]",
        f"url = {toml_str(config.store_url)}",
        "",
        "[images]",
        f"full_frames = {toml_str(config.image_full_frames)}",
        f"retention_days = {_toml_float(config.image_retention_days)}",
        "",
        "[qualification]",
        f"max_age_days = {_toml_float(config.qualification_max_age_days)}",
    ]
    for c in config.calibrations:
        lines += [
            "",
            "[[calibrations]]",
            f"probe = {toml_str(c.probe)}",
            f"tip = {toml_str(c.tip)}",
            f"um_per_px = {_toml_float(c.um_per_px)}",
            f"min_focus_score = {_toml_float(c.min_focus_score)}",
            f"date = {toml_str(c.date)}",
        ]
        if c.um_per_px_y is not None:
            lines.append(f"um_per_px_y = {_toml_float(c.um_per_px_y)}")
    return "\n".join(lines) + "\n"


def save_config(config: StationConfig, paths: StationPaths | None = None) -> Path:
    """Write the station config atomically (temp file, fsync, rename); returns the file.

    The text is parsed back before anything is written, so a value the reader
    would refuse (a bad source, a negative timeout) never reaches the disk.
    An existing file keeps its permissions; a new one is owner-only, as a
    store URL may carry a database password.
    """
    target = (paths or station_paths()).config_file
    text = render_config(config)
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


TOML_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_str(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in value:
        if ch in TOML_ESCAPES:
            out.append(TOML_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_int(value: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"expected an integer, found {value!r}")
    return str(value)


def _toml_float(value: float) -> str:
    """A float that reads back bit for bit (repr is the shortest exact form)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"expected a number, found {value!r}")
    v = float(value)
    if v != v:
        return "nan"
    if v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    return repr(v)
