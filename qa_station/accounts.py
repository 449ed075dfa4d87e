"""Operators, roles, and the sessions they act through.

Every action at the gate and every account change takes a ``Session`` that
``Accounts`` issued at sign-in: a random token whose sha256 is kept in the
store (``sign_ins``). The gate checks it inside its own transaction: the
token was issued here, has not ended or expired, and its account still exists,
is active and has the role it signed in with. A hand-built session, one for an
invented or disabled account, or one after sign-out is refused.

Passwords are never stored or logged: only a salted scrypt hash. Badges are
stored as an HMAC under the station's accounts key (``station_secret``), so a
copy of the database does not let anyone try badge numbers offline. Badges
enrolled before (an unsalted sha256) are re-keyed the first time each signs
in; until then ``user list`` marks them.

Failed sign-ins slow down the place they come from (a bench's window, its
badge reader, its command line), not the account: after a few free failures
each one doubles that place's wait, up to a few minutes, and a supervisor can
clear it. Someone failing on purpose at one bench therefore never locks the
real user out anywhere else. An unknown user costs the same scrypt work as a
known one, so names cannot be found by timing. Every account change and every
failed sign-in is an event (never with a secret).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session as DbSession

from grading.projection import fields_dict
from qa_station.station_secret import SecretError, fingerprint, keyed, load_secret
from qa_station.store import Store, Writer
from qa_station.store.kinds import Kind
from qa_station.store.models import Operator, SignIn, SignInSource, StoreSetting
from qa_station.text import TextError, display_name

ROLES = ("operator", "supervisor", "auditor", "admin")
SUPERVISING = ("supervisor", "admin")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # scrypt reads all of it: a megabyte "password" is an attack
USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
SESSION_S = 12 * 3600.0  # a shift and then some: then sign in again
DEMO_SESSION_S = 6 * 3600.0
FREE_FAILURES = 3  # typing mistakes from one place before it has to wait
FIRST_WAIT_S = 2.0  # then 2 s, 4 s, 8 s... up to MAX_WAIT_S
MAX_WAIT_S = 300.0
FORGET_AFTER_S = 3600.0  # a place with no failure for an hour starts afresh
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
BADGE_SCHEME = "hmac-sha256:"
KEY_SETTING = "accounts_key_fingerprint"
DEMO_SETTING = "purpose"
DEMO_PURPOSE = "demo"
DEMO_PEOPLE = {"demo-operator": "operator", "demo-supervisor": "supervisor"}
OFFLINE = "offline"  # the method of a sign-in made while the floor database was down


class AuthError(Exception):
    """Sign-in or account management refused (the message never says which part was wrong)."""


class SignInDelayed(AuthError):
    """Too many failed sign-ins from this place: it waits before the next try."""


class NotSignedIn(AuthError, PermissionError):
    """Not a session this station issued, or one that has ended: sign in."""


@dataclass(frozen=True, eq=False)
class Session:
    """Who is signed in, as ``Accounts`` issued it. Only the token proves it; the other
    fields say who, for the window. Compare sessions by ``is``, never build one."""

    username: str
    display_name: str
    role: str
    issued_us: int
    expires_us: int
    token: str = field(repr=False)

    @property
    def supervises(self) -> bool:
        return self.role in SUPERVISING

    @property
    def token_sha256(self) -> str:
        return hashlib.sha256(self.token.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class ReplayedSession:
    """The sign-in an action was done under while the floor database was down, named by its
    token's hash in the outbox. The gate accepts it only while it replays that outbox entry,
    and checks the sign-in was valid at the time the action was done."""

    username: str
    display_name: str
    role: str
    token_sha256: str

    def to_dict(self) -> dict[str, str]:
        return fields_dict(self, rename={"token_sha256": "session"})

    @classmethod
    def of(cls, who: Session | ReplayedSession) -> ReplayedSession:
        return cls(who.username, who.display_name, who.role, who.token_sha256)

    @classmethod
    def from_dict(cls, d: dict) -> ReplayedSession:
        return cls(
            str(d.get("username", "")),
            str(d.get("display_name", "")),
            str(d.get("role", "")),
            str(d.get("session", "")),
        )


# Sessions this process issued (token sha256 -> username, expiry): what a bench that lost its
# floor database may still act for. Filled only by Accounts when it issues one.
_ISSUED: dict[str, tuple[str, int]] = {}


def issued_here(session: object, at_us: int) -> bool:
    """Whether this process issued ``session`` and it has not expired or ended (offline)."""
    if not isinstance(session, Session):
        return False
    known = _ISSUED.get(session.token_sha256)
    return known is not None and known[0] == session.username and at_us < known[1]


def _issued(session: Session, now_us: int) -> Session:
    for sha in [k for k, (_, until) in _ISSUED.items() if until <= now_us]:
        del _ISSUED[sha]
    _ISSUED[session.token_sha256] = (session.username, session.expires_us)
    return session


def forget(session: object) -> None:
    """This process acts no more for ``session`` (signed out while the record cannot be told)."""
    if isinstance(session, Session):
        _ISSUED.pop(session.token_sha256, None)


@dataclass(frozen=True)
class Remembered:
    """Someone who signed in at this bench, as the bench kept it for signing them in again
    while the floor database is down (their password's scrypt hash as the record had it)."""

    username: str
    display_name: str
    role: str
    password_hash: str | None


@dataclass(frozen=True)
class AccountInfo:
    username: str
    display_name: str
    role: str
    active: bool
    has_password: bool
    has_badge: bool
    badge_rekey_pending: bool = False  # an old unkeyed badge, re-keyed at its next use


@dataclass(frozen=True)
class SourceDelay:
    """A place whose failed sign-ins make it wait."""

    source: str
    failures: int
    wait_s: float  # from now; 0 when it may try again


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    key = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, dklen=32, maxmem=64 * 1024 * 1024, **SCRYPT
    )
    return "scrypt${n}${r}${p}${salt}${key}".format(
        salt=base64.b64encode(salt).decode(), key=base64.b64encode(key).decode(), **SCRYPT
    )


