"""Rule sets: pass/fail tables loaded from TOML files, validated strictly.

The tables are data (shipped under ``grading/rulesets/``) so that an ed.3 or a
customer table can be added without code. A malformed file is refused with an
error that names the file, the key and what was expected.
"""

from __future__ import annotations

import functools
import hashlib
import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

BUILTIN_PACKAGE = "grading"
BUILTIN_FOLDER = "rulesets"
MANIFEST = "SHA256SUMS"  # sha256sum format: "<hex>  family/name.toml", one a line
STRADDLE_MODES = ("stricter", "center")
_RANGE_KEYS = ("from_um", "above_um", "to_um", "below_um")
DEFAULT_MAX_BLUR_UM = 1.5
# No size on an end face comes near 10 cm (an SC ferrule is 2.5 mm across): a larger
# number is a typo, and numbers near 1e308 overflow the arithmetic behind the verdicts.
MAX_UM = 100_000.0


class RuleFileError(ValueError):
    """A rule file that cannot be used, with the file and key at fault."""


@dataclass(frozen=True)
class SizeLimit:
    """At most ``max_count`` features whose size falls in this range."""

    max_count: int
    from_um: float | None = None
    above_um: float | None = None
    to_um: float | None = None
    below_um: float | None = None

    def matches(self, size_um: float) -> bool:
        if self.from_um is not None and size_um < self.from_um:
            return False
        if self.above_um is not None and size_um <= self.above_um:
            return False
        if self.to_um is not None and size_um > self.to_um:
            return False
        return not (self.below_um is not None and size_um >= self.below_um)

    def describe(self) -> str:
        low = self.from_um if self.from_um is not None else self.above_um
        high = self.to_um if self.to_um is not None else self.below_um
        if low is not None and high is not None:
            if self.from_um is not None and self.to_um is not None:
                return f"{_num(low)}-{_num(high)} um"
            lo = ">=" if self.from_um is not None else ">"
            hi = "<=" if self.to_um is not None else "<"
            return f"{lo} {_num(low)} and {hi} {_num(high)} um"
        if low is not None:
            return f"{'>=' if self.from_um is not None else '>'} {_num(low)} um"
        if high is not None:
            return f"{'<=' if self.to_um is not None else '<'} {_num(high)} um"
        return "any size"

    @property
    def lower_um(self) -> float:
        """Smallest size this limit can count (for choosing detection resolution)."""
        if self.from_um is not None:
            return self.from_um
        if self.above_um is not None:
            return self.above_um
        return 0.0


@dataclass(frozen=True)
class Zone:
    name: str
    label: str
    inner_diameter_um: float
    outer_diameter_um: float
    scratch_limits: tuple[SizeLimit, ...]
    defect_limits: tuple[SizeLimit, ...]
    # Least share of the zone that must be in the frame for a verdict: at high
    # magnification the contact zone often runs past the frame's edge.
    min_coverage: float = 1.0

    @property
    def graded(self) -> bool:
        return bool(self.scratch_limits or self.defect_limits)

    @property
    def inner_radius_um(self) -> float:
        return self.inner_diameter_um / 2.0

    @property
    def outer_radius_um(self) -> float:
        return self.outer_diameter_um / 2.0

    def limits(self, kind: str) -> tuple[SizeLimit, ...]:
        return self.scratch_limits if kind == "scratch" else self.defect_limits


@dataclass(frozen=True)
class RuleSet:
    name: str
    title: str
    version: str
    fiber: str | None
    polish: str | None
    max_um_per_px: float
    min_feature_um: float
    max_blur_um: float
    straddle: str
    multi_fiber_zones: tuple[str, ...]
    zones: tuple[Zone, ...]
    source: str  # "builtin" or the file path it came from
    sha256: str  # of the file's bytes: certificates print it

    def zones_for(self, multi_fiber: bool) -> tuple[Zone, ...]:
        """The zones that apply: MT ferrules grade only the multi-fibre zones."""
        if not multi_fiber:
            return self.zones
        return tuple(z for z in self.zones if z.name in self.multi_fiber_zones)

    def zone(self, name: str) -> Zone:
        for z in self.zones:
            if z.name == name:
                return z
        raise KeyError(name)


