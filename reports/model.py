"""What a certificate or report shows: plain frozen dataclasses, no store, no Qt.

The application (``qa_station/certificates/model.py``) fills these from an
assembly's record; everything in ``reports/`` only reads them. Times are
integer microseconds since the epoch, UTC, as in the store. Images are numpy
arrays, or callables that load one when the report is drawn (so a report
that never shows a frame never reads it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from grading.results import EndFaceResult, FiberResult, ZoneShape

if TYPE_CHECKING:
    from reports.control import ChartData

# A frame: an array, or a callable giving the array or the encoded file's bytes (PNG...).
ImageSource = np.ndarray | Callable[[], np.ndarray | bytes] | None

CERTIFICATE_SCHEMA = 1
CERTIFICATE_KIND = "qa-station acceptance certificate"
DATA_FILE = "certificate.json"  # the machine-readable data embedded in the signed PDF


def load_image(src: ImageSource, reduce: int = 1) -> tuple[np.ndarray | None, int]:
    """The image an ``ImageSource`` names, and by how much it was shrunk while decoding.

    Encoded bytes are decoded at 1/``reduce`` size when ``reduce`` is 2, 4 or 8 (the
    decoder skips the work); arrays come back as they are (factor 1). (None, 1) when
    there is no image or it cannot be read.
    """
    if src is None:
        return None, 1
    try:
        got = src if isinstance(src, np.ndarray) else src()
    except (OSError, ValueError):
        return None, 1
    if isinstance(got, np.ndarray):
        return got, 1
    import cv2

    flags = {
        2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
        4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
        8: cv2.IMREAD_REDUCED_GRAYSCALE_8,
    }
    flag = flags.get(reduce, cv2.IMREAD_UNCHANGED)
    img = cv2.imdecode(np.frombuffer(got, np.uint8), flag)
    if img is None:
        return None, 1
    return img, (reduce if reduce in flags else 1)


@dataclass(frozen=True)
class RulesInfo:
    """The rule set an end was graded against, as recorded, and what is known of it now."""

    name: str
    sha256: str | None  # of the rule file's bytes, as recorded with the inspection
    title: str = ""
    version: str = ""
    note: str = ""  # e.g. "the rule file has changed since" (empty when all is as recorded)


@dataclass(frozen=True)
class CleaningInfo:
    at_us: int
    end: str
    method: str
    tool: str
    adapter: bool
    operator: str
    station: str


@dataclass(frozen=True)
class InspectionInfo:
    id: int
    at_us: int
    end: str
    verdict: str
    operator: str
    station: str
    failed_fibres: tuple[int, ...] = ()
    failures: tuple[str, ...] = ()  # each limit broken, in words (first few)


@dataclass(frozen=True)
class EscalationInfo:
    at_us: int
    end: str
    cause: str
    advice: str
    blocking: bool
    cycles: int


@dataclass(frozen=True)
class DeviationInfo:
    """A supervisor's decision against (or outside) the rules: printed plainly on certificates."""

    at_us: int
    end: str | None
    action: str  # "connect" (override), "release for rework"
    reason: str
    supervisor: str
    overriding: str = ""  # what the rules would have refused, in words


@dataclass(frozen=True)
class FibreAgain:
    """One fibre as an earlier inspection of the same end saw it (rejection reports show a
    failing fibre across inspections: damage stays put, dirt moves)."""

    inspection_id: int
    at_us: int
    fibre: FiberResult
    image: ImageSource
    um_per_px: float | None
    after_cleanings: int  # cleanings of the end before this inspection
    zones: tuple[ZoneShape, ...] = ()  # the zones that inspection was graded with


@dataclass(frozen=True)
class EndSection:
    label: str
    connector: str
    fiber: str
    gender: str | None
    rules: RulesInfo
    result: EndFaceResult | None  # the inspection the end was released on (else the latest)
    inspection_id: int | None = None
    inspected_at_us: int | None = None
    inspected_by: str | None = None
    um_per_px: float | None = None
    probe_id: str | None = None
    calibration: str = ""  # e.g. "0.3125 um/px, probe sim-400x (tip mpo), calibrated 2026-11-02"
    fibre_images: Mapping[int, ImageSource] = field(default_factory=dict)
    overview: ImageSource = None  # the whole ferrule (MT ends), or the band of its fibres
    overview_fibres: tuple[tuple[float, float, float], ...] | None = None  # (x, y, r) in it
    inspections: tuple[InspectionInfo, ...] = ()
    cleanings: tuple[CleaningInfo, ...] = ()
    escalations: tuple[EscalationInfo, ...] = ()
    connection: str | None = None  # "connected", "capped", or None (not released)
    connected_at_us: int | None = None
    connected_by: str | None = None
    deviation: bool = False  # released by a supervisor's override
    earlier: tuple[FibreAgain, ...] = ()  # failing fibres in earlier inspections (oldest first)

    @property
    def verdict(self) -> str:
        return self.result.verdict if self.result else "not inspected"

    @property
    def zones(self) -> tuple[ZoneShape, ...]:
        """The zones the end was graded with, as its result carries them."""
        return self.result.zones if self.result else ()

    @property
    def failed_fibres(self) -> tuple[int, ...]:
        if not self.result:
            return ()
        return tuple(f.index for f in self.result.fibers if f.verdict != "pass")


