"""The bench's local outbox: what it did while the floor database was down.

A SQLite file on the bench's own disk, written before the operator is told
an action is done (WAL, synchronous=FULL), so a crash or a restart loses
nothing. Entries are sent to the floor database in the order they were
made; each carries a key unique across benches, recorded with the events it
produces (``outbox_receipts``), so an entry sent just before a crash is not
sent twice. Each entry is signed with the bench's key when it is kept, so an
entry written into the file by hand is refused when it is sent.

An inspection's frames travel with it: their bytes are kept in the same file,
in the same transaction as the entry (``frames``), and sent with the action
into the floor store (which holds every frame); once the entry is settled
they are dropped here.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

PENDING, SENT, CONFLICT = "pending", "sent", "conflict"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    action TEXT NOT NULL,
    serial TEXT,
    end_label TEXT,
    args TEXT NOT NULL,
    actor TEXT NOT NULL,
    done_at_us INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    outcome TEXT,
    sent_us INTEGER
)
"""
# What the bench last knew, to open with when it starts while the floor database is down:
# the state of each serial it worked, and who signed in here (their password's scrypt hash,
# as the floor database holds it; readable by the station's user only).
_MEMORY = """
CREATE TABLE IF NOT EXISTS known (serial TEXT PRIMARY KEY, state TEXT NOT NULL, at_us INTEGER);
CREATE TABLE IF NOT EXISTS people (
    username TEXT PRIMARY KEY, display_name TEXT, role TEXT, password_hash TEXT, at_us INTEGER
);
CREATE TABLE IF NOT EXISTS frames (sha256 TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS entry_frames (
    seq INTEGER NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (seq, sha256)
);
"""
# Added since the first outbox files: an older file gets them at open.
_COLUMNS = {"session": "TEXT", "mono_us": "INTEGER", "signature": "TEXT"}
ENTRY_KIND = "qa-station outbox entry"


class OutboxError(OSError):
    """The local outbox cannot be written or read (disk full, file damaged)."""


@dataclass(frozen=True)
class Entry:
    seq: int
    key: str
    action: str
    serial: str | None
    end: str | None
    args: dict[str, Any]
    actor: dict[str, str]
    done_at_us: int
    state: str = PENDING
    outcome: str | None = None
    session: str | None = None
    mono_us: int | None = None
    signature: str | None = None

    def signed_body(self, station_id: str) -> dict[str, Any]:
        """What the bench signs when it keeps the entry (RFC 8785 canonical JSON of it)."""
        return {
            "kind": ENTRY_KIND,
            "station": station_id,
            "key": self.key,
            "action": self.action,
            "serial": self.serial,
            "end": self.end,
            "args": self.args,
            "actor": self.actor,
            "done_at_us": self.done_at_us,
            "session": self.session,
            "mono_us": self.mono_us,
        }


