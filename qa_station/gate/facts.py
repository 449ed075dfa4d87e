"""An end's scan reduced to what its inspection records, images already on disk.

The gate records these, not the scan itself, so an inspection made while the
floor database was down can wait in the outbox as plain JSON and be
recorded later exactly as it would have been at the time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grading.results import EndFaceResult
from qa_station.scan import ScanResult
from qa_station.store.images import ImageFolder, StoredImage


@dataclass(frozen=True)
class InspectionFacts:
    result: EndFaceResult
    images: dict[int, StoredImage] = field(default_factory=dict)  # per fibre, as graded
    overview: StoredImage | None = None
    focus_scores: dict[int, float] = field(default_factory=dict)

    @property
    def rules(self) -> str:
        return self.result.rules

    @classmethod
    def of_scan(cls, scan: ScanResult, folder: ImageFolder) -> InspectionFacts:
        """Write the scan's frames (lossless, content-addressed) and keep their names."""
        overview = folder.put(scan.overview.image) if scan.overview is not None else None
        images = {n: folder.put(frame.image) for n, frame in scan.frames.items()}
        return cls(scan.result(), images, overview, dict(scan.focus_scores))

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": self.result.to_dict(),
            "images": {str(n): _stored(s) for n, s in self.images.items()},
            "overview": _stored(self.overview) if self.overview else None,
            "focus": {str(n): float(v) for n, v in self.focus_scores.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InspectionFacts:
        return cls(
            EndFaceResult.from_dict(d["result"]),
            {int(n): StoredImage(**s) for n, s in d["images"].items()},
            StoredImage(**d["overview"]) if d.get("overview") else None,
            {int(n): float(v) for n, v in d["focus"].items()},
        )


def _stored(s: StoredImage) -> dict[str, Any]:
    return {
        "sha256": s.sha256,
        "relpath": s.relpath,
        "width": s.width,
        "height": s.height,
        "size_bytes": s.size_bytes,
    }
