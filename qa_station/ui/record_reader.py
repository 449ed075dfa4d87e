"""What the History and Statistics pages read the record through.

A bench (``StationController``) and an auditor's station (``AuditorStation``) both
answer it: the pages need only the store, the catalog, an assembly's record, the
whole-record check and a certificate (the auditor's refuses it with a clear error).
Only a bench is a ``Regrader``: a re-grade is recorded, and an auditor's station records
nothing, so History offers it only where it can be done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from qa_station.catalog import Catalog
from qa_station.record import AssemblyRecord
from qa_station.store import Store
from qa_station.store.verify import VerifyReport

if TYPE_CHECKING:
    from qa_station.regrade import Regraded


class RecordReader(Protocol):
    store: Store
    catalog: Catalog

    def record(self, serial: str) -> AssemblyRecord: ...

    def verify(self) -> VerifyReport: ...

    def issue_certificate(self, serial: str, folder: Path | None = None) -> Path: ...


@runtime_checkable
class Regrader(RecordReader, Protocol):
    def regrade(
        self,
        rules: str | Path,
        since_us: int | None = None,
        until_us: int | None = None,
        product: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
        out: Path | None = None,
    ) -> Regraded: ...
