"""The product catalog: which assembly a serial is, and what each of its ends is.

The rule set always comes from here, so an operator cannot grade an end
against the wrong table. Built-in examples ship in ``products.toml``; a
factory adds its own in ``<station config>/products.toml`` (same shape).
"""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import re2

from grading.geometry import CONNECTORS, ConnectorGeometry, connector
from grading.rules import RuleFileError, RuleSet, finite, load_rules, shown, toml_document

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
    origin = shown(origin)

    def fail(key: str, expected: str) -> None:
        raise CatalogError(f"catalog {origin}: key '{shown(key)}': expected {expected}")

    try:
        doc = toml_document(data.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError is one
        raise CatalogError(f"catalog {origin}: not valid TOML ({exc})") from None
    if doc.get("schema") != 1:
        fail("schema", f"1; found {doc.get('schema')!r}")
    raw_products = doc.get("product")
    if not isinstance(raw_products, list) or not raw_products:
        fail("product", "one or more [[product]] tables")
    known = {
        "id",
        "name",
        "part_numbers",
        "serial_pattern",
        "serial_example",
        "ends",
        "policy",
        "polarity",
        "exposure_limit_s",
        "max_clean_cycles",
    }
    out = []
    for i, p in enumerate(raw_products):
        where = f"product[{i}]"
        if not isinstance(p, dict):
            fail(where, "a table")
        for k in p:
            if k not in known:
                fail(f"{where}.{k}", f"one of {', '.join(sorted(known))}; unknown key")
        for k in ("id", "name", "serial_pattern", "serial_example"):
            if not isinstance(p.get(k), str) or not p[k].strip():
                fail(f"{where}.{k}", "a non-empty string")
        try:
            regex = serial_regex(p["serial_pattern"])
        except re2.error as exc:
            why = exc.args[0] if exc.args else "not a pattern"
            why = why.decode("utf-8", "replace") if isinstance(why, bytes) else str(why)
            fail(
                f"{where}.serial_pattern",
                "a regular expression RE2 runs in linear time, without backreferences or "
                f"look-around ({shown(why[:120])})",
            )
        except (RecursionError, OverflowError, MemoryError):
            fail(f"{where}.serial_pattern", "a regular expression (too large or too deep)")
        if regex.fullmatch(p["serial_example"]) is None:
            fail(f"{where}.serial_example", "an example that matches serial_pattern")
        parts = p.get("part_numbers")
        if (
            not isinstance(parts, list)
            or not parts
            or not all(isinstance(x, str) and x for x in parts)
        ):
            fail(f"{where}.part_numbers", "a non-empty array of part-number patterns")
        policy = p.get("policy", "clean-if-fail")
        if policy not in POLICIES:
            fail(f"{where}.policy", f"one of {', '.join(POLICIES)}; found {policy!r}")
        limit = p.get("exposure_limit_s", DEFAULT_EXPOSURE_LIMIT_S)
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int | float)
            or not limit > 0
            or not finite(limit)
        ):
            fail(f"{where}.exposure_limit_s", "a positive number of seconds")
        cycles = p.get("max_clean_cycles", DEFAULT_MAX_CLEAN_CYCLES)
        if isinstance(cycles, bool) or not isinstance(cycles, int) or cycles < 1:
            fail(f"{where}.max_clean_cycles", "an integer >= 1")
        polarity = p.get("polarity")
        if polarity is not None and (not isinstance(polarity, str) or not polarity.strip()):
            fail(f"{where}.polarity", f"a polarity such as 'A', 'B' or 'C'; found {polarity!r}")
        ends = p.get("ends")
        if not isinstance(ends, list) or not ends:
            fail(f"{where}.ends", "a non-empty array of end tables")
        defs = [_end(e, f"{where}.ends[{j}]", fail) for j, e in enumerate(ends)]
        labels = [d.label for d in defs]
        if len(set(labels)) != len(labels):
            fail(f"{where}.ends", f"unique end labels; found {labels}")
        out.append(
            Product(
                id=p["id"],
                name=p["name"],
                part_numbers=tuple(parts),
                serial_pattern=p["serial_pattern"],
                serial_example=p["serial_example"],
                ends=tuple(defs),
                policy=policy,
                polarity=polarity,
                exposure_limit_s=float(limit),
                max_clean_cycles=int(cycles),
            )
        )
    return out


def _end(e, where: str, fail) -> EndDefinition:
    if not isinstance(e, dict):
        fail(where, "a table")
    allowed = {"label", "connector", "fiber", "gender", "rules"}
    for k in e:
        if k not in allowed:
            fail(f"{where}.{k}", f"one of {', '.join(sorted(allowed))}; unknown key")
    label = e.get("label")
    if not isinstance(label, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,16}", label):
        fail(f"{where}.label", "1-16 letters, digits, '-' or '_'")
    if not isinstance(e.get("connector"), str) or e["connector"] not in CONNECTORS:
        fail(f"{where}.connector", f"one of {', '.join(CONNECTORS)}; found {e.get('connector')!r}")
    if e.get("fiber") not in FIBERS:
        fail(f"{where}.fiber", f"one of {', '.join(FIBERS)}; found {e.get('fiber')!r}")
    gender = e.get("gender")
    if gender is not None and gender not in GENDERS:
        fail(f"{where}.gender", f"one of {', '.join(GENDERS)}; found {gender!r}")
    rules = e.get("rules")
    if not isinstance(rules, str):
        fail(f"{where}.rules", "a rule set name or a path to a rule file")
    try:
        ruleset = load_rules(rules)
    except RuleFileError as exc:
        fail(f"{where}.rules", f"a rule set that loads ({exc})")
    geometry = connector(e["connector"])
    if geometry.polish and ruleset.polish and geometry.polish != ruleset.polish:
        fail(
            f"{where}.rules",
            f"{geometry.polish.upper()} rules for a {geometry.name} end; found {rules}",
        )
    if ruleset.fiber and ruleset.fiber != e["fiber"]:
        fail(
            f"{where}.rules",
            f"rules for {e['fiber'].upper()} fibre; found {rules} ({ruleset.fiber})",
        )
    return EndDefinition(
        label=label, connector=e["connector"], fiber=e["fiber"], gender=gender, rules=rules
    )
