"""Station accounts: scrypt hashes, roles, badges, password changes and the login lockout.

The store gets a fake clock, so a lock expires when the test says so, not after
a real wait.
"""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from qa_station.accounts import (
    FIRST_LOCK_S,
    FREE_ATTEMPTS,
    MAX_LOCK_S,
    AccountLocked,
    Accounts,
    Actor,
    AuthError,
    badge_hash,
    check_password,
    hash_password,
)
from qa_station.store.chain import canonical
from qa_station.store.models import Event, Operator
from qa_station.store.store import Store, sqlite_url
from qa_station.store.verify import verify

ROOT_PW = "root-secret-1"
OP_PW = "operator-pass-2"
SUP_PW = "supervisor-pass-3"
WRONG_PW = "not-the-password"


class FakeClock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path, clock):
    s = Store(sqlite_url(tmp_path / "station.sqlite3"), tmp_path / "images", clock=clock)
    s.migrate()
    yield s
    s.close()


@pytest.fixture
def accounts(store) -> Accounts:
    return Accounts(store)


@pytest.fixture
def root(accounts) -> Actor:
    return accounts.add("root", "admin", None, "Root Admin", ROOT_PW)


@pytest.fixture
def operator(accounts, root) -> Actor:
    return accounts.add("olga", "operator", root, "Olga Operator", OP_PW)


def events(store, kind: str | None = None) -> list[Event]:
    with store.read() as s:
        q = select(Event).order_by(Event.id)
        if kind:
            q = q.where(Event.kind == kind)
        return list(s.execute(q).scalars())


def payloads(store, kind: str) -> list[str]:
    return [e.payload for e in events(store, kind)]


def fail_logins(accounts: Accounts, user: str, n: int) -> None:
    for _ in range(n):
        with pytest.raises(AuthError) as exc:
            accounts.login(user, WRONG_PW)
        assert not isinstance(exc.value, AccountLocked)


# -- hashing -----------------------------------------------------------------------------------


def test_hash_is_scrypt_with_salt_and_key_and_no_password():
    h = hash_password("correct horse battery")
    scheme, n, r, p, salt, key = h.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(base64.b64decode(salt)) == 16
    assert len(base64.b64decode(key)) == 32
    assert "correct horse battery" not in h


def test_same_password_hashes_differently_and_both_check():
    h1, h2 = hash_password("same password"), hash_password("same password")
    assert h1 != h2
    assert h1.split("$")[4] != h2.split("$")[4]  # different salts
    assert check_password("same password", h1)
    assert check_password("same password", h2)


def test_check_password_right_and_wrong():
    h = hash_password("the right one")
    assert check_password("the right one", h) is True
    assert check_password("the wrong one", h) is False
    assert check_password("the right one ", h) is False
    assert check_password("", h) is False


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "",
        "garbage",
        "scrypt$",
        "scrypt$16384$8$1$c2FsdHNhbHQ=",  # a field missing
        "scrypt$16384$8$1$c2FsdA==$",  # empty key: must not accept everything
        "scrypt$x$8$1$c2FsdA==$AAAA",
        "scrypt$1$8$1$c2FsdA==$AAAA",  # n not a power of two > 1
        "scrypt$1073741824$8$1$c2FsdA==$AAAA",  # more memory than allowed
        "scrypt$16384$8$1$!!!$%%%",
        "bcrypt$16384$8$1$c2FsdA==$AAAA",
    ],
)
def test_check_password_refuses_garbage_without_raising(stored):
    assert check_password("anything at all", stored) is False


def test_check_password_refuses_a_hash_with_another_scheme_name():
    h = hash_password("the right one")
    assert check_password("the right one", "bcrypt" + h[len("scrypt") :]) is False


# -- adding accounts ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["operator", "supervisor", "auditor"])
def test_first_account_must_be_an_admin(accounts, role):
    with pytest.raises(AuthError, match="first account must be an admin"):
        accounts.add("first", role, None, password=ROOT_PW)
    assert accounts.count() == 0
    actor = accounts.add("first", "admin", None, password=ROOT_PW)
    assert actor.role == "admin"
    assert accounts.count() == 1


