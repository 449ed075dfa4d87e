"""A forger with full access to the station's database file, but not the station's key.

Each attack edits the SQLite file with the plain sqlite3 module, the way someone with a
copy of the database and a text editor would, and leaves the record as consistent as
they can make it without the key: hashes recomputed, the chain head moved, checkpoints
they cannot re-sign removed. ``audit verify`` must catch every one.
"""

from __future__ import annotations

import json
import random
import sqlite3
import tempfile
from pathlib import Path
from types import SimpleNamespace

from qa_station.store.chain import GENESIS, hash_of, signed_text
from qa_station.store.keys import RecordKey, load_record_key
from reports.signing import create_self_signed

AUDIT_TABLES = (
    "inspection_fibers",
    "inspections",
    "cleanings",
    "outbox_receipts",
    "events",
    "ends",
    "assemblies",
    "products",
    "images",
    "checkpoints",
)
COLUMNS = (
    "id, kind, assembly_id, end_label, payload, operator, station_id, created_us, prev_hash, "
    "hash, format, session, mono_us, key_id, signature"
)


def rows(db: sqlite3.Connection) -> list[SimpleNamespace]:
    names = [c.strip() for c in COLUMNS.split(",")]
    return [
        SimpleNamespace(**dict(zip(names, r, strict=True)))
        for r in db.execute(f"SELECT {COLUMNS} FROM events ORDER BY id")
    ]


def forger_key() -> RecordKey:
    """A key of the forger's own, with a self-signed certificate naming the station, made
    the way the station makes its own."""
    folder = Path(tempfile.mkdtemp(prefix="qa-forger-"))
    create_self_signed(folder, "bench-1")
    return load_record_key(folder, "bench-1")


def rechain(db: sqlite3.Connection, start: int, key: RecordKey | None = None) -> None:
    """Recompute every hash from the event at index ``start`` on (signing with ``key``, the
    forger's, when given), and move the chain head to the new end."""
    evs = rows(db)
    prev = evs[start - 1].hash if start > 0 else GENESIS
    for ev in evs[start:]:
        ev.prev_hash = prev
        ev.hash = hash_of(ev)
        if key is not None:
            ev.key_id, ev.signature = key.id, key.sign(signed_text(ev.hash))
        db.execute(
            "UPDATE events SET prev_hash = ?, hash = ?, key_id = ?, signature = ? WHERE id = ?",
            (ev.prev_hash, ev.hash, ev.key_id, ev.signature, ev.id),
        )
        prev = ev.hash
    set_head(db)


def set_head(db: sqlite3.Connection) -> None:
    last = db.execute("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
    count = db.execute("SELECT count(*) FROM events").fetchone()[0]
    last_id, last_hash = last if last else (0, GENESIS)
    db.execute(
        "UPDATE chain_head SET last_event_id = ?, last_hash = ?, event_count = ?",
        (last_id, last_hash, count),
    )
    # Checkpoints past the new end would give it away: the forger removes them.
    db.execute("DELETE FROM checkpoints WHERE head_id > ?", (last_id,))


# -- the attacks: each returns what it did, in words ------------------------------------------


def rehash(db: sqlite3.Connection, rng: random.Random) -> str:
    """Change one event's content (a failed inspection made a pass when there is one) and
    recompute every hash after it; its signature cannot be remade."""
    evs = rows(db)
    failed = [i for i, e in enumerate(evs) if '"verdict":"fail"' in e.payload]
    i = rng.choice(failed) if failed and rng.random() < 0.5 else rng.randrange(len(evs))
    payload = json.loads(evs[i].payload)
    if payload.get("verdict") == "fail":
        payload["verdict"], payload["failed_fibers"], payload["failures"] = "pass", [], []
    else:
        payload["forged"] = True
    db.execute(
        "UPDATE events SET payload = ? WHERE id = ?",
        (json.dumps(payload, sort_keys=True, separators=(",", ":")), evs[i].id),
    )
    rechain(db, i)
    return f"re-hash from event {evs[i].id} ({evs[i].kind})"


def rehash_and_resign(db: sqlite3.Connection, rng: random.Random) -> str:
    """As ``rehash``, then sign every event and checkpoint with a key of the forger's own,
    registered in the record with a certificate that names the station."""
    did = rehash(db, rng)
    key = forger_key()
    db.execute(
        "INSERT INTO station_keys (key_id, station_id, certificate, registered_us) "
        "VALUES (?, 'bench-1', ?, 0)",
        (key.id, key.certificate_pem),
    )
    db.execute("DELETE FROM station_keys WHERE key_id != ?", (key.id,))
    rechain(db, 0, key)
    db.execute("DELETE FROM checkpoints")
    return did + ", re-signed with the forger's own key"


def delete(db: sqlite3.Connection, rng: random.Random) -> str:
    """Remove one event from the middle (and the row it sealed), and re-chain the rest."""
    evs = rows(db)
    i = rng.randrange(1, len(evs) - 1)
    ev = evs[i]
    payload = json.loads(ev.payload)
    if ev.kind == "end.inspected":
        db.execute(
            "DELETE FROM inspection_fibers WHERE inspection_id = ?", (payload["inspection_id"],)
        )
        db.execute("DELETE FROM inspections WHERE id = ?", (payload["inspection_id"],))
    elif ev.kind == "end.cleaned":
        db.execute("DELETE FROM cleanings WHERE id = ?", (payload["cleaning_id"],))
    db.execute("DELETE FROM events WHERE id = ?", (ev.id,))
    rechain(db, i)
    return f"delete event {ev.id} ({ev.kind})"


def truncate(db: sqlite3.Connection, rng: random.Random) -> str:
    """Cut the last events off the chain and move the head back."""
    n = len(rows(db))
    k = rng.randint(1, max(1, n // 3))
    db.execute(
        "DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id DESC LIMIT ?)", (k,)
    )
    set_head(db)
    return f"truncate the last {k} event(s)"


def empty(db: sqlite3.Connection, rng: random.Random) -> str:
    """Every audit row removed; the chain head reset to the empty chain."""
    for table in AUDIT_TABLES:
        db.execute(f"DELETE FROM {table}")
    set_head(db)
    return "empty every audit table"


ATTACKS = {
    "re-hash": rehash,
    "re-hash and re-sign": rehash_and_resign,
    "delete": delete,
    "truncate": truncate,
    "empty": empty,
}


def copy_db(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite file (WAL included)."""
    target.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def attack(path: Path, name: str, rng: random.Random) -> str:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN")
        did = ATTACKS[name](db, rng)
        db.execute("COMMIT")
    finally:
        db.close()
    return did
