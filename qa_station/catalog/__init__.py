"""The product catalog: which assembly a serial is, and what each of its ends is.

The rule set always comes from here, so an operator cannot grade an end
against the wrong table. Built-in examples ship in ``products.toml``; a
factory adds its own in ``<station config>/products.toml`` (same shape).
"""

from __future__ import annotations

import fnmatch
import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import re2
from pydantic import AfterValidator, Field, field_validator, model_validator

from datafiles import KeyFault, StrictModel, read_model, shown
from grading.geometry import CONNECTORS, ConnectorGeometry, connector
from grading.rules import RuleFileError, RuleSet, load_rules, polish_mismatch

POLICIES = ("clean-if-fail", "always-clean")
FIBERS = ("sm", "mm")
GENDERS = ("male", "female")
DEFAULT_EXPOSURE_LIMIT_S = 300.0  # a cleaned face left open re-contaminates
DEFAULT_MAX_CLEAN_CYCLES = 3
SERIAL_MAX = 64  # as qa_station.text.SERIAL_MAX (the catalog imports nothing of the app)
PATTERN_MEMORY = 8 << 20  # bytes RE2 may use for one serial pattern


class CatalogError(ValueError):
    """A catalog file that cannot be used, or a label that names no product."""


@dataclass(frozen=True)
class EndDefinition:
    label: str
    connector: str
    fiber: str
    gender: str | None
    rules: str

    @property
    def geometry(self) -> ConnectorGeometry:
        return connector(self.connector)

    @property
    def polish(self) -> str:
        if self.geometry.polish:
            return self.geometry.polish
        return "apc" if self.rules.endswith("apc") else "pc"

    def ruleset(self) -> RuleSet:
        return load_rules(self.rules)


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    part_numbers: tuple[str, ...]
    serial_pattern: str
    serial_example: str
    ends: tuple[EndDefinition, ...]
    policy: str = "clean-if-fail"
    polarity: str | None = None
    exposure_limit_s: float = DEFAULT_EXPOSURE_LIMIT_S
    max_clean_cycles: int = DEFAULT_MAX_CLEAN_CYCLES

    def end(self, label: str) -> EndDefinition:
        for e in self.ends:
            if e.label == label:
                return e
        raise CatalogError(
            f"{self.name} has no end {label!r}; its ends are {', '.join(e.label for e in self.ends)}"
        )

    def serial_ok(self, serial: str) -> bool:
        return serial_regex(self.serial_pattern).fullmatch(serial) is not None

    def matches_part(self, part_number: str) -> bool:
        return any(fnmatch.fnmatchcase(part_number, p) for p in self.part_numbers)


@functools.lru_cache(maxsize=256)
def serial_regex(pattern: str):
    """A serial pattern compiled by RE2: matching takes time linear in the serial, whatever
    the pattern (a house pattern like ^(a+)+$ cannot hang the bench). Raises re2.error for
    what RE2 cannot run (backreferences, look-around)."""
    options = re2.Options()
    options.log_errors = False  # the catalog says what is wrong, in one line
    options.max_mem = PATTERN_MEMORY
    return re2.compile(pattern, options)


@dataclass(frozen=True)
class Identified:
    product: Product
    serial: str
    part_number: str | None


class Catalog:
    def __init__(self, products: list[Product]) -> None:
        ids = [p.id for p in products]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise CatalogError(f"product ids used twice: {', '.join(sorted(dupes))}")
        self.products = list(products)

    def get(self, product_id: str) -> Product:
        for p in self.products:
            if p.id == product_id:
                return p
        raise CatalogError(f"unknown product {product_id!r}")

    def identify(self, label: str) -> Identified:
        """A scanned or typed label: "<part number> <serial>", or one of them alone."""
        text = " ".join(label.replace("|", " ").split())
        if not text:
            raise CatalogError("empty label: scan or type the assembly's serial")
        if len(text) > 128 or not text.isprintable():
            raise CatalogError(
                "that label is not a serial number (too long or unprintable characters)"
            )
        parts = text.split(" ")
        if len(parts[-1]) > SERIAL_MAX:
            raise CatalogError(f"a serial is at most {SERIAL_MAX} characters")
        if len(parts) > 2:
            raise CatalogError(f"label {text!r}: expected a part number and a serial, or a serial")
        if len(parts) == 2:
            part, serial = parts
            product = self._by_part(part)
            if not product.serial_ok(serial):
                raise CatalogError(
                    f"serial {serial!r} does not fit part number {part} "
                    f"(expected the form {product.serial_example})"
                )
            return Identified(product, serial, part)
        (single,) = parts
        by_serial = [p for p in self.products if p.serial_ok(single)]
        if len(by_serial) == 1:
            return Identified(by_serial[0], single, None)
        if len(by_serial) > 1:
            names = ", ".join(p.id for p in by_serial)
            raise CatalogError(
                f"serial {single!r} fits several products ({names}): scan the part number too"
            )
        by_part = [p for p in self.products if p.matches_part(single)]
        if by_part:
            raise CatalogError(f"{single!r} is a part number: scan the assembly's serial too")
        examples = ", ".join(p.serial_example for p in self.products)
        raise CatalogError(
            f"{single!r} is not a serial of any product in the catalog (e.g. {examples})"
        )

    def _by_part(self, part: str) -> Product:
        found = [p for p in self.products if p.matches_part(part)]
        if not found:
            raise CatalogError(f"unknown part number {part!r}")
        if len(found) > 1:
            raise CatalogError(f"part number {part!r} fits several products: fix the catalog")
        return found[0]


