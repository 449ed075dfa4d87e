"""A dataclass made from another object that holds its fields under the same names.

Many types here are projections of another: a located cladding is its fitted edge
without the fit's statistics, a zone as graded is the rule table's zone without its
limits, and the application's reports draw its record's entries. ``projected`` copies
the fields the two share by name, so that list is not written out again at each place
one is made from the other. ``fields_dict`` is the same walk the other way: a
record's fields as the dict it is written out as. Both live in ``grading``, the
lowest layer that needs them; ``reports`` and ``qa_station`` import them from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


def projected(cls: type[T], source: object, **given: Any) -> T:
    """A ``cls`` with the ``given`` fields, and each other field read from ``source``'s
    attribute of its name (one ``source`` lacks is an error, never the field's default)."""
    shared = {
        f.name: getattr(source, f.name) for f in fields(cls) if f.init and f.name not in given
    }
    return cls(**shared, **given)


def fields_dict(
    record: DataclassInstance, rename: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A dataclass's fields as a dict in field order, each key renamed where ``rename`` says.

    Unlike ``dataclasses.asdict`` the values are the record's own (nothing copied, nested
    records left as they are), so the dict costs one pass over the fields."""
    names = rename or {}
    return {names.get(f.name, f.name): getattr(record, f.name) for f in fields(record)}
