"""Operators and roles: local accounts with scrypt password hashes, or badges.

Passwords are never stored or logged: only a salted scrypt hash (hashlib,
the standard library's). A badge id is hashed too, so a copy of the database
does not hand out badges. Repeated failed logins lock the account with a
back-off that doubles. Every account change and every failed login is an
event in the chain.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass

from sqlalchemy import func, select

from qa_station.store import Store
from qa_station.store.kinds import Kind
from qa_station.store.models import Operator

ROLES = ("operator", "supervisor", "auditor", "admin")
SUPERVISING = ("supervisor", "admin")
MIN_PASSWORD = 8
USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
FREE_ATTEMPTS = 5  # failures before the first lock
FIRST_LOCK_S = 30.0  # then 30 s, 60 s, 120 s... up to MAX_LOCK_S
MAX_LOCK_S = 3600.0
SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class AuthError(Exception):
    """Sign-in or account management refused (the message never says which part was wrong)."""


class AccountLocked(AuthError):
    pass


class NotSignedIn(PermissionError):
    """Nothing is done at the bench without a signed-in operator."""


@dataclass(frozen=True)
class Actor:
    """A person who has signed in."""

    username: str
    display_name: str
    role: str

    @property
    def supervises(self) -> bool:
        return self.role in SUPERVISING


@dataclass(frozen=True)
class AccountInfo:
    username: str
    display_name: str
    role: str
    active: bool
    has_password: bool
    has_badge: bool
    locked: bool


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


def badge_hash(badge: str) -> str:
    return hashlib.sha256(("qa-station-badge:" + badge.strip()).encode("utf-8")).hexdigest()


class Accounts:
    def __init__(self, store: Store) -> None:
        self.store = store

    def count(self) -> int:
        with self.store.read() as s:
            return int(s.execute(select(func.count(Operator.id))).scalar_one())

    def add(
        self,
        username: str,
        role: str,
        by: Actor | None,
        display_name: str | None = None,
        password: str | None = None,
        badge: str | None = None,
    ) -> Actor:
        """A new account. Only an admin adds accounts; the very first one must be an admin."""
        if not USERNAME.fullmatch(username or ""):
            raise AuthError(
                "user names are 2-32 lower-case letters, digits, '.', '_' or '-', starting with a letter"
            )
        if role not in ROLES:
            raise AuthError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        if password is None and not badge:
            raise AuthError("an account needs a password, a badge, or both")
        if password is not None:
            _check_strength(password)
        with self.store.write() as w:
            first = w.session.execute(select(func.count(Operator.id))).scalar_one() == 0
            if first and role != "admin":
                raise AuthError("the first account must be an admin (it adds the others)")
            if not first and (by is None or by.role != "admin"):
                raise AuthError("only an admin can add accounts")
            if w.session.execute(select(Operator).where(Operator.username == username)).scalar():
                raise AuthError(f"user {username!r} already exists")
            bh = badge_hash(badge) if badge else None
            if bh and w.session.execute(select(Operator).where(Operator.badge_hash == bh)).scalar():
                raise AuthError("that badge already belongs to another account")
            w.session.add(
                Operator(
                    username=username,
                    display_name=display_name or username,
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
                operator=by.username if by else username,
            )
        return Actor(username, display_name or username, role)

    def set_password(
        self, username: str, new_password: str, by: Actor, old_password: str | None = None
    ) -> None:
        """Change a password: one's own (with the old one) or anyone's as an admin."""
        _check_strength(new_password)
        with self.store.write() as w:
            op = w.session.execute(select(Operator).where(Operator.username == username)).scalar()
            if op is None:
                raise AuthError(f"no user {username!r}")
            own = by.username == username
            if (
                own
                and by.role != "admin"
                and not check_password(old_password or "", op.password_hash)
            ):
                raise AuthError("the current password is wrong")
            if not own and by.role != "admin":
                raise AuthError("only an admin can set another user's password")
            op.password_hash = hash_password(new_password)
            op.failed_logins = 0
            op.locked_until_us = None
            w.event(Kind.USER_PASSWORD_SET, {"username": username}, operator=by.username)

    def list(self) -> list[AccountInfo]:
        with self.store.read() as s:
            now = _now(self.store)
            return [
                AccountInfo(
                    o.username,
                    o.display_name,
                    o.role,
                    o.active,
                    o.password_hash is not None,
                    o.badge_hash is not None,
                    bool(o.locked_until_us and o.locked_until_us > now),
                )
                for o in s.execute(select(Operator).order_by(Operator.username)).scalars()
            ]

    def login(self, username: str, password: str) -> Actor:
        return self._login(
            select(Operator).where(Operator.username == username),
            username,
            lambda op: check_password(password, op.password_hash),
        )

    def login_badge(self, badge: str) -> Actor:
        return self._login(
            select(Operator).where(Operator.badge_hash == badge_hash(badge)),
            "badge",
            lambda op: True,
        )

    def _login(self, query, who: str, ok) -> Actor:
        failure: AuthError | None = None
        with self.store.write() as w:
            op = w.session.execute(query).scalar()
            now = w.now_us()
            if op is None or not op.active:
                # What was typed may be a password typed in the wrong field: record only
                # a fingerprint, enough to see the same attempt repeated.
                typed = hashlib.sha256(who.encode("utf-8")).hexdigest()[:12]
                w.event(
                    Kind.LOGIN_FAILED,
                    {"username": None, "typed_sha256": typed, "reason": "unknown or inactive"},
                )
                failure = AuthError("sign-in refused: unknown user or wrong password")
            elif op.locked_until_us and op.locked_until_us > now:
                wait = (op.locked_until_us - now) / 1e6
                w.event(Kind.LOGIN_FAILED, {"username": op.username, "reason": "locked"})
                failure = AccountLocked(
                    f"account {op.username} is locked for {wait:.0f} s after repeated failed sign-ins"
                )
            elif not ok(op):
                op.failed_logins += 1
                w.event(Kind.LOGIN_FAILED, {"username": op.username, "attempt": op.failed_logins})
                if op.failed_logins >= FREE_ATTEMPTS:
                    lock_s = min(FIRST_LOCK_S * 2 ** (op.failed_logins - FREE_ATTEMPTS), MAX_LOCK_S)
                    op.locked_until_us = now + int(lock_s * 1e6)
                    w.event(Kind.LOGIN_LOCKED, {"username": op.username, "seconds": lock_s})
                failure = AuthError("sign-in refused: unknown user or wrong password")
            else:
                op.failed_logins = 0
                op.locked_until_us = None
                w.event(Kind.LOGIN, {"username": op.username}, operator=op.username)
                actor = Actor(op.username, op.display_name, op.role)
        if failure:
            raise failure
        return actor


def _check_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"passwords have at least {MIN_PASSWORD} characters")


def _now(store: Store) -> int:
    return int(store.clock() * 1_000_000)
