"""Rule sets: pass/fail tables loaded from TOML files, validated strictly.

The tables are data (shipped under ``grading/rulesets/``) so that an ed.3 or a
customer table can be added without code. A malformed file is refused with an
error that names the file, the key and what was expected.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from datafiles import KeyFault, StrictModel, read_model, shown
from grading.geometry import ConnectorGeometry

BUILTIN_PACKAGE = "grading"
BUILTIN_FOLDER = "rulesets"
MANIFEST = "SHA256SUMS"  # sha256sum format: "<hex>  family/name.toml", one a line
STRADDLE_MODES = ("stricter", "center")
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
    """A rule file's bytes as a RuleSet; RuleFileError naming the key at fault otherwise."""
    doc = read_model(RuleFile, data, f"rules file {origin}", RuleFileError)
    zones = tuple(z.to_zone() for z in doc.zones)
    names = [z.name for z in zones]
    # By default an MT ferrule is graded on the zones A and B the file defines.
    multi = doc.multi_fiber_zones or [n for n in ("A", "B") if n in names] or names
    return RuleSet(
        name=doc.name,
        title=doc.title or doc.name,
        version=doc.version or "",
        fiber=doc.fiber,
        polish=doc.polish,
        max_um_per_px=doc.max_um_per_px,
        min_feature_um=doc.min_feature_um,
        max_blur_um=doc.max_blur_um,
        straddle=doc.straddle,
        multi_fiber_zones=tuple(multi),
        zones=zones,
        source=source,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def polish_mismatch(geometry: ConnectorGeometry, ruleset: RuleSet) -> str | None:
    """Why ``ruleset`` cannot grade this connector's end face (APC rules on a PC face), or
    None. Grading refuses the pair, and the catalog refuses an end that names it."""
    if geometry.polish and ruleset.polish and geometry.polish != ruleset.polish:
        return (
            f"connector {geometry.name} is {geometry.polish.upper()}-polished but rule set "
            f"{ruleset.name} is for {ruleset.polish.upper()} end faces"
        )
    return None


# -- the file's shape -----------------------------------------------------------------------------

_UM_LIMIT = f"and at most {_num(MAX_UM)}"
PositiveUm = Annotated[
    float, Field(gt=0, le=MAX_UM, description=f"a finite number > 0 {_UM_LIMIT}")
]
Um = Annotated[float, Field(ge=0, le=MAX_UM, description=f"a finite number >= 0 {_UM_LIMIT}")]
_LIMITS = "an array of limit tables such as { from_um = 2, to_um = 5, max_count = 5 }"


def _one_line(value: str) -> str:
    # Names and labels are printed in verdicts and on certificates: one line each.
    if not value.strip() or not value.isprintable():
        raise ValueError(f"found {value!r}")
    return value


Line = Annotated[
    str, AfterValidator(_one_line), Field(description="a non-empty string on one line")
]


class LimitTable(StrictModel):
    """``{ from_um = 2, to_um = 5, max_count = 5 }``: at most 5 features of 2 to 5 um."""

    max_count: int = Field(ge=0, description="an integer >= 0")
    from_um: Um | None = None
    above_um: Um | None = None
    to_um: Um | None = None
    below_um: Um | None = None

    @model_validator(mode="after")
    def _bounds(self) -> LimitTable:
        if self.from_um is not None and self.above_um is not None:
            raise ValueError("at most one lower bound (from_um or above_um), not both")
        if self.to_um is not None and self.below_um is not None:
            raise ValueError("at most one upper bound (to_um or below_um), not both")
        low = self.from_um if self.from_um is not None else self.above_um
        high = self.to_um if self.to_um is not None else self.below_um
        if low is not None and high is not None and high < low:
            raise ValueError(f"the upper bound ({_num(high)}) not below the lower ({_num(low)})")
        return self


class ZoneTable(StrictModel):
    """One ``[[zones]]`` table: a ring of the end face and its limits."""

    name: Line
    label: Line | None = None
    inner_diameter_um: Um
    outer_diameter_um: PositiveUm
    scratches: list[LimitTable] = Field(default=[], description=_LIMITS)
    defects: list[LimitTable] = Field(default=[], description=_LIMITS)
    min_coverage: float = Field(default=1.0, ge=0.0, le=1.0, description="a share from 0 to 1")

    def to_zone(self) -> Zone:
        return Zone(
            name=self.name,
            label=self.label or self.name,
            inner_diameter_um=self.inner_diameter_um,
            outer_diameter_um=self.outer_diameter_um,
            scratch_limits=tuple(_limit(x) for x in self.scratches),
            defect_limits=tuple(_limit(x) for x in self.defects),
            min_coverage=self.min_coverage,
        )


def _limit(table: LimitTable) -> SizeLimit:
    return SizeLimit(**table.model_dump(exclude_none=True))


class RuleFile(StrictModel):
    """A rule file as written (``grading/rulesets/*/*.toml`` shows every key)."""

    schema_: int = Field(alias="schema", description="schema 1 (this station's rule format)")
    name: Line
    title: Line | None = None
    version: Line | None = None
    fiber: Literal["sm", "mm"] | None = Field(default=None, description="'sm' or 'mm'")
    polish: Literal["pc", "apc"] | None = Field(default=None, description="'pc' or 'apc'")
    max_um_per_px: PositiveUm
    min_feature_um: Um = 0.0
    max_blur_um: PositiveUm = DEFAULT_MAX_BLUR_UM
    straddle: Literal["stricter", "center"] = Field(
        default="stricter", description=f"one of {list(STRADDLE_MODES)}"
    )
    # Empty would grade nothing on an MT ferrule, and nothing graded must never pass.
    multi_fiber_zones: list[str] | None = Field(
        default=None, min_length=1, description="a non-empty array of zone names"
    )
    zones: list[ZoneTable] = Field(
        min_length=1, description="a non-empty array of [[zones]] tables"
    )

    @field_validator("schema_")
    @classmethod
    def _schema(cls, value: int) -> int:
        if value != 1:
            raise ValueError(f"found {value}")
        return value

    @model_validator(mode="after")
    def _zones_in_order(self) -> RuleFile:
        seen: set[str] = set()
        previous_outer = 0.0
        for i, z in enumerate(self.zones):
            if z.name in seen:
                raise KeyFault(
                    ("zones", i, "name"), f"a zone name not used before; {z.name!r} is repeated"
                )
            seen.add(z.name)
            if z.outer_diameter_um <= z.inner_diameter_um:
                raise KeyFault(
                    ("zones", i, "outer_diameter_um"),
                    f"a value larger than inner_diameter_um ({_num(z.inner_diameter_um)})",
                )
            if z.inner_diameter_um < previous_outer - 1e-9:
                raise KeyFault(
                    ("zones", i, "inner_diameter_um"),
                    f"zones listed outwards without overlap (>= {_num(previous_outer)})",
                )
            previous_outer = z.outer_diameter_um
        for m in self.multi_fiber_zones or ():
            if m not in seen:
                raise KeyFault(
                    "multi_fiber_zones",
                    f"names of zones defined in this file ({[z.name for z in self.zones]}); "
                    f"found {m!r}",
                )
        return self


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"