def check_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    try:
        _, n, r, p, salt, key = stored.split("$")
        want = base64.b64decode(key)
        if not want:
            return False
        got = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(want),
            maxmem=64 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


@functools.cache
def _dummy_hash() -> str:
    """A hash of nothing anyone knows, checked for unknown users: the same scrypt work."""
    return hash_password(secrets.token_urlsafe(24))


def legacy_badge_hash(badge: str) -> str:
    """How badges were stored before the accounts key (an unsalted sha256): read only to
    re-key them."""
    return hashlib.sha256(("qa-station-badge:" + badge.strip()).encode("utf-8")).hexdigest()


def badge_digest(secret: bytes, badge: str) -> str:
    return BADGE_SCHEME + keyed(secret, "badge", badge.strip())


def signed_in(w: Writer, session: object) -> Operator:
    """The account a session acts for, checked inside the caller's transaction; raises
    ``NotSignedIn``. A replayed action is checked at the time it was done offline."""
    return _holder(w.session, session, w.now_us(), replayed=_replaying(w))


def _replaying(w: Writer) -> bool:
    replay = w.store.replay
    return replay is not None and replay.offline


def _holder(db: DbSession, session: object, at_us: int, replayed: bool = False) -> Operator:
    if not isinstance(session, Session) and not (replayed and isinstance(session, ReplayedSession)):
        raise NotSignedIn(
            f"not signed in: {type(session).__name__} is not a session this station issued "
            "(sign in with Accounts.sign_in)"
        )
    row = db.execute(select(SignIn).where(SignIn.token_sha256 == session.token_sha256)).scalar()
    if row is None or row.username != session.username:
        raise NotSignedIn(
            f"not signed in: no session of {session.username!r:.40} was issued here: sign in"
        )
    if at_us < row.issued_us or at_us >= row.expires_us:
        raise NotSignedIn(f"the sign-in of {row.username} has expired: sign in again")
    if row.ended_us is not None and at_us >= row.ended_us:
        raise NotSignedIn(f"{row.username} has signed out (or was disabled): sign in again")
    op = db.get(Operator, row.operator_id)
    if op is None or (not op.active and not replayed):
        raise NotSignedIn(f"the account {row.username} is disabled or gone")
    if op.role != row.role:
        raise NotSignedIn(f"{row.username}'s role changed since signing in: sign in again")
    return op