@dataclass(frozen=True)
class AssemblyReport:
    """One assembly as the record shows it: the body of certificates and rejection reports."""

    serial: str
    product_id: str
    product_name: str
    part_number: str | None
    station: str
    status: str  # "open", "accepted", "rejected"
    registered_us: int
    ends: tuple[EndSection, ...]
    record_hash: str
    last_event_id: int
    operators: tuple[str, ...] = ()
    registered_by: str | None = None
    closed_us: int | None = None
    closed_by: str | None = None
    reason: str | None = None  # why it was rejected
    deviations: tuple[DeviationInfo, ...] = ()
    polarity: str | None = None


@dataclass(frozen=True)
class Certificate:
    certificate_id: str
    issued_us: int
    station: str  # the station that issued (and signed) it
    assembly: AssemblyReport
    local_tz: dt.tzinfo | None = None  # None: the issuing machine's local time zone
    # The signed checkpoint of the station's record this certificate was issued under
    # (its JSON form: events, head_id, head_hash, at_us, key, sig...).
    checkpoint: Mapping[str, Any] | None = None

    def data(self) -> dict[str, Any]:
        """The machine-readable certificate, embedded in the signed PDF as ``certificate.json``."""
        a = self.assembly
        return {
            "schema": CERTIFICATE_SCHEMA,
            "kind": CERTIFICATE_KIND,
            "certificate_id": self.certificate_id,
            "serial": a.serial,
            "product": a.product_id,
            "part_number": a.part_number,
            "station": self.station,
            "issued_us": self.issued_us,
            "issued_at": iso_utc(self.issued_us),
            "status": a.status,
            "accepted_us": a.closed_us,
            "record_hash": a.record_hash,
            "last_event_id": a.last_event_id,
            "ends": [
                {
                    "label": e.label,
                    "connector": e.connector,
                    "verdict": e.verdict,
                    "inspection_id": e.inspection_id,
                    "rules": e.rules.name,
                    "rules_sha256": e.rules.sha256,
                    "fibres": len(e.result.fibers) if e.result else 0,
                    "failed_fibres": list(e.failed_fibres),
                    "connection": e.connection,
                    "deviation": e.deviation,
                }
                for e in a.ends
            ],
            "deviations": len(a.deviations),
            "checkpoint": dict(self.checkpoint) if self.checkpoint else None,
        }

    @property
    def qr_text(self) -> str:
        return f"{self.assembly.serial}|{self.certificate_id}|{self.assembly.record_hash}"


@dataclass(frozen=True)
class RejectionReport:
    generated_us: int
    station: str
    assembly: AssemblyReport
    local_tz: dt.tzinfo | None = None


@dataclass(frozen=True)
class LotAssembly:
    serial: str
    product_id: str
    status: str
    registered_us: int
    closed_us: int | None
    inspections: int
    cleanings: int
    first_pass: bool  # every end passed its first inspection
    escalations: tuple[str, ...] = ()  # causes
    deviations: int = 0
    reason: str | None = None


@dataclass(frozen=True)
class FibreFailure:
    """One fibre that failed (or could not be judged) in one inspection."""

    serial: str
    end: str
    connector: str
    fibre: int
    verdict: str  # "fail" or "error"
    failures: tuple[str, ...]  # the limits broken, in words; for errors the reason


@dataclass(frozen=True)
class LotReport:
    generated_us: int
    station: str
    since_us: int | None
    until_us: int | None
    product: str | None  # the filter, if any
    assemblies: tuple[LotAssembly, ...]
    failures: tuple[FibreFailure, ...]
    cleaning_methods: Mapping[str, int] = field(default_factory=dict)  # method -> cleanings
    inspections_by_connector: Mapping[str, int] = field(default_factory=dict)  # connector -> count
    local_tz: dt.tzinfo | None = None
    control: tuple[ChartData, ...] = ()  # per bench and chart (drift, issue 14)


def iso_utc(at_us: int) -> str:
    return dt.datetime.fromtimestamp(at_us / 1e6, tz=dt.UTC).isoformat(timespec="seconds")
