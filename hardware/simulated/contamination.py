"""How dirt behaves on a simulated end face: cleaning, mating, exposure.

The rules follow the cleaning reference the product grew from
(shared/seeds/000): dry cleaning takes most loose dust but smears oil and
residue; wet-to-dry (solvent on the cleaning medium) lifts residue;
scratches, pits and chips are permanent; a dirty adapter puts particles back
when only the connector was cleaned; a cleaned face left uncapped picks up
dust over minutes. And from the cassette bulletin (seeds/001): a pinned (male)
MT connector wiped on a standard cassette barely touches the fibre array.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from hardware.cleaning import DRY_METHODS, METHODS, WET_METHODS
from hardware.optics.scene import Feature

Centres = tuple[tuple[float, float], ...]  # fibre centres on the end face, um

# Share of loose dust each method lifts in one cleaning.
DUST_REMOVAL = {"dry-one-click": 0.92, "dry-cassette": 0.95, "wet-to-dry": 0.97}
RESIDUE_REMOVAL_WET = 0.96
MALE_ON_STANDARD_CASSETTE = 0.3  # the pins hold the ribbon off the fibres
SMEAR_GROWTH = (1.3, 1.7)  # dry wiping spreads oil over a larger area
SMEAR_FADE = 0.8  # ...and thins it
EXPOSURE_RATE_PER_MIN = 0.25  # particles landing on the fibre area of an uncapped face
MATING_TRANSFER = (2, 6)  # particles a dirty adapter leaves on the fibres


@dataclass
class EndFaceDirt:
    """The dirt on one assembly end and on the adapter it will mate with."""

    features: list[Feature] = field(default_factory=list)
    adapter_dirt: int = 0  # particles waiting in the mating adapter
    capped: bool = True
    uncapped_since: float | None = None
    version: int = 0  # bumps on every change, so renderings can be cached

    def touch(self) -> None:
        self.version += 1


@dataclass(frozen=True)
class CleanReport:
    removed: int
    smeared: int
    remaining: int


def clean(
    dirt: EndFaceDirt,
    method: str,
    rng: np.random.Generator,
    male: bool = False,
    male_tool: bool = True,
) -> CleanReport:
    """One cleaning of the connector face by ``method``.

    ``male_tool``: for a pinned connector on a cassette, whether the cassette is
    the male-MT kind (slotted backing that lets the ribbon reach the fibres).
    """
    if method not in METHODS:
        raise ValueError(f"unknown cleaning method {method!r}; known: {', '.join(METHODS)}")
    reach = 1.0
    if male and method == "dry-cassette" and not male_tool:
        reach = MALE_ON_STANDARD_CASSETTE
    wipe = rng.uniform(0, 2 * math.pi)  # one direction across the ribbon
    kept: list[Feature] = []
    removed = smeared = 0
    for f in dirt.features:
        if not f.loose:
            kept.append(f)  # scratches, pits and chips are in the glass
            continue
        if f.oily:
            if method in WET_METHODS and rng.random() < RESIDUE_REMOVAL_WET * reach:
                removed += 1
                continue
            if method in DRY_METHODS and rng.random() < reach:
                kept.append(_smear(f, wipe, rng))
                smeared += 1
                continue
            kept.append(f)
            continue
        if rng.random() < DUST_REMOVAL[method] * reach:
            removed += 1
            continue
        kept.append(_nudge(f, wipe, rng))
    dirt.features = kept
    dirt.touch()
    return CleanReport(removed=removed, smeared=smeared, remaining=len(kept))


def clean_adapter(dirt: EndFaceDirt, rng: np.random.Generator) -> None:
    """Cleaning the adapter (with the connector: seed 000 treats them as one task)."""
    dirt.adapter_dirt = int(rng.random() < 0.05)


def expose(
    dirt: EndFaceDirt, now: float, fibre_centres_um: Centres, rng: np.random.Generator
) -> int:
    """Dust that landed on an uncapped face since it was last looked at; returns how many."""
    if dirt.capped or dirt.uncapped_since is None:
        return 0
    minutes = max(0.0, now - dirt.uncapped_since) / 60.0
    n = int(rng.poisson(EXPOSURE_RATE_PER_MIN * minutes))
    dirt.uncapped_since = now
    for _ in range(n):
        dirt.features.append(dust_on_fibres(fibre_centres_um, rng))
    if n:
        dirt.touch()
    return n


def mate(dirt: EndFaceDirt, fibre_centres_um: Centres, rng: np.random.Generator) -> int:
    """Insert into the adapter: a dirty adapter leaves particles on the fibres."""
    if dirt.adapter_dirt <= 0:
        return 0
    n = int(rng.integers(MATING_TRANSFER[0], MATING_TRANSFER[1] + 1))
    for _ in range(n):
        dirt.features.append(dust_on_fibres(fibre_centres_um, rng))
    dirt.adapter_dirt = max(0, dirt.adapter_dirt - 1)
    dirt.touch()
    return n


def dust_on_fibres(
    fibre_centres_um: Centres, rng: np.random.Generator, size_um: float | None = None
) -> Feature:
    """A loose dust particle on (or near) one of the fibres."""
    fx, fy = fibre_centres_um[int(rng.integers(len(fibre_centres_um)))]
    r = 57.0 * math.sqrt(rng.random())
    a = rng.uniform(0, 2 * math.pi)
    size = (
        size_um
        if size_um is not None
        else float(math.exp(rng.uniform(math.log(1.5), math.log(12))))
    )
    return Feature(
        "particle",
        (fx + r * math.cos(a), fy + r * math.sin(a)),
        size,
        contrast=float(rng.uniform(-0.65, -0.35)),
        seed=int(rng.integers(1 << 30)),
        loose=True,
    )


def _smear(f: Feature, wipe: float, rng: np.random.Generator) -> Feature:
    growth = rng.uniform(*SMEAR_GROWTH)
    shift = f.size_um * rng.uniform(0.2, 0.5)
    return replace(
        f,
        kind="residue",
        center_um=(
            f.center_um[0] + shift * math.cos(wipe),
            f.center_um[1] + shift * math.sin(wipe),
        ),
        size_um=f.size_um * growth,
        contrast=f.contrast * SMEAR_FADE,
        seed=int(rng.integers(1 << 30)),
    )


def _nudge(f: Feature, wipe: float, rng: np.random.Generator) -> Feature:
    """Dust the wipe did not lift still moves a little along it."""
    d = rng.uniform(2.0, 15.0)
    return replace(
        f, center_um=(f.center_um[0] + d * math.cos(wipe), f.center_um[1] + d * math.sin(wipe))
    )
