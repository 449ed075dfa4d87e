"""``qa-station store upgrade|grant|move-frames``: the floor database's own chores.

``upgrade`` is the owner's: the schema brought up to date (run with the owner
role's URL), then the bench's and the auditor's grants given again. ``grant``
gives (or, with ``--print``, prints) the grants alone. ``move-frames`` moves
this bench's frames (``<data>/images``) into the floor store, every one hashed
on the way; ``--delete-local`` then removes each local file whose copy reads
back whole from the database.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from qa_station.commands.common import CommandError, db_option, fails_as, station
from qa_station.store import StoreError
from qa_station.store.images import DatabaseImages

if TYPE_CHECKING:  # imported where a command opens it, as below
    from qa_station.store.store import Store

OWNER_URL = "the floor database, as its owner"


def add_arguments(p: argparse.ArgumentParser) -> None:
    ssub = p.add_subparsers(dest="store_command", metavar="COMMAND", required=True)
    u = ssub.add_parser(
        "upgrade", help="the owner: bring the schema up to date, then give the roles' grants"
    )
    db_option(u, OWNER_URL, required=True)
    _role_options(u)
    u.set_defaults(func=run_upgrade)
    g = ssub.add_parser("grant", help="give the bench's and the auditor's roles their rights")
    db_option(g, OWNER_URL)
    g.add_argument("--print", action="store_true", help="print the SQL instead of running it")
    _role_options(g)
    g.set_defaults(func=run_grant)
    m = ssub.add_parser(
        "move-frames",
        help="move this bench's frames into the floor database, each hash checked",
    )
    db_option(m)
    m.add_argument(
        "--delete-local",
        action="store_true",
        help="then remove each local file whose copy in the database reads back whole",
    )
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=run_move)


def _role_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bench-role", metavar="ROLE", help="the benches' role: insert, never rewrite")
    p.add_argument("--auditor-role", metavar="ROLE", help="the auditors' role: read only")


def _grants(args: argparse.Namespace) -> list[str]:
    from qa_station.store.floor import auditor_grants, bench_grants

    try:
        out = bench_grants(args.bench_role) if args.bench_role else []
        out += auditor_grants(args.auditor_role) if args.auditor_role else []
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return out


def _run_sql(store: Store, statements: list[str]) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with store.engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    except DBAPIError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise CommandError(f"the grants were refused ({reason}): nothing was changed") from None


def _owner_store(url: str) -> Store:
    from qa_station.paths import station_paths
    from qa_station.store.store import Store

    p = station_paths()
    store = Store(url, p.images_dir, keys_dir=p.keys_dir, witness_dir=p.witness_dir)
    if store.dialect != "postgresql":
        store.engine.dispose()
        raise CommandError("store upgrade and grant are for a floor database (PostgreSQL)")
    return store


@fails_as("store upgrade", StoreError)
def run_upgrade(args: argparse.Namespace) -> int:
    store = _owner_store(args.db)
    try:
        was = store.upgrade()
        _run_sql(store, _grants(args))
    finally:
        store.engine.dispose()
    from qa_station.store.store import head_revision

    print(f"schema {was or 'none'} -> {head_revision()}; grants given to: "
          f"{', '.join(r for r in (args.bench_role, args.auditor_role) if r) or 'nobody'}")  # fmt: skip
    if store.frames_moved is not None and isinstance(store.images, DatabaseImages):
        print(f"frames moved in from {store.images.local.root}: {store.frames_moved.moved}")
    return 0


@fails_as("store grant")
def run_grant(args: argparse.Namespace) -> int:
    statements = _grants(args)
    if not statements:
        raise CommandError("name --bench-role, --auditor-role or both")
    if args.print:
        print(";\n".join(statements) + ";")
        return 0
    if not args.db:
        raise CommandError("--db URL: the floor database, as its owner (or --print)")
    store = _owner_store(args.db)
    try:
        _run_sql(store, statements)
    finally:
        store.engine.dispose()
    print(f"{len(statements)} grant statement(s) run")
    return 0


@fails_as("store move-frames", StoreError, OSError)
def run_move(args: argparse.Namespace) -> int:
    from qa_station.store.floor import delete_moved, move_frames
    from qa_station.store.images import DatabaseImages

    _, store, _ = station(args.db)
    try:
        if not isinstance(store.images, DatabaseImages):
            raise CommandError(
                "this station's store is SQLite: its frames stay in its folder (move them when "
                "the station joins a floor database: qa-station store move-frames --db URL)"
            )
        folder = store.images.local
        with store.engine.begin() as conn:
            moved = move_frames(conn, folder)
        if args.delete_local:
            with store.engine.connect() as conn:
                delete_moved(conn, folder, moved)
    finally:
        store.close()
    if args.json:
        print(json.dumps(moved.to_dict(), indent=1))
    else:
        print(
            f"{moved.moved} frame(s) moved into the floor database, {moved.already} were there, "
            f"{moved.unrecorded} file(s) named by no record left alone, "
            f"{moved.deleted} local file(s) removed"
        )
        for line in moved.bad:
            print(f"NOT MOVED (not what its name says): {line}")
    return 1 if moved.bad else 0