def test_only_admins_add_accounts(accounts, root):
    sup = accounts.add("sam", "supervisor", root, "Sam", SUP_PW)
    aud = accounts.add("audrey", "auditor", root, "Audrey", "auditor-pass-4")
    op = accounts.add("olga", "operator", root, "Olga", OP_PW)
    for by in (sup, aud, op, None):
        with pytest.raises(AuthError, match="only an admin"):
            accounts.add("mallory", "admin", by, password="mallory-pass")
    assert "mallory" not in {a.username for a in accounts.list()}
    second_admin = accounts.add("ada", "admin", root, password="second-admin-pw")
    accounts.add("newbie", "operator", second_admin, password="newbie-pass")
    assert accounts.count() == 6
    added = events(accounts.store, "user.added")
    assert [e.operator for e in added] == ["root", "root", "root", "root", "root", "ada"]


def test_duplicate_user_refused(accounts, root):
    accounts.add("olga", "operator", root, password=OP_PW)
    with pytest.raises(AuthError, match="already exists"):
        accounts.add("olga", "supervisor", root, password="other-password")
    (row,) = [a for a in accounts.list() if a.username == "olga"]
    assert row.role == "operator"


def test_duplicate_badge_refused(accounts, root):
    accounts.add("olga", "operator", root, badge="BADGE-0001")
    with pytest.raises(AuthError, match="badge already belongs"):
        accounts.add("oscar", "operator", root, badge="BADGE-0001")
    with pytest.raises(AuthError, match="badge already belongs"):
        accounts.add("oscar", "operator", root, badge="  BADGE-0001 ")  # as a scanner types it
    assert "oscar" not in {a.username for a in accounts.list()}


@pytest.mark.parametrize("weak", ["", "short", "1234567"])
def test_weak_password_refused(accounts, root, weak):
    with pytest.raises(AuthError, match="at least 8 characters"):
        accounts.add("olga", "operator", root, password=weak)
    assert accounts.count() == 1
    accounts.add("olga", "operator", root, password="12345678")  # 8 is enough


def test_account_needs_password_or_badge(accounts, root):
    with pytest.raises(AuthError, match="password, a badge, or both"):
        accounts.add("olga", "operator", root)


def test_unknown_role_refused(accounts, root):
    with pytest.raises(AuthError, match="unknown role"):
        accounts.add("olga", "superuser", root, password=OP_PW)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "a",
        "Alice",
        "1abc",
        "-abc",
        "al ice",
        "al/ice",
        "émile",
        "x" * 33,
        "bob\t",
        pytest.param("alice\n"),
    ],
)
def test_bad_user_names_refused(accounts, root, name):
    with pytest.raises(AuthError, match="user names are"):
        accounts.add(name, "operator", root, password=OP_PW)
    assert accounts.count() == 1


@pytest.mark.parametrize("name", ["ab", "olga.k", "o_k-2", "x" * 32])
def test_good_user_names_accepted(accounts, root, name):
    accounts.add(name, "operator", root, password=OP_PW)
    assert accounts.login(name, OP_PW).username == name


# -- signing in --------------------------------------------------------------------------------


def test_password_login(accounts, operator):
    actor = accounts.login("olga", OP_PW)
    assert actor == Actor("olga", "Olga Operator", "operator")
    assert not actor.supervises
    with pytest.raises(AuthError, match="unknown user or wrong password"):
        accounts.login("olga", WRONG_PW)
    with pytest.raises(AuthError, match="unknown user or wrong password"):
        accounts.login("nobody", OP_PW)


def test_badge_login(accounts, root, store):
    accounts.add("bea", "supervisor", root, "Bea", badge="BADGE-7")
    actor = accounts.login_badge("BADGE-7")
    assert actor == Actor("bea", "Bea", "supervisor") and actor.supervises
    assert accounts.login_badge(" BADGE-7\n").username == "bea"
    with pytest.raises(AuthError):
        accounts.login_badge("BADGE-8")
    with pytest.raises(AuthError):
        accounts.login("bea", "any password at all")  # a badge-only account has none
    (info,) = [a for a in accounts.list() if a.username == "bea"]
    assert info.has_badge and not info.has_password
    with store.read() as s:
        row = s.execute(select(Operator).where(Operator.username == "bea")).scalar_one()
    assert row.badge_hash == badge_hash("BADGE-7") and "BADGE-7" not in row.badge_hash
    assert row.password_hash is None


# -- changing passwords ------------------------------------------------------------------------