class Accounts:
    def __init__(self, store: Store, keys_dir: Path | None = None) -> None:
        self.store = store
        self._keys_dir = keys_dir
        self._secret: bytes | None = None

    # -- the accounts key ------------------------------------------------------------------
    def secret(self) -> bytes:
        if self._secret is None:
            from qa_station.paths import station_paths

            try:
                self._secret = load_secret(self._keys_dir or station_paths().keys_dir)
            except SecretError as exc:
                raise AuthError(str(exc)) from None
        return self._secret

    def _floor_key(self, db: DbSession) -> bytes:
        """The accounts key, checked against the one the record's badges were enrolled with."""
        secret = self.secret()
        mine = fingerprint(secret)
        row = db.get(StoreSetting, KEY_SETTING)
        if row is None:
            db.add(StoreSetting(key=KEY_SETTING, value=mine))
        elif row.value != mine:
            raise AuthError(
                "this bench's accounts key is not the one this record's badges were enrolled "
                "with: copy accounts.key from the keys folder of a bench of this floor"
            )
        return secret

    # -- accounts --------------------------------------------------------------------------
    def count(self) -> int:
        with self.store.read() as s:
            return int(s.execute(select(func.count(Operator.id))).scalar_one())

    def is_demo_record(self) -> bool:
        with self.store.read() as s:
            return _is_demo(s)

    def add(
        self,
        username: str,
        role: str,
        by: Session | None,
        display_name: str | None = None,
        password: str | None = None,
        badge: str | None = None,
    ) -> AccountInfo:
        """A new account. Only a signed-in admin adds accounts; the very first one must be an
        admin and needs nobody (there is nobody yet)."""
        if not isinstance(username, str) or not USERNAME.fullmatch(username):
            raise AuthError(
                "user names are 2-32 lower-case letters, digits, '.', '_' or '-', starting with a letter"
            )
        name = _display(display_name, username)
        if role not in ROLES:
            raise AuthError(f"unknown role {role!r:.40}: one of {', '.join(ROLES)}")
        if password is None and not badge:
            raise AuthError("an account needs a password, a badge, or both")
        if password is not None:
            _check_strength(password)
        if badge is not None and not _badge_ok(badge):
            raise AuthError("a badge id is 4-128 printable characters")
        with self.store.write() as w:
            s = w.session
            if _is_demo(s):
                raise AuthError(
                    "this is the demo's record (made by qa-station demo): it holds no accounts; "
                    "a station keeps its own record"
                )
            first = s.execute(select(func.count(Operator.id))).scalar_one() == 0
            if first and by is None:
                if role != "admin":
                    raise AuthError("the first account must be an admin (it adds the others)")
                author = username
            else:
                admin = signed_in(w, by)
                if admin.role != "admin":
                    raise AuthError("only an admin can add accounts")
                author = admin.username
            if s.execute(select(Operator).where(Operator.username == username)).scalar():
                raise AuthError(f"user {username!r} already exists")
            bh = None
            if badge:
                bh = badge_digest(self._floor_key(s), badge)
                taken = s.execute(
                    select(Operator.id).where(
                        Operator.badge_hash.in_((bh, legacy_badge_hash(badge)))
                    )
                ).scalar()
                if taken:
                    raise AuthError("that badge already belongs to another account")
            s.add(
                Operator(
                    username=username,
                    display_name=name,
                    role=role,
                    password_hash=hash_password(password) if password is not None else None,
                    badge_hash=bh,
                    active=True,
                    failed_logins=0,
                    created_us=w.now_us(),
                )
            )
            w.event(
                Kind.USER_ADDED,
                {
                    "username": username,
                    "role": role,
                    "badge": bool(badge),
                    "password": password is not None,
                },
                operator=author,
            )
        return AccountInfo(username, name, role, True, password is not None, bool(badge))

    def set_password(
        self, username: str, new_password: str, by: Session, old_password: str | None = None
    ) -> None:
        """Change a password: one's own (with the old one) or anyone's as an admin."""
        _check_strength(new_password)
        with self.store.write() as w:
            me = signed_in(w, by)
            op = w.session.execute(select(Operator).where(Operator.username == username)).scalar()
            if op is None:
                raise AuthError(f"no user {username!r:.40}")
            own = me.username == username
            if (
                own
                and me.role != "admin"
                and not check_password(old_password or "", op.password_hash)
            ):
                raise AuthError("the current password is wrong")
            if not own and me.role != "admin":
                raise AuthError("only an admin can set another user's password")
            op.password_hash = hash_password(new_password)
            w.event(Kind.USER_PASSWORD_SET, {"username": username}, operator=me.username)

    def set_active(self, username: str, active: bool, by: Session) -> None:
        """Disable an account (its sessions end at once) or enable it again: an admin's."""
        with self.store.write() as w:
            me = signed_in(w, by)
            if me.role != "admin":
                raise AuthError("only an admin can disable or enable accounts")
            op = w.session.execute(select(Operator).where(Operator.username == username)).scalar()
            if op is None:
                raise AuthError(f"no user {username!r:.40}")
            if not active and op.username == me.username:
                raise AuthError("an admin cannot disable their own account")
            op.active = bool(active)
            if not active:
                _end_sessions(w, op.id)
            w.event(
                Kind.USER_ENABLED if active else Kind.USER_DISABLED,
                {"username": username},
                operator=me.username,
            )

    def list(self) -> list[AccountInfo]:
        with self.store.read() as s:
            return [
                AccountInfo(
                    o.username,
                    o.display_name,
                    o.role,
                    o.active,
                    o.password_hash is not None,
                    o.badge_hash is not None,
                    bool(o.badge_hash and not o.badge_hash.startswith(BADGE_SCHEME)),
                )
                for o in s.execute(select(Operator).order_by(Operator.username)).scalars()
            ]

    # -- signing in ------------------------------------------------------------------------
    def sign_in(self, username: str, password: str, source: str = "api") -> Session:
        """A session for ``username``; ``source`` names where the attempt comes from (a
        window, the command line): failures make that place, and only it, wait."""
        if not isinstance(password, str) or len(password) > MAX_PASSWORD:
            password = ""
        name = username if isinstance(username, str) else ""
        with self.store.write() as w:
            place, delayed = self._place(w, source)
            if delayed:
                refusal: AuthError = delayed
            else:
                refusal = AuthError("sign-in refused: unknown user or wrong password")
                op = w.session.execute(select(Operator).where(Operator.username == name)).scalar()
                stored = op.password_hash if op is not None and op.password_hash else None
                # Unknown users, badge-only and disabled accounts cost the same scrypt work.
                good = check_password(password, stored or _dummy_hash()) and stored is not None
                if good and op.active:
                    return self._issue(w, op, "password", place)
                self._failed(w, place, op, name)
        raise refusal

    def sign_in_badge(self, badge: str, source: str = "badge") -> Session:
        """A session for the owner of a badge; old unkeyed badges are re-keyed here."""
        with self.store.write() as w:
            place, delayed = self._place(w, source)
            op = None
            if delayed:
                refusal: AuthError = delayed
            else:
                refusal = AuthError("sign-in refused: unknown badge")
            if not delayed and isinstance(badge, str) and _badge_ok(badge):
                s = w.session
                bh = badge_digest(self._floor_key(s), badge)
                op = s.execute(select(Operator).where(Operator.badge_hash == bh)).scalar()
                if op is None:
                    op = s.execute(
                        select(Operator).where(Operator.badge_hash == legacy_badge_hash(badge))
                    ).scalar()
                    if op is not None:
                        op.badge_hash = bh
                        w.event(Kind.USER_BADGE_REKEYED, {"username": op.username})
            if op is not None and op.active:
                return self._issue(w, op, "badge", place)
            if not delayed:
                self._failed(w, place, op, "badge")
        raise refusal

    def sign_out(self, session: Session) -> None:
        """End a session: its token acts no more."""
        if not isinstance(session, Session):
            return
        forget(session)
        with self.store.write() as w:
            _end(w, session.token_sha256)

    def remembered(self, session: Session) -> Remembered:
        """What a bench keeps of someone who signed in at it, to sign them in again while the
        floor database is down."""
        with self.store.read() as s:
            op = _holder(s, session, _now(self.store))
            return Remembered(op.username, op.display_name, op.role, op.password_hash)

    def sign_in_remembered(
        self,
        username: str,
        password: str,
        known: Remembered | None,
        at_us: int,
        source: str = "api",
    ) -> Session:
        """A session while the floor database is down, for someone who signed in at this bench
        before (``known``, as the bench remembered them), with the password they had then. It
        acts at this bench only, until the record takes it: the bench keeps it in its outbox
        (``FloorGate.sign_in_offline``), and the record refuses it, and everything done under
        it, unless the account held that role at that time. Failures make this place wait as
        online (counted in this process: the record cannot be written)."""
        if not isinstance(password, str) or len(password) > MAX_PASSWORD:
            password = ""
        where = f"{self.store.station_id}/{str(source)[:40]}"
        place = _OFFLINE_PLACES.setdefault(where, SignInSource(source=where, failures=0))
        if place.wait_until_us and at_us < place.wait_until_us:
            raise _delayed((place.wait_until_us - at_us) / 1e6)
        stored = known.password_hash if known is not None and known.username == username else None
        if check_password(password, stored or _dummy_hash()) and stored is not None:
            place.failures, place.wait_until_us, place.last_failure_us = 0, None, None
            lifetime = int(SESSION_S * 1e6)
            session = Session(
                known.username, known.display_name, known.role, at_us, at_us + lifetime,
                secrets.token_urlsafe(32),
            )  # fmt: skip
            return _issued(session, at_us)
        _count_failure(place, at_us)
        raise AuthError("sign-in refused: unknown user or wrong password")

    def check(self, session: object) -> Session:
        """The session, if it still acts now; raises ``NotSignedIn`` otherwise."""
        with self.store.read() as s:
            _holder(s, session, _now(self.store))
        return session  # type: ignore[return-value]

    # -- places that failed too often -------------------------------------------------------
    def delays(self) -> list[SourceDelay]:
        """Places with failed sign-ins on record, and how long each must still wait."""
        now = _now(self.store)
        with self.store.read() as s:
            rows = s.execute(
                select(SignInSource).where(SignInSource.failures > 0).order_by(SignInSource.source)
            ).scalars()
            return [
                SourceDelay(r.source, r.failures, max(0.0, ((r.wait_until_us or 0) - now) / 1e6))
                for r in rows
                if r.last_failure_us and now - r.last_failure_us < FORGET_AFTER_S * 1e6
            ]

    def unlock(self, source: str | None, by: Session) -> int:
        """Clear the wait of one place (``None``: every place): a supervisor's or admin's.
        Returns how many places were cleared."""
        with self.store.write() as w:
            me = signed_in(w, by)
            if me.role not in SUPERVISING:
                raise AuthError("only a supervisor or an admin can clear sign-in delays")
            q = update(SignInSource).where(SignInSource.failures > 0)
            if source is not None:
                q = q.where(SignInSource.source == source)
            cleared = w.session.execute(
                q.values(failures=0, wait_until_us=None, last_failure_us=None)
            ).rowcount
            if source is not None and not cleared:
                raise AuthError(f"no sign-in delay for {source!r:.100}")
            w.event(
                Kind.LOGIN_UNLOCKED, {"source": source, "places": cleared}, operator=me.username
            )
        return cleared

    # -- the demo's people -------------------------------------------------------------------
    def demo_sessions(self) -> tuple[Session, Session]:
        """The demo's operator and supervisor, for the demo's own record only.

        A store with no accounts and no events becomes the demo's record (it can never
        hold real accounts after); any other store is refused. The people have neither
        password nor badge: these sessions, kept in memory, are their only way in, and
        the demo ends them when it stops.
        """
        with self.store.write() as w:
            s = w.session
            if not _is_demo(s):
                from qa_station.store.models import Event

                used = (
                    s.execute(select(func.count(Operator.id))).scalar_one()
                    or s.execute(select(func.count(Event.id))).scalar_one()
                )
                if used:
                    raise AuthError(
                        "this is a station's record: the demo runs only in a record of its own "
                        "(qa-station demo keeps one in the station home; --db: an empty database)"
                    )
                s.add(StoreSetting(key=DEMO_SETTING, value=DEMO_PURPOSE))
                w.event(Kind.STORE_DEMO, {"note": "the demo's record: simulated assemblies only"})
            people = []
            for username, role in DEMO_PEOPLE.items():
                op = s.execute(select(Operator).where(Operator.username == username)).scalar()
                if op is None:
                    op = Operator(
                        username=username,
                        display_name=username.replace("-", " ").title(),
                        role=role,
                        password_hash=None,
                        badge_hash=None,
                        active=True,
                        failed_logins=0,
                        created_us=w.now_us(),
                    )
                    s.add(op)
                    s.flush()
                    w.event(Kind.USER_ADDED, {"username": username, "role": role, "demo": True})
                people.append(self._issue(w, op, "demo", "demo", DEMO_SESSION_S))
        return people[0], people[1]

    # -- inside a transaction ----------------------------------------------------------------
    def _place(self, w: Writer, source: str) -> tuple[SignInSource, SignInDelayed | None]:
        """This place's failure record, and the refusal while it must wait (recorded)."""
        where = f"{self.store.station_id}/{str(source)[:40]}"
        row = w.session.get(SignInSource, where)
        if row is None:
            row = SignInSource(source=where, failures=0)
            w.session.add(row)
        now = w.now_us()
        if row.wait_until_us and now < row.wait_until_us:
            w.event(Kind.LOGIN_FAILED, {"source": where, "reason": "delayed"})
            return row, _delayed((row.wait_until_us - now) / 1e6)
        return row, None

    def _failed(self, w: Writer, place: SignInSource, op: Operator | None, typed: str) -> None:
        wait = _count_failure(place, w.now_us())
        payload: dict = {"source": place.source, "attempt": place.failures}
        if op is not None:
            payload["username"] = op.username
            if not op.active:
                payload["reason"] = "inactive"
        else:
            # What was typed may be a password typed in the wrong field: only a keyed
            # fingerprint, enough to see the same attempt repeated, useless without the key.
            payload["username"] = None
            payload["typed"] = keyed(self.secret(), "typed name", typed)[:12]
        w.event(Kind.LOGIN_FAILED, payload)
        if wait is not None:
            w.event(
                Kind.LOGIN_DELAYED,
                {"source": place.source, "seconds": wait, "failures": place.failures},
            )

    def _issue(
        self,
        w: Writer,
        op: Operator,
        method: str,
        place: SignInSource | str,
        lifetime_s: float = SESSION_S,
    ) -> Session:
        now = w.now_us()
        token = secrets.token_urlsafe(32)
        source = place.source if isinstance(place, SignInSource) else place
        if isinstance(place, SignInSource):
            place.failures, place.wait_until_us, place.last_failure_us = 0, None, None
        session = Session(
            op.username, op.display_name, op.role, now, now + int(lifetime_s * 1e6), token
        )
        _issued(session, now)
        _record_sign_in(w, op, session.token_sha256, method, source, session.expires_us)
        return session


