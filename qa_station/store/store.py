"""The store: SQLite (WAL) on one bench, PostgreSQL for a floor of benches.

Every write happens in a transaction that first locks the chain head, so
events from several benches are chained one after another and never
interleave. SQLite takes its write lock at BEGIN (IMMEDIATE) for the same
effect. The schema is brought up to date by Alembic at open, so an upgraded
station keeps its data.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from sqlalchemy import (
    Connection,
    Engine,
    Row,
    Table,
    create_engine,
    event,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import ArgumentError, DatabaseError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from grading.projection import fields_dict
from qa_station.store.chain import EVENT_FORMAT, canonical, hash_of, signed_text
from qa_station.store.checkpoints import EVERY_EVENTS, Checkpoint, Witness, WitnessError
from qa_station.store.clock import Instant, Jump, StationClock
from qa_station.store.images import DatabaseImages, ImageFolder, ImageStoreError, StoredImage
from qa_station.store.keys import RecordKey, RecordKeyError, load_record_key
from qa_station.store.kinds import Kind
from qa_station.store.kinds import kind as registered_kind
from qa_station.store.models import (
    Assembly,
    Base,
    ChainHead,
    CheckpointRow,
    Event,
    Image,
    OutboxReceipt,
    Station,
    StationKey,
    StoreSetting,
)

if TYPE_CHECKING:  # the store is opened from them; they never import the store at load
    from qa_station.config import StationConfig
    from qa_station.paths import StationPaths
    from qa_station.store.floor import Moved

MIGRATIONS = Path(__file__).parent / "migrations"
FIRST_CHECKPOINT = "first_checkpoint"  # store_settings: a new store the owner made, unsigned
log = logging.getLogger(__name__)
SCHEMES = ("sqlite:///", "postgresql://", "postgresql+psycopg://")
_REVISION = re.compile(r'^(down_)?revision = "([^"]+)"', re.MULTILINE)


@functools.cache
def _revision_graph() -> tuple[frozenset[str], str]:
    """(every migration's id, the newest), read from the version files: Alembic is a
    large import, and a station that starts on an up-to-date store does not need it."""
    revisions: set[str] = set()
    replaced: set[str] = set()
    for f in (MIGRATIONS / "versions").glob("[0-9]*.py"):
        for down, rev in _REVISION.findall(f.read_text(encoding="utf-8")):
            (replaced if down else revisions).add(rev)
    (head,) = revisions - replaced
    return frozenset(revisions), head


def head_revision() -> str:
    """The newest migration's id."""
    return _revision_graph()[1]


class StoreError(Exception):
    """The store cannot do what was asked."""


class StoreUnavailable(StoreError):
    """The database cannot be reached (server down, network, disk)."""


def now_us(clock: Callable[[], float] = time.time) -> int:
    return round(clock() * 1_000_000)


@dataclass(frozen=True)
class EventRecord:
    id: int
    kind: str
    serial: str | None
    end: str | None
    at_us: int
    operator: str | None
    station: str
    payload: dict[str, Any]
    hash: str

    def to_dict(self) -> dict[str, Any]:
        d = fields_dict(self, rename={"at_us": "at"})
        d["at"] = iso(self.at_us)  # in words, where its field stands
        return d


def iso(at_us: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(at_us / 1e6, tz=dt.UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Replay:
    """An action with a receipt: sent from the outbox, or tried online by a bench that has one."""

    key: str  # unique across benches: "<station>:<uuid>"
    action: str
    serial: str | None
    done_at_us: int
    offline: bool = True  # False: the first, online attempt (its commit may be in doubt)
    session: str | None = None  # the bench's session and monotonic time when it was done
    mono_us: int | None = None

    @property
    def at(self) -> Instant:
        return Instant(self.done_at_us, self.session, self.mono_us)


class Writer:
    """One write transaction: the chain head is locked until it ends.

    Every event of the transaction carries the same time (the station's, see
    ``clock.py``; a replayed action's own), is hashed (format 2) and signed
    with the station's key before its row is inserted: event rows are never
    updated. Every ``checkpoint_every`` events a signed checkpoint is added.
    """

    def __init__(self, session: Session, store: Store) -> None:
        self.session = session
        self.store = store
        self.key = store.key
        self.checkpoints: list[Checkpoint] = []
        self.frames: list[str] = []  # frames written in this transaction (floor store)
        self.head = session.execute(
            select(ChainHead).where(ChainHead.id == 1).with_for_update()
        ).scalar_one()
        self.count_at_start = self.head.event_count
        if not store.key_registered:  # a bench that writes without having migrated
            store.register_key(session)
        replay = store.replay
        jump = None
        if replay is not None:
            self.at = replay.at
        else:
            self.at, jump = store.station_time(session)
        if replay is not None:
            session.add(
                OutboxReceipt(
                    key=replay.key,
                    station_id=store.station_id,
                    action=replay.action,
                    serial=replay.serial,
                    done_at_us=replay.done_at_us,
                    sent_us=now_us(store.clock),
                )
            )
        if jump is not None:  # the wall clock moved under the station: on the record
            self.event(Kind.CLOCK_JUMPED, jump.payload())

    def now_us(self) -> int:
        """The time an action happened: for a replayed one, when the bench did it."""
        return self.at.at_us

    def event(
        self,
        kind: str,
        payload: dict[str, Any],
        assembly_id: int | None = None,
        end: str | None = None,
        operator: str | None = None,
        at_us: int | None = None,
    ) -> Event:
        k = registered_kind(kind)
        at = self.at.at_us if at_us is None else at_us
        if self.store.replay is not None and self.store.replay.offline:  # seen by auditors
            payload = {**payload, "outbox": self.store.replay.key}
        body = canonical(payload)
        ev = Event(
            id=self.head.last_event_id + 1,  # the chain lock is held: ids follow the head
            assembly_id=assembly_id,
            end_label=end,
            kind=k.value,
            payload=body,
            operator=operator,
            station_id=self.store.station_id,
            created_us=at,
            prev_hash=self.head.last_hash,
            format=EVENT_FORMAT,
            session=self.at.session,
            mono_us=self.at.mono_us,
            key_id=self.key.id,
        )
        ev.hash = hash_of(ev)
        ev.signature = self.key.sign(signed_text(ev.hash))
        self.session.add(ev)
        self.head.last_event_id = ev.id
        self.head.last_hash = ev.hash
        self.head.event_count += 1
        self.session.flush()
        if self.head.event_count % self.store.checkpoint_every == 0:
            self.checkpoint("events")
        return ev

    def checkpoint(self, reason: str) -> Checkpoint:
        """Sign the head as it is now in this transaction, and keep it in the store."""
        return self.keep(self.store.sign_head(self.head, reason, self.at.at_us))

    def keep(self, cp: Checkpoint) -> Checkpoint:
        """Keep a checkpoint signed earlier (it stays true: the chain only grows)."""
        self.session.add(CheckpointRow(**cp.row()))
        self.session.flush()
        self.checkpoints.append(cp)
        return cp

    def image(self, array: np.ndarray) -> str:
        """Store the frame and its row; returns its sha256."""
        return self.image_row(self.store.images.put(array))

    def image_row(self, stored: StoredImage) -> str:
        """The row of a frame ``put`` earlier; on the floor store its bytes go in now, in
        this transaction (a bench's folder has the file already)."""
        if self.session.get(Image, stored.sha256) is None:
            self.session.add(Image(**asdict(stored), created_us=self.now_us()))
        try:
            self.store.images.keep(self.session, stored)
        except ImageStoreError as exc:
            raise StoreError(f"{exc}: nothing was recorded") from None
        self.frames.append(stored.sha256)
        return stored.sha256

    def next_id(self, model: type[Base]) -> int:
        """The id the next row of ``model`` gets, known before its insert so the digest that
        covers it is computed first and the row is never updated (the chain lock is held:
        on SQLite nobody else inserts; on PostgreSQL the table's own sequence)."""
        table = cast(Table, model.__table__)  # a declarative model maps one Table
        if self.store.dialect == "postgresql":
            seq = f"pg_get_serial_sequence('{table.name}', 'id')"
            return int(self.session.execute(text(f"SELECT nextval({seq})")).scalar_one())
        top = self.session.execute(text(f"SELECT max(id) FROM {table.name}")).scalar()
        return int(top or 0) + 1


class Store:
    """The record. ``clock`` is the wall clock (seconds), ``monotonic`` the clock ages are
    measured on (default: the boot clock, or ``clock`` itself when a test hands one in);
    ``keys_dir`` holds the station key that signs (default: the station's); ``witness_dir``
    the bench's witness of its checkpoints (None: no witness, as for a copy under audit)."""

    def __init__(
        self,
        url: str,
        images_dir: Path,
        station_id: str = "bench-1",
        clock: Callable[[], float] = time.time,
        keys_dir: Path | None = None,
        witness_dir: Path | None = None,
        monotonic: Callable[[], float] | None = None,
        checkpoint_every: int = EVERY_EVENTS,
        read_only: bool = False,
        ca_file: str | Path | None = None,
    ) -> None:
        from qa_station.text import TextError
        from qa_station.text import station_id as checked_id

        try:
            self.station_id = checked_id(station_id)
        except TextError as exc:
            raise StoreError(f"station id: {exc}") from None
        self.url = url
        self.clock = clock
        self.time = StationClock(clock, monotonic)
        self.replay: Replay | None = None
        self.engine = _engine(url, ca_file)
        self.read_only = read_only  # an auditor's station: it reads the record, writes nothing
        folder = ImageFolder(images_dir)
        self.images: ImageFolder | DatabaseImages = (
            folder if self.dialect == "sqlite" else DatabaseImages(self.engine, folder)
        )
        # What migration 0007 moved in from this bench's folder.
        self.frames_moved: Moved | None = None
        self.keys_dir = keys_dir
        self.checkpoint_every = max(1, int(checkpoint_every))
        self.witness = Witness(witness_dir, self.safe_url) if witness_dir is not None else None
        self.witness_problem: str | None = None
        self._key: RecordKey | None = None
        self.key_registered = False
        self._dirty = False  # written since the last checkpoint
        self._migration_checkpoint: Checkpoint | None = None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(
            self.engine.execution_options(qa_write=True), expire_on_commit=False
        )

    # -- the key and the time ---------------------------------------------------------------
    @property
    def key(self) -> RecordKey:
        """The station's signing key (made on first use, as for certificates)."""
        if self._key is None:
            from qa_station.paths import station_paths

            folder = self.keys_dir or station_paths().keys_dir
            try:
                self._key = load_record_key(folder, self.station_id)
            except RecordKeyError as exc:
                raise StoreError(str(exc)) from None
        return self._key

    def station_time(self, session: Session) -> tuple[Instant, Jump | None]:
        """Now, in the station's time; the first call of a session anchors it (see clock.py)."""
        jump = None
        if not self.time.started:
            last = session.execute(
                select(Event.created_us)
                .where(Event.station_id == self.station_id)
                .order_by(Event.id.desc())
                .limit(1)
            ).scalar()
            jump = self.time.start(last)
        at, running = self.time.now()
        return at, jump or running

    def sign_head(self, head: ChainHead | Row[Any], reason: str, at_us: int) -> Checkpoint:
        """A checkpoint of ``head`` (the ORM row, or the plain row a migration reads)."""
        return Checkpoint(
            station=self.station_id,
            events=int(head.event_count),
            head_id=int(head.last_event_id),
            head_hash=head.last_hash,
            at_us=at_us,
            reason=reason,
            key=self.key.id,
        ).signed_by(self.key)

    def checkpoint(self, reason: str) -> Checkpoint:
        """A signed checkpoint of the chain as it is now: in the store and the witness."""
        with self.write() as w:
            return w.checkpoint(reason)

    def signed_head(self, reason: str) -> Checkpoint:
        """The head as it is now, signed, without writing anything (``Writer.keep`` it later)."""
        with self.read() as s:
            head = s.get(ChainHead, 1)
            if head is None:
                raise StoreError("the record has no chain head: it was never set up (migrate)")
            return self.sign_head(head, reason, now_us(self.clock))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def replaying(self, replay: Replay) -> Store:
        """This store (same engine) writing one replayed action: its time, its receipt."""
        view = copy.copy(self)
        view.replay = replay
        return view

    def received(self, key: str) -> bool:
        """Whether a replayed action with this key already reached the record."""
        with self.read() as s:
            return s.get(OutboxReceipt, key) is not None

    def check(self) -> str | None:
        """Refuse, before anything is written, a store that is damaged or not a qa-station
        store: one a file check finds faults in (SQLite ``PRAGMA quick_check``), random bytes,
        someone else's tables, a schema newer than this program, or a record without its
        chain head. A store that does not exist yet passes (the migrations make it).

        Returns the store's schema revision (None for an empty store)."""
        refuse = f"database {self.safe_url}"
        try:
            with self.engine.connect() as conn:
                if self.dialect == "sqlite":
                    found = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA quick_check")]
                    if found != ["ok"]:
                        raise StoreError(
                            f"{refuse} is damaged (quick_check: {_first(found)}): refused, "
                            "nothing was written; restore it from a backup"
                        )
                tables = set(inspect(conn).get_table_names())
                if not tables:
                    return None
                if not {"alembic_version", "chain_head", "events"} <= tables:
                    raise StoreError(
                        f"{refuse} is not a qa-station store (other tables are in it): "
                        "refused, nothing was written"
                    )
                version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
                if version not in _revision_graph()[0]:
                    raise StoreError(
                        f"{refuse} has schema {_first([str(version)])}, which this qa-station "
                        "does not know (made by a newer version?): refused, nothing was written"
                    )
                heads = conn.exec_driver_sql("SELECT count(*) FROM chain_head WHERE id = 1")
                if heads.scalar() != 1:
                    raise StoreError(
                        f"{refuse}: its chain head is missing, so the record cannot be checked "
                        "or extended: refused, nothing was written (run qa-station audit verify)"
                    )
                return str(version)
        except OperationalError as exc:
            if _is_connection_problem(exc) and "not a database" not in str(exc.orig):
                raise StoreUnavailable(f"{refuse} unreachable: {_reason(exc)}") from None
            raise StoreError(f"{refuse} cannot be read ({_reason(exc)}): refused") from None
        except DatabaseError as exc:  # random bytes: "file is not a database"
            if any(w in _reason(exc) for w in ("malformed", "corrupt")):
                raise StoreError(
                    f"{refuse} is damaged ({_reason(exc)}): refused, nothing was written; "
                    "restore it from a backup"
                ) from None
            raise StoreError(
                f"{refuse} is not a database qa-station can read ({_reason(exc)}): refused, "
                "nothing was written"
            ) from None

    def migrate(self) -> None:
        """Check the store, then create or upgrade the schema to the newest revision, and
        register this station and its key. A store signed for the first time gets its head
        signed (0004_signed_chain); a new one its first checkpoint, from the first station
        that opens it. A read-only store (an auditor's) is only checked."""
        version = self.check()
        if self.read_only:
            if version != head_revision():
                raise StoreError(
                    f"database {self.safe_url} is at schema {version or 'none'}, not "
                    f"{head_revision()}: an auditor's station reads an up-to-date record only "
                    "(the owner runs qa-station store upgrade)"
                )
            return
        if self.dialect == "sqlite":  # outside any transaction (the driver's own connection)
            raw = self.engine.raw_connection()
            try:
                raw.cursor().execute("PRAGMA journal_mode=WAL")
            finally:
                raw.close()
        # A store already at the newest revision (every start but the first after an
        # upgrade) needs no Alembic: it is imported only when there is work.
        if version != head_revision():
            self._upgrade()
        with self.write() as w:
            if w.session.get(Station, self.station_id) is None:
                w.session.add(Station(id=self.station_id, created_us=w.now_us()))
            # A new store's first signed head: made here, or left by its owner for the first
            # station to sign. Never for a store that lost its checkpoints (an emptied record
            # must stay one that holds none).
            pending = w.session.get(StoreSetting, FIRST_CHECKPOINT)
            if version is None or (pending is not None and pending.value == "pending"):
                if w.session.execute(select(CheckpointRow.id).limit(1)).first() is None:
                    w.checkpoint("migration")
                if pending is not None:
                    pending.value = "signed"

    def upgrade(self) -> str | None:
        """The owner's step: check the store and bring its schema up to date, nothing else
        (no station, no checkpoint of a new store: the first bench signs that). Returns the
        revision it was at."""
        version = self.check()
        if version != head_revision():
            self._upgrade()
        if version is None:  # a new store: the first station that opens it signs its head
            with self.engine.begin() as conn:
                conn.execute(insert(StoreSetting).values(key=FIRST_CHECKPOINT, value="pending"))
        return version

    def _upgrade(self) -> None:
        from alembic import command
        from alembic.config import Config
        from alembic.util import CommandError

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["record_signer"] = self._sign_migrated_head
        if isinstance(self.images, DatabaseImages):
            cfg.attributes["frame_mover"] = functools.partial(
                self._move_frames_in, self.images.local
            )
        self._migration_checkpoint = None
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except OperationalError as exc:
            raise StoreUnavailable(
                f"database {self.safe_url} unreachable: {_reason(exc)}"
            ) from None
        except (CommandError, DatabaseError) as exc:
            owner = ""
            if "permission denied" in _reason(exc) or "must be owner" in _reason(exc):
                owner = (
                    ": this role may not change the schema; the owner runs qa-station store upgrade"
                )
            raise StoreError(
                f"database {self.safe_url}: the schema cannot be brought up to date "
                f"({_reason(exc)}){owner}"
            ) from None
        if self._migration_checkpoint is not None:
            self._witness([self._migration_checkpoint])

    def register_key(self, session: Session) -> None:
        """The station's certificate in the record, under its key id (once)."""
        if session.get(StationKey, self.key.id) is None:
            session.add(
                StationKey(
                    key_id=self.key.id,
                    station_id=self.station_id,
                    certificate=self.key.certificate_pem,
                    registered_us=now_us(self.clock),
                )
            )
            session.flush()
        self.key_registered = True

    def _move_frames_in(self, folder: ImageFolder, conn: Connection) -> None:
        """Migration 0007: this bench's recorded frames into the floor store, each hashed."""
        from qa_station.store.floor import move_frames

        moved = move_frames(conn, folder)
        if moved.bad:
            raise StoreError(
                f"{len(moved.bad)} frame(s) in {folder.root} are not what their "
                f"names say ({moved.bad[0]}): nothing was migrated; run qa-station audit verify"
            )
        self.frames_moved = moved

    def _sign_migrated_head(self, conn: Connection) -> None:
        """Migration 0004: register this station's key and sign the head as it stands (a new
        store's first checkpoint is signed by the first station that opens it: ``migrate``)."""
        head = conn.execute(select(ChainHead).where(ChainHead.id == 1)).one()
        if head.last_event_id == 0:
            return
        at = now_us(self.clock)
        conn.execute(
            insert(StationKey).values(
                key_id=self.key.id,
                station_id=self.station_id,
                certificate=self.key.certificate_pem,
                registered_us=at,
            )
        )
        cp = self.sign_head(head, "migration", at)
        conn.execute(insert(CheckpointRow).values(**cp.row()))
        self._migration_checkpoint = cp

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def read(self) -> Iterator[Session]:
        try:
            with self._sessions() as session:
                yield session
        except OperationalError as exc:
            raise StoreUnavailable(
                f"database {self.safe_url} unreachable: {_reason(exc)}"
            ) from None

    @contextmanager
    def write(self) -> Iterator[Writer]:
        if self.read_only:
            raise StoreError(
                "this is an auditor's station: it reads the floor record and records nothing"
            )
        try:
            with self._write_sessions() as session:
                with session.begin():
                    writer = Writer(session, self)
                    yield writer
                    head = writer.head
                    at = writer.at.at_us
                self.images.committed(writer.frames)
                wrote = writer.checkpoints or head.event_count != writer.count_at_start
                if wrote:
                    covered = writer.checkpoints and writer.checkpoints[-1].head_id == (
                        head.last_event_id
                    )
                    self._dirty = not covered
                    self._witness(writer.checkpoints, self.sign_head(head, "commit", at))
        except (OperationalError, DBAPIError) as exc:
            if _is_connection_problem(exc):
                raise StoreUnavailable(
                    f"database {self.safe_url} unreachable: {_reason(exc)}"
                ) from None
            if isinstance(exc, OperationalError):  # disk full, I/O error: rolled back
                raise StoreError(
                    f"database {self.safe_url}: cannot write ({_reason(exc)}); nothing was recorded"
                ) from None
            raise

    def assembly_id(self, session: Session, serial: str) -> int | None:
        return session.execute(select(Assembly.id).where(Assembly.serial == serial)).scalar()

    def history(self, serial: str) -> list[EventRecord]:
        """Every event of one assembly, in order."""
        with self.read() as s:
            aid = self.assembly_id(s, serial)
            if aid is None:
                return []
            rows = s.execute(
                select(Event).where(Event.assembly_id == aid).order_by(Event.id)
            ).scalars()
            return [record(ev, serial) for ev in rows]

    def ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            raise StoreUnavailable(
                f"database {self.safe_url} unreachable: {_reason(exc)}"
            ) from None

    def close(self) -> None:
        """A last checkpoint when this station wrote since the one before (shutdown)."""
        if self._dirty and self._key is not None:
            try:
                self.checkpoint("shutdown")
            except StoreError as exc:  # the database went away first: the witness has the head
                log.warning("no shutdown checkpoint: %s", exc)
        self.engine.dispose()

    def _witness(self, checkpoints: list[Checkpoint], head: Checkpoint | None = None) -> None:
        """Hand committed checkpoints (and the newest head) to the bench's witness files."""
        if self.witness is None:
            return
        try:
            for cp in checkpoints:
                self.witness.append(cp)
            if head is not None or checkpoints:
                self.witness.set_head(head or checkpoints[-1])
        except WitnessError as exc:  # recorded in the store all the same; said, not fatal
            self.witness_problem = str(exc)
            log.warning("%s", exc)


def record(ev: Event, serial: str | None) -> EventRecord:
    return EventRecord(
        id=ev.id,
        kind=ev.kind,
        serial=serial,
        end=ev.end_label,
        payload=json.loads(ev.payload),
        operator=ev.operator,
        station=ev.station_id,
        at_us=ev.created_us,
        hash=ev.hash,
    )


def _first(lines: list[str]) -> str:
    from qa_station.text import shown

    more = f" and {len(lines) - 1} more" if len(lines) > 1 else ""
    return shown(lines[0] if lines else "?", 120) + more


def _tls(ca_file: str | Path | None) -> dict[str, str]:
    """libpq's settings for a floor database that must prove who it is: TLS, the server's
    certificate signed by the station config's CA, and its name the host connected to."""
    if not ca_file:
        return {}
    ca = Path(ca_file).expanduser()
    if not ca.is_file():
        raise StoreError(
            f"the floor database's CA file {ca} ([store] ca_file) does not exist: nothing "
            "was connected to"
        )
    return {"sslmode": "verify-full", "sslrootcert": str(ca)}


def _engine(url: str, ca_file: str | Path | None = None) -> Engine:
    if not isinstance(url, str) or not url.startswith(SCHEMES):
        from qa_station.text import shown

        scheme = shown(str(url).split(":", 1)[0], 40)
        raise StoreError(
            f"unsupported store URL (scheme {scheme}): use sqlite:///PATH or "
            "postgresql://USER@HOST/DATABASE"
        )
    if url.startswith("sqlite"):
        if ca_file:
            raise StoreError("[store] ca_file is for a floor database (PostgreSQL), not SQLite")
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            dbapi_conn.isolation_level = None  # transactions are begun explicitly below
            cur = dbapi_conn.cursor()
            # journal_mode=WAL is a property of the file: set by migrate() once the store is
            # known to be the station's, never on a file that is not (it would write to it).
            cur.execute("PRAGMA synchronous=FULL")  # a committed row survives a power cut
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # A writer takes the write lock at once: two writers must not both read the
            # chain head. Readers begin normally and read alongside (WAL).
            if conn.get_execution_options().get("qa_write"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    try:
        return create_engine(
            url, pool_pre_ping=True, connect_args={"connect_timeout": 5, **_tls(ca_file)}
        )
    except (ArgumentError, ValueError) as exc:
        raise StoreError(f"a store URL that cannot be used ({_reason(exc)})") from None


def _is_connection_problem(exc: DBAPIError) -> bool:
    if getattr(exc, "connection_invalidated", False):
        return True
    msg = str(exc.orig).lower() if exc.orig else ""
    words = (
        "connection",
        "server closed",
        "could not connect",
        "terminating",
        "shutdown",
        "unable to open",
    )
    return any(w in msg for w in words)


def _reason(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    return (
        str(orig or exc).strip().splitlines()[0] if str(orig or exc).strip() else type(exc).__name__
    )


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def open_store(
    config: StationConfig,
    paths: StationPaths | None = None,
    url: str | None = None,
    clock: Callable[[], float] = time.time,
    read_only: bool | None = None,
) -> Store:
    """The station's store as its config says (or ``url``), schema brought up to date; an
    auditor's station (``read_only``, default: the config's role) only checks it."""
    from qa_station.paths import ensure_dir, station_paths

    p = paths or station_paths()
    chosen = url or config.store_url
    if not chosen:
        ensure_dir(p.data_dir)
        chosen = sqlite_url(p.database_file)
    store = Store(
        chosen,
        p.images_dir,
        station_id=config.station_id,
        clock=clock,
        keys_dir=p.keys_dir,
        witness_dir=p.witness_dir,
        read_only=config.station_role == "auditor" if read_only is None else read_only,
        ca_file=config.store_ca_file or None,
    )
    store.images.full_frames = config.image_full_frames
    try:
        store.migrate()
    except BaseException:
        store.engine.dispose()
        raise
    return store
