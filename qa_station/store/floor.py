"""The floor database's own rules: insert-only audit tables, the roles, frames moved in.

On PostgreSQL the record defends itself instead of trusting every bench:

- a trigger on every audit table raises on UPDATE, DELETE and TRUNCATE, whoever
  sends them (the owner too, unless it drops the trigger on purpose);
- the bench's role may SELECT and INSERT the audit tables and never UPDATE or
  DELETE them (GRANTs); it may change only the tables that are not evidence
  (the chain head, accounts and their sessions, sign-in delays, store
  settings), and it cannot change the schema: a separate owner role runs the
  migrations (``qa-station store upgrade``) and gives the grants
  (``qa-station store grant``);
- an auditor's role may only SELECT.

``move_frames`` moves a bench's local frames (``<data>/images``) into the floor
store, each one hashed on the way: migration 0007 runs it for the bench that
migrates, ``qa-station store move-frames`` for every other bench.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, insert, select

from qa_station.store.images import ImageFolder, ImageStoreError, changed
from qa_station.store.models import Image, ImageData

# Evidence: rows only ever inserted (the append-only test watches the SQL of a working day).
AUDIT_TABLES = (
    "events",
    "inspections",
    "inspection_fibers",
    "cleanings",
    "images",
    "image_data",
    "image_removals",
    "assemblies",
    "ends",
    "products",
    "stations",
    "station_keys",
    "checkpoints",
    "outbox_receipts",
)
# Not evidence, changed in place by legitimate code: the chain head (the writers' lock and a
# cache of where the chain ends), accounts (counters, hashes, active), sessions (ended at
# sign-out), sign-in delays per place, and the store's few settings.
BENCH_MUTABLE = ("chain_head", "operators", "sign_ins", "sign_in_sources", "store_settings")
READ_ONLY = ("alembic_version",)
REFUSE_FUNCTION = "qa_station_refuse_rewrite"
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def append_only_sql(tables: Iterable[str] = AUDIT_TABLES) -> list[str]:
    """The trigger function and the triggers that refuse rewriting the audit tables."""
    out = [
        f"""CREATE OR REPLACE FUNCTION {REFUSE_FUNCTION}() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'qa-station: % on % refused: the record is insert-only',
                TG_OP, TG_TABLE_NAME USING ERRCODE = '42501';
        END
        $$"""
    ]
    for t in tables:
        out.append(
            f"CREATE TRIGGER qa_insert_only BEFORE UPDATE OR DELETE ON {t} "
            f"FOR EACH ROW EXECUTE FUNCTION {REFUSE_FUNCTION}()"
        )
        out.append(
            f"CREATE TRIGGER qa_no_truncate BEFORE TRUNCATE ON {t} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {REFUSE_FUNCTION}()"
        )
    return out


def role_name(role: str) -> str:
    if not isinstance(role, str) or not _ROLE.match(role):
        raise ValueError(
            f"role name {str(role)[:70]!r}: lower-case letters, digits and '_', at most 63"
        )
    return role


def _grants(role: str, *privileges: str) -> list[str]:
    """A role's grants from nothing: whatever it had is revoked, then it may use the schema
    and each of ``privileges`` (``"SELECT ON <tables>"``)."""
    r = role_name(role)
    return [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {r}",
        f"GRANT USAGE ON SCHEMA public TO {r}",
        *(f"GRANT {p} TO {r}" for p in privileges),
    ]


def bench_grants(role: str) -> list[str]:
    """What a bench's role may do (run by the owner after every upgrade)."""
    return _grants(
        role,
        f"SELECT, INSERT ON {', '.join(AUDIT_TABLES)}",
        f"SELECT, INSERT, UPDATE ON {', '.join(BENCH_MUTABLE)}",
        f"SELECT ON {', '.join(READ_ONLY)}",
        "USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public",
    )


def auditor_grants(role: str) -> list[str]:
    """An auditor's station reads the floor record and writes nothing."""
    return _grants(role, "SELECT ON ALL TABLES IN SCHEMA public")


@dataclass
class Moved:
    """What ``move_frames`` did with a bench's folder."""

    moved: int = 0  # written into the floor store now
    already: int = 0  # the floor store had them
    unrecorded: int = 0  # files no image row names (an interrupted action's): left alone
    bad: list[str] = field(default_factory=list)  # files whose bytes are not their name
    deleted: int = 0  # local files removed after the floor store's copy was read back

    def to_dict(self) -> dict[str, int | list[str]]:
        return {
            "moved": self.moved,
            "already": self.already,
            "unrecorded": self.unrecorded,
            "bad": self.bad,
            "deleted": self.deleted,
        }


def move_frames(conn: Connection, folder: ImageFolder, batch: int = 200) -> Moved:
    """Insert every recorded frame of ``folder`` the floor store lacks, in ``conn``'s
    transaction, each hashed first: a file that is not what its name says is named in
    ``bad`` and not moved (the record then calls that frame missing or changed)."""
    out = Moved()
    names = sorted(folder.names())
    for i in range(0, len(names), batch):
        chunk = names[i : i + batch]
        recorded = set(conn.execute(select(Image.sha256).where(Image.sha256.in_(chunk))).scalars())
        have = set(
            conn.execute(select(ImageData.sha256).where(ImageData.sha256.in_(chunk))).scalars()
        )
        for sha in chunk:
            if sha not in recorded:
                out.unrecorded += 1
                continue
            if sha in have:
                out.already += 1
                continue
            try:
                data = folder.read_bytes(sha)
            except ImageStoreError as exc:
                out.bad.append(f"{sha[:12]}: {exc}")
                continue
            problem = changed(sha, data)
            if problem:
                out.bad.append(f"{folder.relpath(sha)}: {problem}")
                continue
            conn.execute(insert(ImageData).values(sha256=sha, data=data))
            out.moved += 1
    return out


def delete_moved(conn: Connection, folder: ImageFolder, report: Moved) -> None:
    """Remove local files whose copy in the floor store reads back whole (after commit)."""
    names = list(folder.names())
    for i in range(0, len(names), 200):
        chunk = names[i : i + 200]
        rows = conn.execute(
            select(ImageData.sha256, ImageData.data).where(ImageData.sha256.in_(chunk))
        )
        for sha, data in rows:
            if changed(sha, bytes(data)) is None:
                folder.remove(sha)
                report.deleted += 1
