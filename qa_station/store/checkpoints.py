"""Signed checkpoints of the chain, and the bench's witness of them.

Modelled on Certificate Transparency's signed tree heads (RFC 6962, 9162):
the station signs (event count, head event, head hash, time) and hands the
signed head to parties outside the database. Whoever kept one can later
show that the record no longer extends it: a rewritten, rolled-back,
truncated or emptied record fails against every older head.

Checkpoints are kept in three places: the ``checkpoints`` table (written
every N events, at every certificate, at shutdown, and by the migration
that signed an older store); the bench's witness file, an append-only JSON
lines file next to the database, fsynced; and each certificate, which
carries the checkpoint it was issued under. After every write the bench
also replaces a small signed ``head`` file with the newest head, so even
the events since the last checkpoint cannot be cut off unseen.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from grading.projection import fields_dict
from qa_station.store.chain import canonical
from qa_station.store.keys import PublicKey, RecordKey, check_signature

CHECKPOINT_KIND = "qa-station checkpoint"
CHECKPOINT_VERSION = 1
EVERY_EVENTS = 100  # a checkpoint at least this often (the head file follows every write)
REASONS = ("migration", "events", "certificate", "shutdown", "commit", "audit")


class WitnessError(OSError):
    """The witness file cannot be written or read."""


@dataclass(frozen=True)
class Checkpoint:
    station: str
    events: int  # how many events the chain holds up to and including head_id
    head_id: int
    head_hash: str
    at_us: int
    reason: str
    key: str  # id of the key that signed it
    signature: str = ""

    def body(self) -> dict[str, Any]:
        """What is signed (RFC 8785 canonical JSON of this object)."""
        return {
            "kind": CHECKPOINT_KIND,
            "v": CHECKPOINT_VERSION,
            "station": self.station,
            "events": self.events,
            "head_id": self.head_id,
            "head_hash": self.head_hash,
            "at_us": self.at_us,
            "reason": self.reason,
            "key": self.key,
        }

    def signed_bytes(self) -> bytes:
        return canonical(self.body()).encode("utf-8")

    def signed_by(self, key: RecordKey) -> Checkpoint:
        unsigned = Checkpoint(**{**asdict(self), "signature": "", "key": key.id})
        return Checkpoint(**{**asdict(unsigned), "signature": key.sign(unsigned.signed_bytes())})

    def holds(self, public: PublicKey) -> bool:
        return check_signature(public, self.signature, self.signed_bytes())

    def to_dict(self) -> dict[str, Any]:
        return {**self.body(), "sig": self.signature}

    def row(self) -> dict[str, Any]:
        """The columns of its row in the ``checkpoints`` table."""
        return fields_dict(self, rename={"station": "station_id", "key": "key_id"})

    @classmethod
    def of_row(cls, r: Any) -> Checkpoint:
        return cls(
            r.station_id,
            int(r.events),
            int(r.head_id),
            r.head_hash,
            int(r.at_us),
            r.reason,
            r.key_id,
            r.signature,
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Checkpoint:
        if d.get("kind") != CHECKPOINT_KIND or d.get("v") != CHECKPOINT_VERSION:
            raise ValueError("not a qa-station checkpoint")
        try:
            return cls(
                station=str(d["station"]),
                events=int(d["events"]),
                head_id=int(d["head_id"]),
                head_hash=str(d["head_hash"]),
                at_us=int(d["at_us"]),
                reason=str(d["reason"]),
                key=str(d["key"]),
                signature=str(d["sig"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"a checkpoint with a missing or wrong field ({exc})") from None

    def describe(self) -> str:
        return (
            f"checkpoint of {self.events} events up to event {self.head_id} "
            f"({self.reason}, station {self.station})"
        )


class Witness:
    """The bench's own copy of the checkpoints of one store, outside the database."""

    def __init__(self, folder: Path, store_url: str) -> None:
        name = hashlib.sha256(store_url.encode("utf-8")).hexdigest()[:16]
        self.folder = Path(folder)
        self.log = self.folder / f"{name}.checkpoints.jsonl"
        self.head = self.folder / f"{name}.head.json"

    def append(self, cp: Checkpoint) -> None:
        """Add a checkpoint to the log, on disk before this returns."""
        line = (canonical(cp.to_dict()) + "\n").encode("utf-8")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise WitnessError(f"the witness {self.log} cannot be written: {exc}") from None

    def set_head(self, cp: Checkpoint) -> None:
        """Replace the newest head (whole, or not at all)."""
        tmp = self.head.with_name(self.head.name + ".tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp.write_text(canonical(cp.to_dict()), "utf-8")
            os.replace(tmp, self.head)
        except OSError as exc:
            raise WitnessError(f"the witness {self.head} cannot be written: {exc}") from None

    def read(self) -> tuple[list[Checkpoint], list[str]]:
        """Every checkpoint witnessed (the log, then the head), and what could not be read."""
        found: list[Checkpoint] = []
        problems: list[str] = []
        if self.log.is_file():
            lines = self.log.read_bytes().split(b"\n")
            for n, raw in enumerate(lines, 1):
                if not raw.strip():
                    continue
                try:
                    found.append(Checkpoint.from_dict(json.loads(raw)))
                except ValueError as exc:
                    if n == len(lines):  # a line cut short by a power cut: nothing followed
                        continue
                    problems.append(f"witness {self.log.name} line {n}: unreadable ({exc})")
        if self.head.is_file():
            try:
                found.append(Checkpoint.from_dict(json.loads(self.head.read_bytes())))
            except ValueError as exc:
                problems.append(f"witness {self.head.name}: unreadable ({exc})")
        return found, problems

    def exists(self) -> bool:
        return self.log.is_file() or self.head.is_file()
