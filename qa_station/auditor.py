"""The auditor's station: the floor record, read-only, on a PC with no probe and no fixture.

``qa-station --auditor`` (or ``[station] role = "auditor"``) opens the record as a
read-only store: History, Statistics, the whole-record check, certificates
verified and reports written from it, every frame read from the floor store.
It records nothing: the store refuses every write transaction (``Store.write``),
so the gate, certificates, checkpoints and accounts are refused before a
statement is sent, and a floor that gives the auditor's database role SELECT
only (README) refuses it a second time.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from qa_station.catalog import Catalog, load_catalog
from qa_station.config import StationConfig, load_config
from qa_station.gate import Gate
from qa_station.paths import station_paths
from qa_station.record import AssemblyRecord, load_record
from qa_station.store import Store, StoreError
from qa_station.store.models import Event
from qa_station.store.queries import HistoryRow, search_assemblies
from qa_station.store.store import open_store
from qa_station.store.verify import VerifyReport, verify

if TYPE_CHECKING:  # the methods below import certificates where they use it
    from qa_station.certificates.verify import VerifyOutcome

ROLE = "auditor"
REFUSED = "this is an auditor's station: it reads the floor record and records nothing"


class AuditorStation:
    """What the History and Statistics pages need, with no bench behind it."""

    auditor = True

    def __init__(self, config: StationConfig, store: Store, catalog: Catalog) -> None:
        if not store.read_only:
            raise StoreError("an auditor's station opens the record read-only")
        self.config = config
        self.store = store
        self.catalog = catalog
        self.gate = Gate(store, catalog)  # every action it is asked for is refused (read-only)

    @classmethod
    def open(cls, config: StationConfig | None = None, db_url: str | None = None) -> AuditorStation:
        config = config or load_config()
        catalog = load_catalog(station_paths().products_file)
        return cls(config, open_store(config, url=db_url, read_only=True), catalog)

    # The same questions a bench asks of the record.
    def record(self, serial: str) -> AssemblyRecord:
        return load_record(self.store, serial)

    def search(
        self,
        serial: str = "",
        since_us: int | None = None,
        until_us: int | None = None,
        status: str | None = None,
        operator: str | None = None,
        limit: int = 500,
    ) -> list[HistoryRow]:
        """As the bench's History page: ``store.queries.search_assemblies``."""
        return search_assemblies(self.store, serial, since_us, until_us, status, operator, limit)

    def counts(self) -> dict[str, int]:
        with self.store.read() as s:
            return {"events": s.execute(select(func.count(Event.id))).scalar_one()}

    def verify(self) -> VerifyReport:
        return verify(self.store)

    def issue_certificate(self, serial: str, folder: Path | None = None) -> Path:
        raise StoreError(f"{REFUSED}: a certificate is issued at a bench")

    def rejection_report(self, serial: str, out: Path) -> Path:
        from qa_station.certificates.issuing import issue_rejection_report

        return issue_rejection_report(self.store, serial, out, self.config)

    def verify_certificate(self, path: Path) -> VerifyOutcome:
        """A certificate file checked: its signature, unchanged, and against the record."""
        from qa_station.certificates.verify import verify_file

        return verify_file(path, self.store)

    def close(self) -> None:
        self.store.close()
