"""Grading results: plain dataclasses with the JSON shape of DESIGN.md section 5.

The CLI prints ``to_dict()``; the store keeps the same dictionaries, and
``from_dict`` reads them back, so there is one serialisation everywhere.
Consumers must ignore keys they do not know (``failures``, ``length_um``...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grading.projection import fields_dict

PASS = "pass"
FAIL = "fail"
ERROR = "error"
VERDICTS = (PASS, FAIL, ERROR)

Point = tuple[float, float]


def _pt(p: Point) -> list[float]:
    return [round(float(p[0]), 2), round(float(p[1]), 2)]


@dataclass(frozen=True)
class Defect:
    """One region defect or scratch, measured in micrometres and placed in a zone."""

    kind: str  # "defect" (particle, pit, chip, residue) or "scratch"
    zone: str  # the zone it is counted in
    size_um: float  # defect: smallest enclosing circle diameter; scratch: width
    center_px: Point
    length_um: float | None = None  # scratches only
    ends_px: tuple[Point, Point] | None = None  # scratches only: the line drawn on overlays

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "kind": self.kind,
            "zone": self.zone,
            "size_um": round(float(self.size_um), 2),
            "center_px": _pt(self.center_px),
        }
        if self.length_um is not None:
            d["length_um"] = round(float(self.length_um), 1)
        if self.ends_px is not None:
            d["ends_px"] = [_pt(self.ends_px[0]), _pt(self.ends_px[1])]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Defect:
        ends = d.get("ends_px")
        return cls(
            kind=d["kind"],
            zone=d["zone"],
            size_um=float(d["size_um"]),
            center_px=(float(d["center_px"][0]), float(d["center_px"][1])),
            length_um=None if d.get("length_um") is None else float(d["length_um"]),
            ends_px=None if ends is None else (tuple(ends[0]), tuple(ends[1])),
        )


@dataclass(frozen=True)
class FiberResult:
    index: int  # 1-based; left to right, top row first (or the fixture's fibre number)
    center_px: Point
    diameter_px: float  # measured cladding diameter (horizontal, in image pixels)
    verdict: str
    defects: tuple[Defect, ...] = ()
    failures: tuple[str, ...] = ()  # each limit this fibre broke, in words
    error: str | None = None
    coverage: dict[str, float] = field(default_factory=dict)  # zone name -> share in the frame
    diameter_px_y: float | None = None  # vertical, when the frame's pixels are not square

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "index": self.index,
            "center_px": _pt(self.center_px),
            "diameter_px": round(float(self.diameter_px), 2),
            "verdict": self.verdict,
            "defects": [x.to_dict() for x in self.defects],
            "failures": list(self.failures),
        }
        if self.diameter_px_y is not None:
            d["diameter_px_y"] = round(float(self.diameter_px_y), 2)
        if self.coverage:
            d["coverage"] = {k: round(float(v), 3) for k, v in self.coverage.items()}
        if self.error is not None:
            d["error"] = self.error
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FiberResult:
        return cls(
            index=int(d["index"]),
            center_px=(float(d["center_px"][0]), float(d["center_px"][1])),
            diameter_px=float(d.get("diameter_px", 0.0)),
            verdict=d["verdict"],
            defects=tuple(Defect.from_dict(x) for x in d.get("defects", [])),
            failures=tuple(d.get("failures", [])),
            error=d.get("error"),
            coverage={str(k): float(v) for k, v in (d.get("coverage") or {}).items()},
            diameter_px_y=None if d.get("diameter_px_y") is None else float(d["diameter_px_y"]),
        )


@dataclass(frozen=True)
class ZoneShape:
    """A zone as it was graded: the result draws its own zones, whatever the rule file
    says later."""

    name: str
    label: str
    inner_diameter_um: float
    outer_diameter_um: float
    graded: bool = True  # has limits for this connector (MT ferrules grade A and B only)
    min_coverage: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return fields_dict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ZoneShape:
        return cls(
            name=str(d["name"]),
            label=str(d.get("label", d["name"])),
            inner_diameter_um=float(d["inner_diameter_um"]),
            outer_diameter_um=float(d["outer_diameter_um"]),
            graded=bool(d.get("graded", True)),
            min_coverage=float(d.get("min_coverage", 1.0)),
        )


@dataclass(frozen=True)
class EndFaceResult:
    verdict: str
    um_per_px: float | None
    rules: str
    connector: str
    fibers: tuple[FiberResult, ...] = ()
    image: str | None = None
    error: str | None = None
    scale_source: str | None = None  # "given", "pitch" or "cladding"
    rules_sha256: str | None = None
    edge_blur_um: float | None = None  # measured sharpness of the cladding edges
    um_per_px_y: float | None = None  # vertical scale, when pixels are not square
    zones: tuple[ZoneShape, ...] = ()  # the zones graded, as the rule file had them
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.verdict == PASS

    @property
    def scale_xy(self) -> tuple[float, float] | None:
        """(horizontal, vertical) um per pixel."""
        if self.um_per_px is None:
            return None
        return self.um_per_px, self.um_per_px_y or self.um_per_px

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "image": self.image,
            "verdict": self.verdict,
            "um_per_px": None if self.um_per_px is None else round(float(self.um_per_px), 5),
            "rules": self.rules,
            "connector": self.connector,
            "scale_source": self.scale_source,
            "rules_sha256": self.rules_sha256,
            "edge_blur_um": None if self.edge_blur_um is None else round(self.edge_blur_um, 3),
            "fibers": [f.to_dict() for f in self.fibers],
        }
        if self.um_per_px_y is not None:
            d["um_per_px_y"] = round(float(self.um_per_px_y), 5)
        if self.zones:
            d["zones"] = [z.to_dict() for z in self.zones]
        if self.error is not None:
            d["error"] = self.error
        d.update(self.extra)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EndFaceResult:
        known = {
            "image",
            "verdict",
            "um_per_px",
            "rules",
            "connector",
            "scale_source",
            "rules_sha256",
            "edge_blur_um",
            "fibers",
            "error",
            "um_per_px_y",
            "zones",
        }
        return cls(
            verdict=d["verdict"],
            um_per_px=None if d.get("um_per_px") is None else float(d["um_per_px"]),
            rules=d["rules"],
            connector=d.get("connector", ""),
            fibers=tuple(FiberResult.from_dict(f) for f in d.get("fibers", [])),
            image=d.get("image"),
            error=d.get("error"),
            scale_source=d.get("scale_source"),
            rules_sha256=d.get("rules_sha256"),
            edge_blur_um=d.get("edge_blur_um"),
            um_per_px_y=None if d.get("um_per_px_y") is None else float(d["um_per_px_y"]),
            zones=tuple(ZoneShape.from_dict(z) for z in d.get("zones") or ()),
            extra={k: v for k, v in d.items() if k not in known},
        )
