"""The station's data files (rule tables, station config, product catalog): one way to read them.

Each file's shape is a strict pydantic model (``StrictModel``: unknown keys, wrong types,
NaN and infinity refused, nothing coerced); ``read_model`` decodes, parses and validates
it, and turns whatever is wrong into one line naming the file, the key and what was
expected. It is its own package, below ``grading`` and ``qa_station``, because both read
data files and ``grading`` may not import the application.
"""

from __future__ import annotations

import math
import tomllib
import types
import typing
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = [
    "KeyFault",
    "StrictModel",
    "finite",
    "read_model",
    "shown",
    "toml_document",
]

M = TypeVar("M", bound="StrictModel")
_TABLE_ERRORS = frozenset({"model_type", "model_attributes_type", "dict_type"})


class StrictModel(BaseModel):
    """A table of a data file: its keys and nothing else, each of its declared type.

    A field's ``description`` is what a refusal says was expected (``"a positive number"``),
    so the words for a key live next to its type.
    """

    model_config = ConfigDict(
        extra="forbid", strict=True, allow_inf_nan=False, frozen=True, populate_by_name=True
    )
    # How a refusal calls this table's keys ("sections" for the config's top level).
    KEYS_NAME: ClassVar[str] = "keys"


class KeyFault(ValueError):
    """Raised by a validator: ``key`` (below the validated table) is wrong; expected ``text``.

    For rules that span keys (zones listed outwards, an example that fits its pattern),
    where the key at fault is not the one pydantic was validating.
    """

    def __init__(self, key: str | tuple[str | int, ...], expected: str) -> None:
        super().__init__(expected)
        self.key: tuple[str | int, ...] = (key,) if isinstance(key, str) else tuple(key)
        self.expected = expected


def read_model(model: type[M], data: bytes, what: str, error: type[Exception]) -> M:
    """``data`` (a TOML file's bytes) as ``model``; else ``error("<what>: ...")`` in one line."""
    what = shown(what)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{what}: not UTF-8 text") from None
    try:
        doc = toml_document(text)
    except ValueError as exc:
        raise error(f"{what}: not valid TOML ({exc})") from None
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        key, expected = describe(model, exc.errors()[0])
        raise error(f"{what}: key '{shown(key)}': expected {expected}") from None
    except RecursionError:  # a value nested past what validation can walk
        raise error(f"{what}: arrays or tables nested too deeply") from None


def describe(model: type[StrictModel], err: Any) -> tuple[str, str]:
    """The key and the expectation of one pydantic error, in the station's words."""
    loc: tuple[str | int, ...] = tuple(err["loc"])
    kind = err["type"]
    if kind == "missing":
        return key_path(loc), "this key to be present; it is missing"
    if kind == "extra_forbidden":
        table = _model_at(model, loc[:-1]) or model
        names = ", ".join(sorted(f.alias or n for n, f in table.model_fields.items()))
        return key_path(loc), f"one of the {table.KEYS_NAME} {names}; unknown key"
    fault = (err.get("ctx") or {}).get("error")
    if isinstance(fault, KeyFault):
        return key_path(loc + fault.key), fault.expected
    in_table = bool(loc) and isinstance(loc[-1], int) and _model_at(model, loc) is not None
    field = None if in_table or not loc else _field_at(model, loc)
    wanted = _description(field) if field is not None else None
    if isinstance(fault, ValueError):  # a validator's own words: what was wrong
        return key_path(loc), f"{wanted} ({fault})" if wanted else str(fault)
    found = f"; found {_preview(err.get('input'))}"
    if kind in _TABLE_ERRORS or in_table:
        return key_path(loc), "a table" + found
    return key_path(loc), (wanted or err["msg"]) + found


def key_path(loc: tuple[str | int, ...]) -> str:
    """``('zones', 1, 'name')`` as ``zones[1].name``; the top level as ``(top level)``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _field_at(model: type[StrictModel], loc: tuple[str | int, ...]) -> Any:
    """The field that the last key of ``loc`` names (list indices after it skipped)."""
    names = [i for i, part in enumerate(loc) if isinstance(part, str)]
    if not names:
        return None
    last = names[-1]
    table = _model_at(model, loc[:last])
    return _field(table, str(loc[last])) if table is not None else None


def _model_at(model: type[StrictModel], loc: tuple[str | int, ...]) -> type[StrictModel] | None:
    """The table model at ``loc`` (an item of an array of tables included), or None."""
    current: Any = model
    for part in loc:
        if isinstance(part, str):
            field = _field(current, part) if _is_model(current) else None
            if field is None:
                return None
            current = _inner(field.annotation)
        elif not _is_model(current):
            return None
    return current if _is_model(current) else None


def _field(model: type[StrictModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


def _description(field: Any) -> str | None:
    """The field's description, or that of the type it is optional of (``Line | None``)."""
    if field.description:
        return str(field.description)
    for arm in typing.get_args(field.annotation):
        for meta in getattr(arm, "__metadata__", ()):
            if getattr(meta, "description", None):
                return str(meta.description)
    return None


def _inner(annotation: Any) -> Any:
    """The table type inside ``list[T]``, ``tuple[T, ...]``, ``T | None``, ``Annotated[T, ...]``."""
    while True:
        origin = typing.get_origin(annotation)
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if origin in (list, tuple, typing.Annotated, typing.Union, types.UnionType) and args:
            annotation = args[0]
        else:
            return annotation


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, StrictModel)


def _preview(value: Any, limit: int = 60) -> str:
    text = shown(repr(value))
    return text if len(text) <= limit else f"{text[:limit]}..."


def toml_document(text: str) -> dict[str, Any]:
    """``tomllib.loads``, with every way it fails as a ValueError whose message is one line.

    tomllib raises TOMLDecodeError for bad syntax, but a plain ValueError for an integer
    of more than 4300 digits and RecursionError for arrays nested a thousand deep.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(shown(str(exc))) from None
    except ValueError:
        raise ValueError("a number too long to read") from None
    except RecursionError:
        raise ValueError("arrays or tables nested too deeply") from None


def finite(value: float) -> bool:
    """A number a float can hold: TOML integers have no size limit, floats do."""
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond 1.8e308
        return False


def shown(text: str) -> str:
    """Text from a file or a caller as it can be shown on one line: unprintables escaped."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
