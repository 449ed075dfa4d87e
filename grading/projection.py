"""A dataclass made from another object that holds its fields under the same names.

Many types here are projections of another: a located cladding is its fitted edge
without the fit's statistics, a zone as graded is the rule table's zone without its
limits, and the application's reports draw its record's entries. ``projected`` copies
the fields the two share by name, so that list is not written out again at each place
one is made from the other. It lives in ``grading``, the lowest layer that needs it;
``reports`` and ``qa_station`` import it from here.
"""

from __future__ import annotations

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
