"""A store written before the record was signed (revision 0003, format 1 events) migrates:
its head is signed as its first checkpoint, its old events stay as they were and still
verify, and from then on none of them can be changed, re-hashed or cut off unseen."""

from __future__ import annotations

import json

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from qa_station.store import Store
from qa_station.store.chain import GENESIS, legacy_canonical, legacy_event_hash
from qa_station.store.kinds import Kind
from qa_station.store.store import MIGRATIONS
from qa_station.store.verify import verify


def old_store(url: str, tmp_path) -> Store:
    """A store at revision 0003 with three events of the old, unsigned format."""
    store = Store(url, tmp_path / "images", station_id="bench-1")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        prev = GENESIS
        for n in (1, 2, 3):
            payload = legacy_canonical({"n": n, "probe": "uvc-0", "um_per_px": 0.3125})
            at = 1_700_000_000_000_000 + n
            h = legacy_event_hash(prev, n, "station.configured", None, None, payload, "root",
                                  "bench-1", at)  # fmt: skip
            conn.execute(
                text(
                    "INSERT INTO events (id, assembly_id, end_label, kind, payload, operator, "
                    "station_id, created_us, prev_hash, hash) VALUES (:i, NULL, NULL, "
                    "'station.configured', :p, 'root', 'bench-1', :a, :prev, :h)"
                ),
                {"i": n, "p": payload, "a": at, "prev": prev, "h": h},
            )
            prev = h
        conn.execute(text("UPDATE chain_head SET last_event_id = 3, last_hash = :h"), {"h": prev})
    return store


def sql(store: Store, statement: str, **params) -> list:
    with store.engine.begin() as conn:
        result = conn.execute(text(statement), params)
        return result.all() if result.returns_rows else []


def test_an_old_store_migrates_with_its_head_signed_as_the_first_checkpoint(store_url, tmp_path):
    store = old_store(store_url, tmp_path)
    try:
        store.migrate()
        (head,) = sql(store, "SELECT hash FROM events WHERE id = 3")[0]
        assert sql(store, "SELECT events, head_id, head_hash, reason FROM checkpoints") == [
            (3, 3, head, "migration")
        ]
        assert sql(store, "SELECT event_count FROM chain_head") == [(3,)]
        assert sql(store, "SELECT DISTINCT format FROM events") == [(1,)]
        with store.write() as w:
            w.event(Kind.STATION_CONFIGURED, {"n": 4})
        report = verify(store)
        assert report.ok, report.problems
        assert (report.events, report.signed) == (4, 1)  # the old three stay unsigned
    finally:
        store.close()


@pytest.mark.parametrize("forge", ["change", "re-hash", "cut"])
def test_the_old_events_are_pinned_by_that_checkpoint(store_url, tmp_path, forge):
    store = old_store(store_url, tmp_path)
    try:
        store.migrate()
        with store.write() as w:
            w.event(Kind.STATION_CONFIGURED, {"n": 4})
        if forge == "change":
            sql(store, "UPDATE events SET payload = :p WHERE id = 2", p='{"n":9}')
        elif forge == "re-hash":  # a forger without the key re-hashes the old events
            rows = sql(
                store, "SELECT id, payload, created_us FROM events WHERE id <= 3 ORDER BY id"
            )
            prev = GENESIS
            for i, payload, at in rows:
                payload = json.dumps({**json.loads(payload), "probe": "forged"})
                h = legacy_event_hash(prev, i, "station.configured", None, None, payload,
                                      "root", "bench-1", at)  # fmt: skip
                sql(store, "UPDATE events SET payload = :p, prev_hash = :prev, hash = :h "
                    "WHERE id = :i", p=payload, prev=prev, h=h, i=i)  # fmt: skip
                prev = h
        else:
            sql(store, "DELETE FROM events WHERE id >= 3")
            sql(store, "DELETE FROM checkpoints WHERE head_id >= 3")
        report = verify(store)
        assert not report.ok
        if forge != "change":
            assert any("checkpoint of 3 events up to event 3 (migration" in p or
                       "holds no signed checkpoint" in p for p in report.problems), report.problems  # fmt: skip
    finally:
        store.close()


def test_the_migrations_are_one_linear_chain():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    assert script.get_heads() == ["0006"]
    chain = [r.revision for r in script.walk_revisions()]  # newest first, each one's parent next
    assert chain == ["0006", "0005", "0004", "0003", "0002", "0001"]
    assert [r.down_revision for r in script.walk_revisions()] == [*chain[1:], None]


def test_an_old_store_with_accounts_migrates_to_sessions_and_image_removals(store_url, tmp_path):
    """0003 -> 0004 (signed chain) -> 0005 (sessions) -> 0006 (image removals): the people of
    an older store sign in with their passwords, their old unkeyed badge is re-keyed at its
    first use, and the record verifies."""
    from qa_station.accounts import BADGE_SCHEME, Accounts, hash_password, legacy_badge_hash

    store = old_store(store_url, tmp_path)
    sql(store, "INSERT INTO operators (username, display_name, role, password_hash, badge_hash, "
        "active, failed_logins, created_us) VALUES ('root', 'Root', 'admin', :pw, :badge, "
        ":t, 0, 1)", pw=hash_password("root password 1"), badge=legacy_badge_hash("BADGE-1"),
        t=True)  # fmt: skip
    try:
        store.migrate()
        assert sql(store, "SELECT version_num FROM alembic_version") == [("0006",)]
        assert sql(store, "SELECT count(*) FROM sign_ins") == [(0,)]
        assert sql(store, "SELECT count(*) FROM image_removals") == [(0,)]
        accounts = Accounts(store, keys_dir=tmp_path / "keys")
        root = accounts.sign_in("root", "root password 1")
        accounts.add("olga", "operator", root, "Olga", "olga password 1")
        assert accounts.sign_in_badge("BADGE-1").username == "root"
        ((badge,),) = sql(store, "SELECT badge_hash FROM operators WHERE username = 'root'")
        assert badge.startswith(BADGE_SCHEME)
        report = verify(store)
        assert report.ok, report.problems
    finally:
        store.close()