def load_catalog(extra: Path | None = None) -> Catalog:
    """The built-in products, plus those in ``extra`` when that file exists."""
    data = resources.files("qa_station.catalog").joinpath("products.toml").read_bytes()
    products = parse_products(data, "built-in catalog")
    if extra is not None and extra.is_file():
        try:
            products += parse_products(extra.read_bytes(), str(extra))
        except OSError as exc:
            raise CatalogError(f"catalog {extra}: cannot be read ({exc.strerror})") from None
    return Catalog(products)


def parse_products(data: bytes, origin: str) -> list[Product]:
    """A catalog file's products; CatalogError naming the key at fault otherwise."""
    doc = read_model(CatalogFile, data, f"catalog {origin}", CatalogError)
    return [p.to_product() for p in doc.product]


# -- the file's shape -----------------------------------------------------------------------------


def _filled(value: str) -> str:
    if not value.strip():
        raise ValueError("found an empty string")
    return value


Filled = Annotated[str, AfterValidator(_filled), Field(description="a non-empty string")]


class EndTable(StrictModel):
    """``{ label = "A", connector = "mpo12", fiber = "sm", rules = "..." }``: one end."""

    label: str = Field(
        pattern=r"^[A-Za-z0-9_-]{1,16}$", description="1-16 letters, digits, '-' or '_'"
    )
    connector: str = Field(description=f"one of {', '.join(CONNECTORS)}")
    fiber: Literal["sm", "mm"] = Field(description=f"one of {', '.join(FIBERS)}")
    gender: Literal["male", "female"] | None = Field(
        default=None, description=f"one of {', '.join(GENDERS)}"
    )
    rules: str = Field(description="a rule set name or a path to a rule file")

    @field_validator("connector")
    @classmethod
    def _connector(cls, value: str) -> str:
        if value not in CONNECTORS:
            raise ValueError(f"found {value!r}")
        return value

    @model_validator(mode="after")
    def _rules_fit(self) -> EndTable:
        try:
            ruleset = load_rules(self.rules)
        except RuleFileError as exc:
            raise KeyFault("rules", f"a rule set that loads ({exc})") from None
        geometry = connector(self.connector)
        mismatch = polish_mismatch(geometry, ruleset)
        if mismatch:
            raise KeyFault("rules", f"{geometry.polish.upper()} rules ({mismatch})")
        if ruleset.fiber and ruleset.fiber != self.fiber:
            raise KeyFault(
                "rules",
                f"rules for {self.fiber.upper()} fibre; found {self.rules} ({ruleset.fiber})",
            )
        return self

    def to_end(self) -> EndDefinition:
        return EndDefinition(self.label, self.connector, self.fiber, self.gender, self.rules)


class ProductTable(StrictModel):
    """One ``[[product]]`` table (``products.toml`` shows every key)."""

    id: Filled
    name: Filled
    part_numbers: list[Annotated[str, Field(min_length=1)]] = Field(
        min_length=1, description="a non-empty array of part-number patterns"
    )
    serial_pattern: str = Field(
        description="a regular expression RE2 runs in linear time, without backreferences or "
        "look-around"
    )
    serial_example: Filled
    ends: list[EndTable] = Field(min_length=1, description="a non-empty array of end tables")
    policy: Literal["clean-if-fail", "always-clean"] = Field(
        default="clean-if-fail", description=f"one of {', '.join(POLICIES)}"
    )
    polarity: Filled | None = Field(default=None, description="a polarity such as 'A', 'B' or 'C'")
    exposure_limit_s: float = Field(
        default=DEFAULT_EXPOSURE_LIMIT_S, gt=0, description="a positive number of seconds"
    )
    max_clean_cycles: int = Field(
        default=DEFAULT_MAX_CLEAN_CYCLES, ge=1, description="an integer >= 1"
    )

    @field_validator("serial_pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("found an empty string")
        try:
            serial_regex(value)
        except re2.error as exc:
            why = exc.args[0] if exc.args else "not a pattern"
            why = why.decode("utf-8", "replace") if isinstance(why, bytes) else str(why)
            raise ValueError(shown(why[:120])) from None
        except (RecursionError, OverflowError, MemoryError):
            raise ValueError("too large or too deep") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ProductTable:
        if serial_regex(self.serial_pattern).fullmatch(self.serial_example) is None:
            raise KeyFault("serial_example", "an example that matches serial_pattern")
        labels = [e.label for e in self.ends]
        if len(set(labels)) != len(labels):
            raise KeyFault("ends", f"unique end labels; found {labels}")
        return self

    def to_product(self) -> Product:
        return Product(
            id=self.id,
            name=self.name,
            part_numbers=tuple(self.part_numbers),
            serial_pattern=self.serial_pattern,
            serial_example=self.serial_example,
            ends=tuple(e.to_end() for e in self.ends),
            policy=self.policy,
            polarity=self.polarity,
            exposure_limit_s=self.exposure_limit_s,
            max_clean_cycles=self.max_clean_cycles,
        )


class CatalogFile(StrictModel):
    schema_: Literal[1] = Field(alias="schema", description="1")
    product: list[ProductTable] = Field(min_length=1, description="one or more [[product]] tables")