# Places that failed to sign in while the floor database was down (this process only).
_OFFLINE_PLACES: dict[str, SignInSource] = {}


def _count_failure(place: SignInSource, now: int) -> float | None:
    """One more failure from ``place``; the wait it must now keep (s), if any."""
    if place.last_failure_us and now - place.last_failure_us >= FORGET_AFTER_S * 1e6:
        place.failures = 0
    place.failures += 1
    place.last_failure_us = now
    if place.failures <= FREE_FAILURES:
        return None
    wait = min(FIRST_WAIT_S * 2 ** (place.failures - FREE_FAILURES - 1), MAX_WAIT_S)
    place.wait_until_us = now + int(wait * 1e6)
    return wait


def _delayed(wait_s: float) -> SignInDelayed:
    return SignInDelayed(
        f"too many failed sign-ins here: wait {wait_s:.0f} s and try again "
        "(a supervisor can clear it: qa-station user unlock)"
    )


def record_offline_sign_in(
    w: Writer, who: ReplayedSession, source: object, expires_us: object
) -> None:
    """Put on the record a sign-in a bench made while the floor database was down, as its
    outbox entry is sent (signed by the bench, its role checked at the time by the caller):
    what was done under it is then checked against it like any other session."""
    if not _replaying(w):
        raise NotSignedIn("an offline sign-in reaches the record only from a bench's outbox")
    s, at = w.session, w.now_us()
    op = s.execute(select(Operator).where(Operator.username == who.username)).scalar()
    if op is None or op.role != who.role:
        raise NotSignedIn(f"{who.username!r:.40} has no {who.role!r:.20} account: sign-in refused")
    if s.execute(select(SignIn.id).where(SignIn.token_sha256 == who.token_sha256)).scalar():
        raise NotSignedIn("that sign-in is on the record already: refused")
    place = f"{w.store.station_id}/{str(source)[:40]}"
    until = expires_us if isinstance(expires_us, int) else at
    _record_sign_in(w, op, who.token_sha256, OFFLINE, place, min(until, at + int(SESSION_S * 1e6)))


