"""What the History and Statistics pages read the record through.

A bench (``StationController``) and an auditor's station (``AuditorStation``) both
answer it: the pages need only the store, the catalog, an assembly's record, the
whole-record check and a certificate (the auditor's refuses it with a clear error).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from qa_station.catalog import Catalog
from qa_station.record import AssemblyRecord
from qa_station.store import Store
from qa_station.store.verify import VerifyReport


class RecordReader(Protocol):
    store: Store
    catalog: Catalog

    def record(self, serial: str) -> AssemblyRecord: ...

    def verify(self) -> VerifyReport: ...

    def issue_certificate(self, serial: str, folder: Path | None = None) -> Path: ...
