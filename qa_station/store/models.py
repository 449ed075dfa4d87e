"""The station's tables (SQLAlchemy 2). The schema itself is made by Alembic migrations.

Audit data (events, inspections, cleanings, images, checkpoints, station
keys) is only ever inserted. Each event carries the hash of the one before
it (``chain_head`` holds the latest, and serialises writers), names the
digest of the rows it records, and is signed by the station that wrote it,
so a changed row or a removed event breaks the chain where it is, and only
the key's holder could make a new one. Times are integer microseconds since
the epoch, UTC: exact in hashes.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Station(Base):
    __tablename__ = "stations"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_us: Mapped[int] = mapped_column(BigInteger)


class Operator(Base):
    """A person who can sign in. Not audit data: counters and hashes change; the
    changes that matter (added, role, password set) are also events."""

    __tablename__ = "operators"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    badge_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until_us: Mapped[int | None] = mapped_column(BigInteger)
    created_us: Mapped[int] = mapped_column(BigInteger)


class SignIn(Base):
    """A session ``Accounts`` issued: only the sha256 of its token is kept, so a copy of the
    database signs nobody in. Not audit data: ``ended_us`` is set at sign-out."""

    __tablename__ = "sign_ins"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # the role when signed in
    method: Mapped[str] = mapped_column(String(16))  # password, badge, demo
    source: Mapped[str] = mapped_column(String(96))
    issued_us: Mapped[int] = mapped_column(BigInteger)
    expires_us: Mapped[int] = mapped_column(BigInteger)
    ended_us: Mapped[int | None] = mapped_column(BigInteger)


class SignInSource(Base):
    """Failed sign-ins from one place (a bench's window, its badge reader, its command line):
    each failure past the first few makes that place wait longer, and only that place."""

    __tablename__ = "sign_in_sources"
    source: Mapped[str] = mapped_column(String(96), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_us: Mapped[int | None] = mapped_column(BigInteger)
    wait_until_us: Mapped[int | None] = mapped_column(BigInteger)


class StoreSetting(Base):
    """A few facts about the store itself: which accounts key its badges were enrolled with
    (a fingerprint, never the key), and whether it is the demo's record."""

    __tablename__ = "store_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class Product(Base):
    """The catalog entry an assembly was registered under, as it was then."""

    __tablename__ = "products"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    definition: Mapped[str] = mapped_column(Text)  # canonical JSON of the catalog entry
    sha256: Mapped[str] = mapped_column(String(64))


class Assembly(Base):
    __tablename__ = "assemblies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[str] = mapped_column(String(128), unique=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    part_number: Mapped[str | None] = mapped_column(String(128))
    station_id: Mapped[str] = mapped_column(String(64))
    created_us: Mapped[int] = mapped_column(BigInteger)


class End(Base):
    __tablename__ = "ends"
    __table_args__ = (UniqueConstraint("assembly_id", "label"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assembly_id: Mapped[int] = mapped_column(ForeignKey("assemblies.id"), index=True)
    label: Mapped[str] = mapped_column(String(16))
    connector: Mapped[str] = mapped_column(String(16))
    rules: Mapped[str] = mapped_column(String(256))


class Image(Base):
    """A content-addressed image file; the file's bytes hash to ``sha256``."""

    __tablename__ = "images"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    relpath: Mapped[str] = mapped_column(String(256))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_us: Mapped[int] = mapped_column(BigInteger)


class ImageRemoval(Base):
    """An image file taken off the bench after a signed archive of it was made (retention).
    Sealed by the ``images.removed`` event of the same archive (a digest of the names)."""

    __tablename__ = "image_removals"
    sha256: Mapped[str] = mapped_column(ForeignKey("images.sha256"), primary_key=True)
    archive_sha256: Mapped[str] = mapped_column(String(64), index=True)
    removed_us: Mapped[int] = mapped_column(BigInteger)


class Inspection(Base):
    __tablename__ = "inspections"
    __table_args__ = (Index("ix_inspections_created_us", "created_us"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assembly_id: Mapped[int] = mapped_column(ForeignKey("assemblies.id"), index=True)
    end_id: Mapped[int] = mapped_column(ForeignKey("ends.id"), index=True)
    verdict: Mapped[str] = mapped_column(String(8))
    rules: Mapped[str] = mapped_column(String(256))
    rules_sha256: Mapped[str | None] = mapped_column(String(64))
    um_per_px: Mapped[float | None] = mapped_column(Float)
    probe_id: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(Text)  # the grade JSON of the end face
    overview_sha256: Mapped[str | None] = mapped_column(ForeignKey("images.sha256"))
    station_id: Mapped[str] = mapped_column(String(64))
    operator: Mapped[str] = mapped_column(String(64))
    created_us: Mapped[int] = mapped_column(BigInteger)
    digest: Mapped[str] = mapped_column(String(64))


class InspectionFiber(Base):
    __tablename__ = "inspection_fibers"
    __table_args__ = (UniqueConstraint("inspection_id", "fiber"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"), index=True)
    fiber: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(8))
    image_sha256: Mapped[str | None] = mapped_column(ForeignKey("images.sha256"))
    focus_score: Mapped[float | None] = mapped_column(Float)


class Cleaning(Base):
    __tablename__ = "cleanings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assembly_id: Mapped[int] = mapped_column(ForeignKey("assemblies.id"), index=True)
    end_id: Mapped[int] = mapped_column(ForeignKey("ends.id"), index=True)
    method: Mapped[str] = mapped_column(String(32))
    tool_id: Mapped[str] = mapped_column(String(64))
    adapter_cleaned: Mapped[bool] = mapped_column(Boolean)
    station_id: Mapped[str] = mapped_column(String(64))
    operator: Mapped[str] = mapped_column(String(64))
    created_us: Mapped[int] = mapped_column(BigInteger)
    digest: Mapped[str] = mapped_column(String(64))


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_assembly_id_id", "assembly_id", "id"),
        Index("ix_events_kind_created_us", "kind", "created_us"),
        Index("ix_events_station_id_id", "station_id", "id"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    assembly_id: Mapped[int | None] = mapped_column(ForeignKey("assemblies.id"))
    end_label: Mapped[str | None] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(48))
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON
    operator: Mapped[str | None] = mapped_column(String(64))
    station_id: Mapped[str] = mapped_column(String(64))
    created_us: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    format: Mapped[int] = mapped_column(SmallInteger, server_default="1")  # chain.py
    session: Mapped[str | None] = mapped_column(String(32))  # the station's run
    mono_us: Mapped[int | None] = mapped_column(BigInteger)  # its monotonic clock
    key_id: Mapped[str | None] = mapped_column(String(64))  # who signed (station_keys)
    signature: Mapped[str | None] = mapped_column(String(700))  # base64


class ChainHead(Base):
    """One row: the newest event. Locking it is how writers take turns.

    The one audit-side row that changes in place: it is a lock and a cache of
    where the chain ends, never evidence (verify trusts the signed checkpoints).
    """

    __tablename__ = "chain_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
    event_count: Mapped[int] = mapped_column(BigInteger, server_default="0")


class StationKey(Base):
    """A station's signing certificate, registered in the record under its key id."""

    __tablename__ = "station_keys"
    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64))
    certificate: Mapped[str] = mapped_column(Text)  # PEM: the certificate, then its chain
    registered_us: Mapped[int] = mapped_column(BigInteger)


class CheckpointRow(Base):
    """A signed checkpoint of the chain (store/checkpoints.py): only ever inserted."""

    __tablename__ = "checkpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(BigInteger)
    head_id: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    at_us: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(700))


class OutboxReceipt(Base):
    """An action a bench kept in its outbox while the floor database was down, now sent.

    Written in the same transaction as the events the action produced, so a
    bench that crashed between sending and noting it can tell the action is
    already here: each action reaches the record exactly once.
    """

    __tablename__ = "outbox_receipts"
    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    serial: Mapped[str | None] = mapped_column(String(128))
    done_at_us: Mapped[int] = mapped_column(BigInteger)  # when the bench did it, offline
    sent_us: Mapped[int] = mapped_column(BigInteger)  # when it reached the record
