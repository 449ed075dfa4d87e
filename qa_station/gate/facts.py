"""An end's scan reduced to what its inspection records, images already on disk.

The gate records these, not the scan itself, so an inspection made while the
floor database was down can wait in the outbox as plain JSON and be
recorded later exactly as it would have been at the time. What of each frame
is written is ``fibre_regions``' decision: every fibre's graded region, and
whole frames only as the station's image policy says; where each region sits
in its frame goes into the grade JSON (``regions``), sealed with it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from grading.geometry import connector
from grading.results import EndFaceResult
from qa_station.fibre_regions import cut, fibre_region, graded_outer_um, overview_band
from qa_station.scan import ScanResult
from qa_station.store.images import ImageStore, StoredImage
from qa_station.store.records import WHOLE_FRAME


@dataclass(frozen=True)
class InspectionFacts:
    result: EndFaceResult
    images: dict[int, StoredImage] = field(default_factory=dict)  # per fibre: its region
    overview: StoredImage | None = None
    focus_scores: dict[int, float] = field(default_factory=dict)
    whole: tuple[StoredImage, ...] = ()  # whole frames kept as well, by the image policy

    @property
    def rules(self) -> str:
        return self.result.rules

    @classmethod
    def of_scan(cls, scan: ScanResult, folder: ImageStore) -> InspectionFacts:
        """Write what the record keeps of the scan's frames (lossless, content-addressed):
        each fibre's graded region, the overview's fibre band, whole frames by policy."""
        result = scan.result()
        keep_whole = folder.full_frames == "always" or (
            folder.full_frames == "failing" and result.verdict != "pass"
        )
        outer_um = graded_outer_um(result)
        fibres = {f.index: f for f in result.fibers}
        regions: dict[str, Any] = {}
        images: dict[int, StoredImage] = {}
        whole: list[StoredImage] = []
        for n, frame in scan.frames.items():
            f = fibres.get(n)
            region = fibre_region(f, frame.image.shape, result.um_per_px, outer_um) if f else None
            if region is None:  # nothing to cut around: the whole frame is the evidence
                images[n] = folder.put(frame.image)
                continue
            images[n] = folder.put(cut(frame.image, region))
            regions[str(n)] = region.to_dict(frame.image.shape)
            if keep_whole:
                whole.append(folder.put(frame.image))
                regions[str(n)][WHOLE_FRAME] = whole[-1].sha256
        overview = None
        if scan.overview is not None:
            image = scan.overview.image
            located = overview_band(image, result.connector) if _multi(result) else None
            if located is None:
                overview = folder.put(image)
            else:
                band, fibres_in_band = located
                overview = folder.put(cut(image, band))
                regions["overview"] = {**band.to_dict(image.shape), "fibres": fibres_in_band}
                if keep_whole:
                    whole.append(folder.put(image))
                    regions["overview"][WHOLE_FRAME] = whole[-1].sha256
        if regions:
            result = replace(result, extra={**result.extra, "regions": regions})
        return cls(result, images, overview, dict(scan.focus_scores), tuple(whole))

    def stored(self) -> list[StoredImage]:
        """Every frame this inspection records (its fibres', its overview, whole frames)."""
        out = list(self.images.values()) + list(self.whole)
        return out + ([self.overview] if self.overview is not None else [])

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": self.result.to_dict(),
            "images": {str(n): asdict(s) for n, s in self.images.items()},
            "overview": asdict(self.overview) if self.overview else None,
            "focus": {str(n): float(v) for n, v in self.focus_scores.items()},
            "whole": [asdict(s) for s in self.whole],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InspectionFacts:
        return cls(
            EndFaceResult.from_dict(d["result"]),
            {int(n): StoredImage(**s) for n, s in d["images"].items()},
            StoredImage(**d["overview"]) if d.get("overview") else None,
            {int(n): float(v) for n, v in d["focus"].items()},
            tuple(StoredImage(**s) for s in d.get("whole", [])),
        )


def _multi(result: EndFaceResult) -> bool:
    try:
        return connector(result.connector).is_multi_fiber
    except (KeyError, ValueError):
        return False
