"""Connector and fiber geometry: the one place these dimensions live.

Coordinates are micrometres in the end-face view with the key up, origin at
the ferrule centre, x to the right and y *down* (the same way round as image
rows), so position 1 of an MT row is the leftmost fibre of the top row.
Sources: IEC 61754-7 / TIA-604-5 (MT, MPO), TIA-604-18 (MPO-16); see
REFERENCE.md section 3.
"""

from __future__ import annotations

from dataclasses import dataclass

CLADDING_DIAMETER_UM = 125.0
MT_PITCH_UM = 250.0
MT_ROW_SPACING_UM = 500.0

# Core diameters by fibre type; the rule set names the type (sm / mm).
CORE_DIAMETER_UM = {"sm": 9.2, "mm50": 50.0, "mm62.5": 62.5}


@dataclass(frozen=True)
class ConnectorGeometry:
    """A connector's ferrule and where its fibres sit on it."""

    name: str
    family: str  # "single" (ceramic ferrule, one fibre) or "mt" (rectangular array)
    polish: str | None  # "pc" / "apc" when the type fixes it; None for MT (either exists)
    ferrule: str  # "ceramic" or "mt"
    ferrule_size_um: tuple[float, float]  # (width, height); a ceramic ferrule is round
    fiber_positions_um: tuple[tuple[float, float], ...]  # fibre 1 first
    slot_numbers: tuple[int, ...]  # which ferrule position each fibre occupies
    rows: int
    guide_hole_positions_um: tuple[tuple[float, float], ...] = ()
    guide_hole_diameter_um: float = 0.0
    cladding_diameter_um: float = CLADDING_DIAMETER_UM

    @property
    def fiber_count(self) -> int:
        return len(self.fiber_positions_um)

    @property
    def is_multi_fiber(self) -> bool:
        return self.family == "mt"


def _row(n: int, y_um: float) -> list[tuple[float, float]]:
    half = (n - 1) / 2.0
    return [((i - half) * MT_PITCH_UM, y_um) for i in range(n)]


def _mt(
    name: str, per_row: int, rows: int, used_slots: list[int] | None = None
) -> ConnectorGeometry:
    if rows == 1:
        slots = _row(per_row, 0.0)
    else:
        half = MT_ROW_SPACING_UM / 2.0
        slots = _row(per_row, -half) + _row(per_row, half)
    numbers = used_slots or list(range(1, len(slots) + 1))
    hole_d = 550.0 if per_row == 16 else 700.0
    return ConnectorGeometry(
        name=name,
        family="mt",
        polish=None,
        ferrule="mt",
        ferrule_size_um=(6400.0, 2500.0),
        fiber_positions_um=tuple(slots[n - 1] for n in numbers),
        slot_numbers=tuple(numbers),
        rows=rows,
        guide_hole_positions_um=((-2300.0, 0.0), (2300.0, 0.0)),
        guide_hole_diameter_um=hole_d,
    )


def _single(name: str, ferrule_diameter_um: float, polish: str) -> ConnectorGeometry:
    return ConnectorGeometry(
        name=name,
        family="single",
        polish=polish,
        ferrule="ceramic",
        ferrule_size_um=(ferrule_diameter_um, ferrule_diameter_um),
        fiber_positions_um=((0.0, 0.0),),
        slot_numbers=(1,),
        rows=1,
    )


CONNECTORS: dict[str, ConnectorGeometry] = {
    g.name: g
    for g in (
        _single("lc-upc", 1250.0, "pc"),
        _single("lc-apc", 1250.0, "apc"),
        _single("sc-upc", 2500.0, "pc"),
        _single("sc-apc", 2500.0, "apc"),
        # MPO-8 uses the 12-position ferrule with the middle four positions empty.
        _mt("mpo8", 12, 1, used_slots=[1, 2, 3, 4, 9, 10, 11, 12]),
        _mt("mpo12", 12, 1),
        _mt("mpo16", 16, 1),
        _mt("mpo24", 12, 2),
        _mt("mpo32", 16, 2),
    )
}


class UnknownConnectorError(ValueError):
    """Raised for a connector type name the station does not know."""


def connector(name: str) -> ConnectorGeometry:
    try:
        return CONNECTORS[name]
    except KeyError:
        known = ", ".join(CONNECTORS)
        raise UnknownConnectorError(
            f"unknown connector type {name!r}; known types: {known}"
        ) from None