def _record_sign_in(
    w: Writer, op: Operator, token_sha256: str, method: str, source: str, expires_us: int
) -> None:
    """The sign-in's row (its token's hash only) and its ``login`` event, issued now."""
    w.session.add(
        SignIn(
            token_sha256=token_sha256,
            operator_id=op.id,
            username=op.username,
            role=op.role,
            method=method,
            source=source,
            issued_us=w.now_us(),
            expires_us=expires_us,
        )
    )
    w.event(
        Kind.LOGIN,
        {"username": op.username, "method": method, "source": source},
        operator=op.username,
    )


def record_offline_sign_out(w: Writer, who: ReplayedSession) -> None:
    """A sign-out done while the floor database was down, as its outbox entry is sent."""
    if not _replaying(w):
        raise NotSignedIn("an offline sign-out reaches the record only from a bench's outbox")
    _end(w, who.token_sha256)


def _end(w: Writer, token_sha256: str) -> None:
    row = w.session.execute(select(SignIn).where(SignIn.token_sha256 == token_sha256)).scalar()
    if row is not None and row.ended_us is None:
        row.ended_us = w.now_us()
        w.event(Kind.LOGOUT, {"username": row.username}, operator=row.username)


def _end_sessions(w: Writer, operator_id: int) -> None:
    w.session.execute(
        update(SignIn)
        .where(SignIn.operator_id == operator_id, SignIn.ended_us.is_(None))
        .values(ended_us=w.now_us())
    )


def _is_demo(db: DbSession) -> bool:
    row = db.get(StoreSetting, DEMO_SETTING)
    return row is not None and row.value == DEMO_PURPOSE


def _display(name: str | None, username: str) -> str:
    if name is None or (isinstance(name, str) and not name.strip()):
        return username
    try:
        return display_name(name)
    except TextError as exc:
        raise AuthError(str(exc)) from None


def _badge_ok(badge: str) -> bool:
    b = badge.strip() if isinstance(badge, str) else ""
    return 4 <= len(b) <= 128 and b.isprintable()


def _check_strength(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise AuthError(f"passwords have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AuthError(f"passwords have at most {MAX_PASSWORD} characters")


def _now(store: Store) -> int:
    return int(store.clock() * 1_000_000)