class Outbox:
    def __init__(self, path: Path, station_id: str) -> None:
        self.path = Path(path)
        self.station_id = station_id
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
            self._db.executescript(_MEMORY)
            self.path.chmod(0o600)
            have = {r[1] for r in self._db.execute("PRAGMA table_info(entries)")}
            for column, sql_type in _COLUMNS.items():
                if column not in have:
                    self._db.execute(f"ALTER TABLE entries ADD COLUMN {column} {sql_type}")
        except sqlite3.Error as exc:
            raise OutboxError(f"the local outbox {self.path} cannot be opened: {exc}") from None

    def new_key(self) -> str:
        return f"{self.station_id}:{uuid.uuid4().hex}"

    def add(
        self,
        key: str,
        action: str,
        serial: str | None,
        end: str | None,
        args: dict[str, Any],
        actor: dict[str, str],
        done_at_us: int,
        session: str | None = None,
        mono_us: int | None = None,
        sign: Callable[[Entry], str] | None = None,
        frames: dict[str, bytes] | None = None,
    ) -> Entry:
        """Keep an action; ``sign`` gives the entry's signature (the bench's key); ``frames``
        (sha256: PNG bytes) are kept with it, in the same transaction."""
        entry = Entry(0, key, action, serial, end, args, actor, done_at_us, PENDING, None)
        entry = replace(entry, session=session, mono_us=mono_us)
        signature = sign(entry) if sign is not None else None
        try:
            with self._lock, self._transaction():
                cur = self._db.execute(
                    "INSERT INTO entries (key, action, serial, end_label, args, actor, done_at_us,"
                    " session, mono_us, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        key,
                        action,
                        serial,
                        end,
                        json.dumps(args, sort_keys=True, allow_nan=False),
                        json.dumps(actor, sort_keys=True),
                        done_at_us,
                        session,
                        mono_us,
                        signature,
                    ),
                )
                assert cur.lastrowid is not None  # set by every INSERT
                seq = int(cur.lastrowid)
                for sha, data in (frames or {}).items():
                    self._db.execute(
                        "INSERT OR IGNORE INTO frames (sha256, data) VALUES (?, ?)", (sha, data)
                    )
                    self._db.execute(
                        "INSERT OR IGNORE INTO entry_frames (seq, sha256) VALUES (?, ?)",
                        (seq, sha),
                    )
        except sqlite3.Error as exc:
            raise OutboxError(
                f"the local outbox {self.path} cannot keep this action: {exc}"
            ) from None
        return replace(entry, seq=seq, signature=signature)

    def pending(self) -> list[Entry]:
        return self._select("WHERE state = 'pending' ORDER BY seq")

    def entries(self) -> list[Entry]:
        return self._select("ORDER BY seq")

    def count(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT count(*) FROM entries WHERE state = 'pending'")
            return int(row.fetchone()[0])

    def settle(self, seq: int, state: str, outcome: str | None, sent_us: int) -> None:
        """Mark an entry as sent (or sent with a conflict the operator must hear of)."""
        try:
            with self._lock, self._transaction():
                self._db.execute(
                    "UPDATE entries SET state = ?, outcome = ?, sent_us = ? WHERE seq = ?",
                    (state, outcome, sent_us, seq),
                )
                # Its frames are in the floor store now (or refused with it): not kept here.
                self._db.execute("DELETE FROM entry_frames WHERE seq = ?", (seq,))
                self._db.execute(
                    "DELETE FROM frames WHERE sha256 NOT IN (SELECT sha256 FROM entry_frames)"
                )
        except sqlite3.Error as exc:
            raise OutboxError(f"the local outbox {self.path} cannot be updated: {exc}") from None

    def frames(self, seq: int) -> dict[str, bytes]:
        """The frames kept with an entry (sha256: PNG bytes)."""
        rows = self._read(
            "SELECT f.sha256, f.data FROM entry_frames e JOIN frames f ON f.sha256 = e.sha256 "
            "WHERE e.seq = ?",
            (seq,),
        )
        return {sha: bytes(data) for sha, data in rows}

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- what the bench last knew -----------------------------------------------------------
    def remember(self, serial: str, state: dict[str, Any], at_us: int) -> None:
        self._write(
            "INSERT OR REPLACE INTO known (serial, state, at_us) VALUES (?, ?, ?)",
            (serial, json.dumps(state, sort_keys=True), at_us),
        )

    def known(self) -> dict[str, dict[str, Any]]:
        rows = self._read("SELECT serial, state FROM known ORDER BY at_us")
        return {serial: json.loads(state) for serial, state in rows}

    def keep_person(
        self, username: str, display_name: str, role: str, password_hash: str | None, at_us: int
    ) -> None:
        self._write(
            "INSERT OR REPLACE INTO people (username, display_name, role, password_hash, at_us)"
            " VALUES (?, ?, ?, ?, ?)",
            (username, display_name, role, password_hash, at_us),
        )

    def person(self, username: str) -> tuple[str, str, str | None] | None:
        """(display name, role, password hash) of someone who signed in at this bench."""
        rows = self._read(
            "SELECT display_name, role, password_hash FROM people WHERE username = ?", (username,)
        )
        return tuple(rows[0]) if rows else None

    def latest_us(self) -> int | None:
        """The latest time this bench recorded here (to anchor its clock when it starts)."""
        rows = self._read(
            "SELECT max(t) FROM (SELECT max(done_at_us) AS t FROM entries UNION ALL "
            "SELECT max(at_us) FROM known)"
        )
        return rows[0][0] if rows else None

    def _write(self, statement: str, params: tuple[object, ...]) -> None:
        try:
            with self._lock:
                self._db.execute(statement, params)
        except sqlite3.Error as exc:
            raise OutboxError(f"the local outbox {self.path} cannot be written: {exc}") from None

    def _read(self, statement: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._lock:
                return self._db.execute(statement, params).fetchall()
        except sqlite3.Error as exc:
            raise OutboxError(f"the local outbox {self.path} cannot be read: {exc}") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _select(self, tail: str) -> list[Entry]:
        try:
            with self._lock:
                rows = self._db.execute(
                    "SELECT seq, key, action, serial, end_label, args, actor, done_at_us, state,"
                    f" outcome, session, mono_us, signature FROM entries {tail}"
                ).fetchall()
            return [
                Entry(
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    json.loads(r[5]),
                    json.loads(r[6]),
                    r[7],
                    r[8],
                    r[9],
                    r[10],
                    r[11],
                    r[12],
                )
                for r in rows
            ]
        except sqlite3.Error as exc:
            raise OutboxError(f"the local outbox {self.path} cannot be read: {exc}") from None
        except ValueError as exc:  # hand-edited JSON
            raise OutboxError(
                f"the local outbox {self.path} holds a damaged entry: {exc}"
            ) from None
