"""The station's record: SQLAlchemy tables, content-addressed images, a hash chain of events."""

from qa_station.store.store import EventRecord, Store, StoreError, StoreUnavailable, Writer

__all__ = ["EventRecord", "Store", "StoreError", "StoreUnavailable", "Writer"]
