"""Putting the station's own evidence on the record: qualifications, studies, probe alarms.

Each is a station event (no assembly), signed and chained like every other.
The person is a user name: the caller decides who may (a supervisor runs a
qualification), so this module touches identity in one place only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qa_station.store import Store
from qa_station.store.kinds import Kind


@dataclass(frozen=True)
class IssuedReport:
    """A signed report file written before its event: the event carries its sha256."""

    report_id: str
    file: str  # the file's name (where it was written is the writer's business)
    sha256: str
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "file": self.file,
            "sha256": self.sha256,
            "bytes": self.bytes,
        }


def record_event(
    store: Store,
    kind: Kind,
    payload: dict[str, Any],
    who: str | None,
    report: IssuedReport | None = None,
) -> int:
    """Append a station event (with its report, if any); returns its id."""
    body = dict(payload)
    if report is not None:
        body["report"] = report.to_dict()
    with store.write() as w:
        return w.event(kind, body, None, None, who).id