def _num(x: float) -> str:
    return f"{x:g}"


@functools.cache
def _builtin(name: str) -> RuleSet:
    """Built-in tables never change while the station runs: read each once. A file that
    no longer hashes to its shipped sha256 is refused: a standard's name on a loosened
    table would pass what the standard fails."""
    family, leaf = name.split("/")
    res = resources.files(BUILTIN_PACKAGE).joinpath(BUILTIN_FOLDER, family, f"{leaf}.toml")
    data = res.read_bytes()
    shipped = shipped_sha256(name)
    actual = hashlib.sha256(data).hexdigest()
    if actual != shipped:
        raise RuleFileError(
            f"built-in rule set {name}: its file {res} was changed since it was shipped (sha256 "
            f"{actual[:12]}, shipped {str(shipped)[:12]}): refused; reinstall it, or copy it "
            "under a name of your own as a house table"
        )
    return parse_rules(data, origin=f"builtin:{name}", source="builtin")


@functools.cache
def _manifest() -> dict[str, str]:
    """The built-in tables and the sha256 each was shipped with (``SHA256SUMS``)."""
    text = resources.files(BUILTIN_PACKAGE).joinpath(BUILTIN_FOLDER, MANIFEST).read_text("ascii")
    out = {}
    for line in text.splitlines():
        if line.strip():
            sha, path = line.split(maxsplit=1)
            out[path.strip().removesuffix(".toml")] = sha
    return out


def shipped_sha256(name: str) -> str | None:
    """The sha256 a built-in table was shipped with; None for any other name."""
    return _manifest().get(str(name))


@functools.cache
def builtin_names_cached() -> tuple[str, ...]:
    return tuple(builtin_names())


def builtin_names() -> list[str]:
    """The built-in tables: those the shipped manifest lists (a file dropped into the
    folder is not one of them)."""
    return sorted(_manifest())