def test_own_password_change_needs_the_old_one(accounts, operator):
    me = accounts.login("olga", OP_PW)
    with pytest.raises(AuthError, match="current password is wrong"):
        accounts.set_password("olga", "brand-new-pass", me, old_password=WRONG_PW)
    with pytest.raises(AuthError, match="current password is wrong"):
        accounts.set_password("olga", "brand-new-pass", me)
    assert accounts.login("olga", OP_PW)  # unchanged
    accounts.set_password("olga", "brand-new-pass", me, old_password=OP_PW)
    assert accounts.login("olga", "brand-new-pass").username == "olga"
    with pytest.raises(AuthError):
        accounts.login("olga", OP_PW)


def test_admin_sets_anothers_password(accounts, root, operator, store):
    accounts.set_password("olga", "set-by-admin-1", root)
    assert accounts.login("olga", "set-by-admin-1").username == "olga"
    last = events(store, "user.password_set")[-1]
    assert last.operator == "root" and '"username":"olga"' in last.payload


def test_non_admin_cannot_set_anothers_password(accounts, root, operator):
    sup = accounts.add("sam", "supervisor", root, password=SUP_PW)
    for by in (sup, operator):
        with pytest.raises(AuthError, match="only an admin"):
            accounts.set_password("root", "taken-over-pw", by, old_password=ROOT_PW)
    assert accounts.login("root", ROOT_PW).role == "admin"


def test_password_change_refuses_weak_and_unknown(accounts, root, operator):
    with pytest.raises(AuthError, match="at least 8"):
        accounts.set_password("olga", "short", root)
    with pytest.raises(AuthError, match="no user"):
        accounts.set_password("nobody", "long-enough-pw", root)
    assert accounts.login("olga", OP_PW)


# -- lockout -----------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_account(accounts, operator, store):
    fail_logins(accounts, "olga", FREE_ATTEMPTS)
    with pytest.raises(AccountLocked, match="locked"):
        accounts.login("olga", OP_PW)  # even the right password
    failed = payloads(store, "login.failed")
    assert [f'"attempt":{i}' in p for i, p in enumerate(failed[:FREE_ATTEMPTS], 1)] == [
        True
    ] * FREE_ATTEMPTS
    assert failed[FREE_ATTEMPTS:] == ['{"reason":"locked","username":"olga"}']
    # RFC 8785: 30.0 is written 30
    assert payloads(store, "login.locked") == [
        canonical({"seconds": FIRST_LOCK_S, "username": "olga"})
    ]
    assert accounts.login("root", ROOT_PW)  # other accounts are not affected


def test_four_wrong_passwords_do_not_lock(accounts, operator):
    fail_logins(accounts, "olga", FREE_ATTEMPTS - 1)
    assert accounts.login("olga", OP_PW).username == "olga"


def test_lock_expires_on_the_stores_clock(accounts, operator, clock):
    fail_logins(accounts, "olga", FREE_ATTEMPTS)
    clock.advance(FIRST_LOCK_S - 1)
    with pytest.raises(AccountLocked):
        accounts.login("olga", OP_PW)
    clock.advance(2)
    assert accounts.login("olga", OP_PW).username == "olga"


def test_lock_backs_off_doubling_up_to_the_maximum(accounts, operator, clock, store):
    fail_logins(accounts, "olga", FREE_ATTEMPTS)
    expected = [FIRST_LOCK_S]
    for _ in range(8):
        lock = expected[-1]
        clock.advance(lock - 1)
        with pytest.raises(AccountLocked):
            accounts.login("olga", OP_PW)
        clock.advance(2)
        fail_logins(accounts, "olga", 1)  # one more failure after the lock locks again
        expected.append(min(lock * 2, MAX_LOCK_S))
    assert expected == [30.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 3600.0, 3600.0]
    locked = payloads(store, "login.locked")
    assert locked == [canonical({"seconds": s, "username": "olga"}) for s in expected]
    with pytest.raises(AccountLocked):
        accounts.login("olga", OP_PW)


