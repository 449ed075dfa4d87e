"""Checks for probe settings, so a wrong configuration fails at construction, by name."""

from __future__ import annotations

import math


def positive(name: str, value: float) -> float:
    """A finite number above zero (a time, a rate, a scale)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number above 0, not {value!r}")
    return float(value)


def optional_positive(name: str, value: float | None) -> float | None:
    return None if value is None else positive(name, value)


def non_negative(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number of at least 0, not {value!r}")
    return float(value)


def probe_id(value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"probe_id must be a non-empty string, not {value!r}")
    return value


def resolution(value: tuple[int, int] | None) -> tuple[int, int] | None:
    if value is None:
        return None
    ok = (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    )
    if not ok:
        raise ValueError(
            f"resolution must be (width, height) in whole pixels above 0, not {value!r}"
        )
    return int(value[0]), int(value[1])


def optional_finite(name: str, value: float | None) -> float | None:
    """Any finite number (driver units, which may be negative), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    return float(value)