def load_rules(name_or_path: str | Path) -> RuleSet:
    """Load a built-in rule set by name, or a rule file by path."""
    text_name = str(name_or_path)
    if text_name in builtin_names_cached():
        return _builtin(text_name)
    path = Path(name_or_path)
    try:
        found = path.is_file()
    except OSError:  # a name too long for the file system, a loop of links...
        found = False
    if not found:
        known = ", ".join(builtin_names())
        raise RuleFileError(
            f"rules {_clip(text_name)!r}: neither a built-in rule set ({known}) nor a readable file"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RuleFileError(
            f"rules file {shown(str(path))}: cannot be read ({exc.strerror or exc})"
        ) from None
    return parse_rules(data, origin=str(path), source=str(path))


def parse_rules(data: bytes, origin: str, source: str) -> RuleSet:
    origin = shown(origin)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RuleFileError(f"rules file {origin}: not UTF-8 text") from None
    try:
        doc = toml_document(text)
    except ValueError as exc:
        raise RuleFileError(f"rules file {origin}: not valid TOML ({exc})") from None
    v = _Validator(origin)
    v.keys(
        doc,
        "",
        required={"schema", "name", "max_um_per_px", "zones"},
        optional={
            "title",
            "version",
            "fiber",
            "polish",
            "min_feature_um",
            "max_blur_um",
            "straddle",
            "multi_fiber_zones",
        },
    )
    schema = v.integer(doc, "schema", "", minimum=1)
    if schema != 1:
        v.fail("schema", f"schema 1 (this station's rule format); found {schema}")
    name = v.string(doc, "name", "")
    zones_raw = doc["zones"]
    if not isinstance(zones_raw, list) or not zones_raw:
        v.fail("zones", "a non-empty array of [[zones]] tables")
    zones = tuple(v.zone(z, f"zones[{i}]") for i, z in enumerate(zones_raw))
    _check_zone_order(v, zones)
    names = [z.name for z in zones]
    # By default an MT ferrule is graded on the zones A and B the file defines.
    multi = doc.get("multi_fiber_zones", [n for n in ("A", "B") if n in names] or names)
    if not isinstance(multi, list) or not multi or not all(isinstance(m, str) for m in multi):
        # Empty would grade nothing on an MT ferrule, and nothing graded must never pass.
        v.fail("multi_fiber_zones", f"a non-empty array of zone names; found {multi!r}")
    for m in multi:
        if m not in names:
            v.fail(
                "multi_fiber_zones", f"names of zones defined in this file ({names}); found {m!r}"
            )
    straddle = doc.get("straddle", "stricter")
    if straddle not in STRADDLE_MODES:
        v.fail("straddle", f"one of {list(STRADDLE_MODES)}; found {straddle!r}")
    fiber = doc.get("fiber")
    if fiber is not None and fiber not in ("sm", "mm"):
        v.fail("fiber", f"'sm' or 'mm'; found {fiber!r}")
    polish = doc.get("polish")
    if polish is not None and polish not in ("pc", "apc"):
        v.fail("polish", f"'pc' or 'apc'; found {polish!r}")
    return RuleSet(
        name=name,
        title=v.string(doc, "title", "", default=name),
        version=v.string(doc, "version", "", default=""),
        fiber=fiber,
        polish=polish,
        max_um_per_px=v.number(doc, "max_um_per_px", "", positive=True),
        min_feature_um=v.number(doc, "min_feature_um", "", default=0.0, minimum=0.0),
        max_blur_um=v.number(doc, "max_blur_um", "", default=DEFAULT_MAX_BLUR_UM, positive=True),
        straddle=straddle,
        multi_fiber_zones=tuple(multi),
        zones=zones,
        source=source,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def toml_document(text: str) -> dict[str, Any]:
    """``tomllib.loads``, with every way it fails as a ValueError whose message is one line.

    tomllib raises TOMLDecodeError for bad syntax, but a plain ValueError for an integer
    of more than 4300 digits and RecursionError for arrays nested a thousand deep; the
    station's TOML readers (rules, station config, catalog) all read through here.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(shown(str(exc))) from None
    except ValueError:
        raise ValueError("a number too long to read") from None
    except RecursionError:
        raise ValueError("arrays or tables nested too deeply") from None


def _check_zone_order(v: _Validator, zones: tuple[Zone, ...]) -> None:
    seen: set[str] = set()
    previous_outer = 0.0
    for i, z in enumerate(zones):
        if z.name in seen:
            v.fail(f"zones[{i}].name", f"a zone name not used before; {z.name!r} is repeated")
        seen.add(z.name)
        if z.outer_diameter_um <= z.inner_diameter_um:
            v.fail(
                f"zones[{i}].outer_diameter_um",
                f"a value larger than inner_diameter_um ({_num(z.inner_diameter_um)})",
            )
        if z.inner_diameter_um < previous_outer - 1e-9:
            v.fail(
                f"zones[{i}].inner_diameter_um",
                f"zones listed outwards without overlap (>= {_num(previous_outer)})",
            )
        previous_outer = z.outer_diameter_um


class _Validator:
    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, key: str, expected: str) -> NoReturn:
        raise RuleFileError(f"rules file {self.origin}: key '{shown(key)}': expected {expected}")

    def keys(self, table: Any, where: str, required: set[str], optional: set[str]) -> None:
        if not isinstance(table, dict):
            self.fail(where or "(top level)", "a table")
        for k in table:
            if k not in required | optional:
                allowed = ", ".join(sorted(required | optional))
                raise RuleFileError(
                    f"rules file {self.origin}: key '{shown(_join(where, k))}': unknown key; "
                    f"expected one of {allowed}"
                )
        for k in sorted(required):
            if k not in table:
                self.fail(_join(where, k), "this key to be present; it is missing")

    def string(
        self, table: dict[str, Any], key: str, where: str, default: str | None = None
    ) -> str:
        if key not in table and default is not None:
            return default
        value: object = table.get(key)
        # Names and labels are printed in verdicts and on certificates: one line each.
        if not isinstance(value, str) or not value.strip() or not value.isprintable():
            self.fail(_join(where, key), f"a non-empty string on one line; found {value!r}")
        return value

    def integer(self, table: dict[str, Any], key: str, where: str, minimum: int = 0) -> int:
        value: object = table.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(_join(where, key), f"an integer >= {minimum}; found {value!r}")
        return value

    def number(
        self,
        table: dict[str, Any],
        key: str,
        where: str,
        default: float | None = None,
        minimum: float | None = None,
        positive: bool = False,
    ) -> float:
        if key not in table and default is not None:
            return default
        value: object = table.get(key)
        if not (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and finite(value)
            and value <= MAX_UM
            and (minimum is None or value >= minimum)
            and (not positive or value > 0)
        ):
            bound = "> 0" if positive else f">= {_num(minimum)}" if minimum is not None else ""
            self.fail(
                _join(where, key),
                f"a finite number {bound} and at most {_num(MAX_UM)}; found {value!r}".replace(
                    "  ", " "
                ),
            )
        return float(value)

    def zone(self, raw: Any, where: str) -> Zone:
        self.keys(
            raw,
            where,
            required={"name", "inner_diameter_um", "outer_diameter_um"},
            optional={"label", "scratches", "defects", "min_coverage"},
        )
        coverage = self.number(raw, "min_coverage", where, default=1.0, minimum=0.0)
        if coverage > 1.0:
            self.fail(_join(where, "min_coverage"), f"a share from 0 to 1; found {coverage!r}")
        return Zone(
            name=self.string(raw, "name", where),
            label=self.string(raw, "label", where, default=raw.get("name", "")),
            inner_diameter_um=self.number(raw, "inner_diameter_um", where, minimum=0.0),
            outer_diameter_um=self.number(raw, "outer_diameter_um", where, positive=True),
            scratch_limits=self.limits(raw.get("scratches", []), _join(where, "scratches")),
            defect_limits=self.limits(raw.get("defects", []), _join(where, "defects")),
            min_coverage=coverage,
        )

    def limits(self, raw: Any, where: str) -> tuple[SizeLimit, ...]:
        if not isinstance(raw, list):
            self.fail(
                where, "an array of limit tables such as { from_um = 2, to_um = 5, max_count = 5 }"
            )
        out = []
        for i, item in enumerate(raw):
            here = f"{where}[{i}]"
            self.keys(item, here, required={"max_count"}, optional=set(_RANGE_KEYS))
            bounds = {k: self.number(item, k, here, minimum=0.0) for k in _RANGE_KEYS if k in item}
            if "from_um" in bounds and "above_um" in bounds:
                self.fail(here, "at most one lower bound (from_um or above_um), not both")
            if "to_um" in bounds and "below_um" in bounds:
                self.fail(here, "at most one upper bound (to_um or below_um), not both")
            low = bounds.get("from_um", bounds.get("above_um"))
            high = bounds.get("to_um", bounds.get("below_um"))
            if low is not None and high is not None and high < low:
                self.fail(here, f"the upper bound ({_num(high)}) not below the lower ({_num(low)})")
            out.append(SizeLimit(max_count=self.integer(item, "max_count", here), **bounds))
        return tuple(out)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def finite(value: float) -> bool:
    """A number a float can hold: TOML integers have no size limit, floats do."""
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond 1.8e308
        return False


def shown(text: str) -> str:
    """Text from a file or a caller as it can be shown on one line: unprintables escaped."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"
