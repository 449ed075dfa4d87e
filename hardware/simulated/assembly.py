"""A virtual cable assembly: its ends and the dirt on them, the same for the same serial.

The application tells the bench what the ends are (from its product
catalog); the bench decides, from the serial number alone, how dirty each end
is, so a demo, a test and a second look at the same serial agree.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np

from hardware.optics.scene import Feature, FerruleLayout
from hardware.simulated.contamination import Centres, EndFaceDirt, dust_on_fibres

SCENARIOS = ("clean", "dusty", "oily", "damaged", "dirty-adapter", "male", "female", "gauge")
# How often each turns up on a simulated production line when none is asked for.
LINE_MIX = (
    ("clean", 0.35),
    ("dusty", 0.35),
    ("oily", 0.12),
    ("damaged", 0.06),
    ("dirty-adapter", 0.12),
)
FOCUS_HOME = 2000  # focus motor steps where a well-seated connector is near focus


@dataclass(frozen=True)
class EndSpec:
    """What one end of the assembly is (the application knows this from its catalog)."""

    label: str
    layout: FerruleLayout
    fiber: str = "sm"  # "sm" or "mm"
    polish: str = "pc"  # "pc" or "apc"
    gender: str | None = None  # "male" (pins), "female" (holes); None for single-fibre


@dataclass
class VirtualEnd:
    spec: EndSpec
    dirt: EndFaceDirt
    texture_seed: int
    best_focus: int  # motor steps at which this end is sharp (before drift)
    male: bool = False

    @property
    def fibre_centres_um(self) -> tuple[tuple[float, float], ...]:
        return tuple(self.spec.layout.fiber_positions_um)


@dataclass
class VirtualAssembly:
    serial: str
    scenario: str
    ends: dict[str, VirtualEnd] = field(default_factory=dict)
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))

    @classmethod
    def build(
        cls, serial: str, ends: list[EndSpec], scenario: str | None = None
    ) -> VirtualAssembly:
        if not ends:
            raise ValueError("an assembly needs at least one end")
        labels = [e.label for e in ends]
        if len(set(labels)) != len(labels):
            raise ValueError(f"end labels must be unique, got {labels}")
        rng = np.random.default_rng(serial_seed(serial))
        if scenario is None:
            names, weights = zip(*LINE_MIX, strict=True)
            scenario = str(rng.choice(names, p=np.array(weights) / sum(weights)))
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
        assembly = cls(serial=serial, scenario=scenario, rng=rng)
        damaged = str(rng.choice(labels))  # the damage is on one end only
        for spec in ends:
            male = spec.gender == "male" or (scenario == "male" and spec.layout.ferrule == "mt")
            if scenario == "female":
                male = False
            end = VirtualEnd(
                spec=spec,
                dirt=EndFaceDirt(),
                texture_seed=int(rng.integers(1 << 30)),
                best_focus=FOCUS_HOME + int(rng.normal(0, 120)),
                male=male,
            )
            _dirty(end, scenario, rng, damage=(spec.label == damaged))
            assembly.ends[spec.label] = end
        return assembly


def serial_seed(serial: str) -> int:
    return int.from_bytes(hashlib.sha256(serial.encode("utf-8")).digest()[:8], "big")


def _dirty(end: VirtualEnd, scenario: str, rng: np.random.Generator, damage: bool) -> None:
    centres = end.fibre_centres_um
    n_fibres = len(centres)
    feats: list[Feature] = []
    feats += _ferrule_debris(end, rng, int(rng.integers(0, 4)))
    if scenario in ("dusty", "male", "female"):
        for _ in range(int(rng.poisson(1.2 * n_fibres)) + 1):
            feats.append(dust_on_fibres(centres, rng))
        feats += _ferrule_debris(end, rng, int(rng.integers(4, 16)))
    elif scenario == "oily":
        for _ in range(int(rng.integers(1, 4))):
            feats.append(_oil(centres, rng))
        for _ in range(int(rng.integers(0, 3))):
            feats.append(dust_on_fibres(centres, rng))
    elif scenario == "damaged":
        for _ in range(int(rng.integers(0, 3))):
            feats.append(dust_on_fibres(centres, rng))
        if damage:
            feats += _damage(centres, rng)
    elif scenario == "gauge":
        # A reference connector for repeatability studies: one particle held in zone B of
        # every fibre (fixed: it neither blows away nor lands elsewhere), 5-10 um on odd
        # fibres and 2.5-4.5 um on even ones, so single-mode tables fail half of them.
        for i, (fx, fy) in enumerate(centres):
            a, r = rng.uniform(0, 2 * math.pi), rng.uniform(24.0, 46.0)
            size = rng.uniform(5.0, 10.0) if i % 2 == 0 else rng.uniform(2.5, 4.5)
            feats.append(
                Feature(
                    "particle",
                    (fx + r * math.cos(a), fy + r * math.sin(a)),
                    float(size),
                    contrast=float(rng.uniform(-0.6, -0.4)),
                    seed=int(rng.integers(1 << 30)),
                    loose=False,
                )
            )
    elif scenario == "dirty-adapter":
        for _ in range(int(rng.integers(0, 3))):
            feats.append(dust_on_fibres(centres, rng))
        end.dirt.adapter_dirt = 3
    end.dirt.features = feats
    end.dirt.touch()


def _oil(centres: Centres, rng: np.random.Generator) -> Feature:
    """A fingerprint smear: faint, large, and it spreads when wiped dry."""
    fx, fy = centres[int(rng.integers(len(centres)))]
    a = rng.uniform(0, 2 * math.pi)
    r = rng.uniform(0, 30)
    return Feature(
        "residue",
        (fx + r * math.cos(a), fy + r * math.sin(a)),
        float(rng.uniform(18, 45)),
        contrast=float(rng.uniform(-0.2, -0.12)),
        seed=int(rng.integers(1 << 30)),
        loose=True,
        oily=True,
    )


def _damage(centres: Centres, rng: np.random.Generator) -> list[Feature]:
    """A polishing scratch through the core, or a pit in it: permanent."""
    fx, fy = centres[int(rng.integers(len(centres)))]
    if rng.random() < 0.6:
        return [
            Feature(
                "scratch",
                (fx + rng.uniform(-4, 4), fy + rng.uniform(-4, 4)),
                float(rng.uniform(2.0, 4.5)),
                contrast=float(rng.uniform(-0.35, -0.2)),
                length_um=float(rng.uniform(40, 90)),
                angle_deg=float(rng.uniform(0, 180)),
                seed=int(rng.integers(1 << 30)),
                loose=False,
            )
        ]
    return [
        Feature(
            "pit",
            (fx + rng.uniform(-3, 3), fy + rng.uniform(-3, 3)),
            float(rng.uniform(3.0, 6.0)),
            contrast=-0.6,
            seed=int(rng.integers(1 << 30)),
            loose=False,
        )
    ]


def _ferrule_debris(end: VirtualEnd, rng: np.random.Generator, n: int) -> list[Feature]:
    """Wear debris on the ferrule away from the fibres (slider, clips, pins, caps)."""
    w, h = end.spec.layout.ferrule_size_um
    out = []
    for _ in range(n):
        for _ in range(20):
            if end.spec.layout.ferrule == "mt":
                x, y = (
                    rng.uniform(-w / 2 + 100, w / 2 - 100),
                    rng.uniform(-h / 2 + 100, h / 2 - 100),
                )
            else:
                rr, a = rng.uniform(90, w / 2 - 40), rng.uniform(0, 2 * math.pi)
                x, y = rr * math.cos(a), rr * math.sin(a)
            if min(math.hypot(x - cx, y - cy) for cx, cy in end.fibre_centres_um) > 80:
                break
        out.append(
            Feature(
                "particle",
                (float(x), float(y)),
                float(rng.uniform(4, 30)),
                contrast=float(rng.uniform(-0.6, -0.3)),
                seed=int(rng.integers(1 << 30)),
            )
        )
    return out