def test_successful_login_resets_the_counter(accounts, operator, store):
    fail_logins(accounts, "olga", FREE_ATTEMPTS - 1)
    assert accounts.login("olga", OP_PW)
    fail_logins(accounts, "olga", FREE_ATTEMPTS - 1)
    assert accounts.login("olga", OP_PW)  # 8 failures in all, but never 5 in a row
    assert payloads(store, "login.locked") == []
    fail_logins(accounts, "olga", FREE_ATTEMPTS)
    assert payloads(store, "login.locked") == [
        canonical({"seconds": FIRST_LOCK_S, "username": "olga"}),
    ]  # the first lock, not a doubled one


def test_admin_password_reset_unlocks(accounts, root, operator):
    fail_logins(accounts, "olga", FREE_ATTEMPTS)
    accounts.set_password("olga", "fresh-start-pw", root)
    assert accounts.login("olga", "fresh-start-pw").username == "olga"


def test_list_shows_locked_accounts(accounts, root, operator, clock):
    accounts.add("bea", "supervisor", root, "Bea", SUP_PW, badge="BADGE-9")
    fail_logins(accounts, "olga", FREE_ATTEMPTS)
    rows = {a.username: a for a in accounts.list()}
    assert list(rows) == ["bea", "olga", "root"]
    assert rows["olga"].locked and rows["olga"].active
    assert not rows["root"].locked and not rows["bea"].locked
    assert rows["bea"].has_password and rows["bea"].has_badge and rows["bea"].role == "supervisor"
    clock.advance(FIRST_LOCK_S + 1)
    assert not any(a.locked for a in accounts.list())


# -- what the record keeps ---------------------------------------------------------------------


def test_failed_logins_are_events(accounts, operator, store):
    with pytest.raises(AuthError):
        accounts.login("olga", WRONG_PW)
    with pytest.raises(AuthError):
        accounts.login("nobody", WRONG_PW)
    with pytest.raises(AuthError):
        accounts.login_badge("NO-SUCH-BADGE")
    failed = events(store, "login.failed")
    assert [e.payload for e in failed] == [
        '{"attempt":1,"username":"olga"}',
        # An unknown name may be a password typed in the wrong field: only a fingerprint.
        '{"reason":"unknown or inactive","typed_sha256":"6382b3cc8814","username":null}',
        '{"reason":"unknown or inactive","typed_sha256":"8805cdea2b19","username":null}',
    ]
    assert verify(store).ok


def test_sign_in_refused_while_locked_is_an_event(accounts, operator, store):
    fail_logins(accounts, "olga", FREE_ATTEMPTS)
    before = len(events(store))
    with pytest.raises(AccountLocked):
        accounts.login("olga", WRONG_PW)
    assert len(events(store)) > before


def test_no_password_or_hash_in_any_event(accounts, root, store, clock, tmp_path):
    secrets = {ROOT_PW, OP_PW, SUP_PW, WRONG_PW, "changed-own-pw", "set-by-admin-9"}
    op = accounts.add("olga", "operator", root, "Olga", OP_PW, badge="BADGE-SECRET-1")
    accounts.add("sam", "supervisor", root, "Sam", SUP_PW)
    accounts.set_password("olga", "changed-own-pw", op, old_password=OP_PW)
    accounts.set_password("sam", "set-by-admin-9", root)
    fail_logins(accounts, "sam", FREE_ATTEMPTS)
    clock.advance(FIRST_LOCK_S + 1)
    accounts.login("sam", "set-by-admin-9")
    accounts.login_badge("BADGE-SECRET-1")
    with store.read() as s:
        hashes = [h for h in s.execute(select(Operator.password_hash)).scalars() if h]
        badges = [h for h in s.execute(select(Operator.badge_hash)).scalars() if h]
    assert len(hashes) == 3 and len(badges) == 1
    forbidden = set(secrets) | {"BADGE-SECRET-1"} | set(hashes) | set(badges)
    for h in hashes:  # the salt and key on their own too
        forbidden |= set(h.split("$")[4:])
    rows = events(store)
    kinds = {e.kind for e in rows}
    assert {"user.added", "user.password_set", "login", "login.failed", "login.locked"} <= kinds
    for e in rows:
        text = f"{e.kind} {e.payload} {e.operator}"
        leaked = [f for f in forbidden if f in text]
        assert not leaked, f"event {e.id} ({e.kind}) carries a secret: {e.payload}"
    # and no plaintext password ever reaches the database file
    db = b"".join(
        p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("station.sqlite3")
    )
    assert not [pw for pw in secrets if pw.encode() in db]
    assert verify(store).ok
