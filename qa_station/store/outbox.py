"""The bench's local outbox: what it did while the floor database was down.

A SQLite file on the bench's own disk, written before the operator is told
an action is done (WAL, synchronous=FULL), so a crash or a restart loses
nothing. Entries are sent to the floor database in the order they were
made; each carries a key unique across benches, recorded with the events it
produces (``outbox_receipts``), so an entry sent just before a crash is not
sent twice.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass
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
    ) -> Entry:
        try:
            with self._lock:
                cur = self._db.execute(
                    "INSERT INTO entries (key, action, serial, end_label, args, actor, done_at_us)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        key,
                        action,
                        serial,
                        end,
                        json.dumps(args, sort_keys=True, allow_nan=False),
                        json.dumps(actor, sort_keys=True),
                        done_at_us,
                    ),
                )
                seq = int(cur.lastrowid)
        except sqlite3.Error as exc:
            raise OutboxError(
                f"the local outbox {self.path} cannot keep this action: {exc}"
            ) from None
        return Entry(seq, key, action, serial, end, args, actor, done_at_us)

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
            with self._lock:
                self._db.execute(
                    "UPDATE entries SET state = ?, outcome = ?, sent_us = ? WHERE seq = ?",
                    (state, outcome, sent_us, seq),
                )
        except sqlite3.Error as exc:
            raise OutboxError(f"the local outbox {self.path} cannot be updated: {exc}") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _select(self, tail: str) -> list[Entry]:
        try:
            with self._lock:
                rows = self._db.execute(
                    "SELECT seq, key, action, serial, end_label, args, actor, done_at_us, state,"
                    f" outcome FROM entries {tail}"
                ).fetchall()
        except sqlite3.Error as exc:
            raise OutboxError(f"the local outbox {self.path} cannot be read: {exc}") from None
        return [
            Entry(
                r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6]), r[7], r[8], r[9]
            )
            for r in rows
        ]
