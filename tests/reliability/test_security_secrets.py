"""Secrets stay secret: the lockout covers badges, no password (or badge) is ever written
in clear anywhere under the station home or to a log, and the signing key is owner-only.

The lockout's own rules (five failures, 30 s doubling to an hour, reset on success,
refusals as events) are proven in tests/qa_station/test_accounts.py; here is what it
does not cover.
"""

from __future__ import annotations

import io
import logging
import os
import stat
import sys

import pytest

from qa_station.accounts import FIRST_WAIT_S, FREE_FAILURES, Accounts, AuthError, SignInDelayed
from qa_station.config import StationConfig
from qa_station.controller import ensure_signing_key
from qa_station.paths import station_paths
from qa_station.store.kinds import Kind
from qa_station.store.store import Store, sqlite_url
from tests.qa_station.gate_kit import Clock
from tests.reliability.security_kit import (
    ADMIN,
    JUMPER,
    OPERATOR,
    SUPERVISOR,
    controller,
    events,
    fail_end,
    qa,
)

WRONG = "Wr0ng-Guess-Pw-913"  # recognisable, so a leak of it is found
NEW = "Olga-New-Pw-4411"
BADGE = "BADGE-SAM-0077"


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def accounts(tmp_path, clock):
    store = Store(sqlite_url(tmp_path / "s.sqlite3"), tmp_path / "images", clock=clock)
    store.migrate()
    yield Accounts(store)
    store.close()


def test_failures_slow_down_their_place_and_badges_are_tried_with_a_limit(accounts, clock):
    """Hole 12: five failures every 30 s kept the admin locked out; badges could be tried
    without limit. Now the place that fails waits (doubling), the real user elsewhere does
    not, and unknown badges make the badge reader wait too."""
    accounts.add(ADMIN[0], "admin", None, "Root", ADMIN[1])
    root = accounts.sign_in(*ADMIN)
    accounts.add("sam", "supervisor", root, "Sam", SUPERVISOR[1], badge=BADGE)
    assert accounts.sign_in_badge(BADGE).username == "sam"
    for _ in range(FREE_FAILURES + 1):  # someone at the window tries the admin's password
        with pytest.raises(AuthError):
            accounts.sign_in(ADMIN[0], WRONG, "window")
    with pytest.raises(SignInDelayed, match="wait 2 s"):
        accounts.sign_in(*ADMIN, "window")
    assert accounts.sign_in(*ADMIN, "cli").username == ADMIN[0]  # not locked out elsewhere
    assert accounts.sign_in_badge(BADGE).username == "sam"  # nor at the badge reader
    for n in range(FREE_FAILURES + 1):  # someone tries badge numbers
        with pytest.raises(AuthError):
            accounts.sign_in_badge(f"B-{n:04d}")
    with pytest.raises(SignInDelayed):
        accounts.sign_in_badge(BADGE)
    clock.advance(FIRST_WAIT_S + 0.1)
    with pytest.raises(AuthError):
        accounts.sign_in_badge("B-9999")  # another miss: twice as long now
    clock.advance(2 * FIRST_WAIT_S - 0.5)
    with pytest.raises(SignInDelayed):
        accounts.sign_in_badge(BADGE)
    clock.advance(1)
    assert accounts.sign_in_badge(BADGE).username == "sam"
    recorded = [(k, p) for k, _, p, _ in events(accounts.store)]
    waits = [p["seconds"] for k, p in recorded if k == "login.delayed"]
    assert waits == [FIRST_WAIT_S, FIRST_WAIT_S, 2 * FIRST_WAIT_S]


def _files(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_no_password_or_badge_in_any_file_of_the_station_home_or_any_log(
    station_home, capsys, caplog, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    secrets = {ADMIN[1], OPERATOR[1], SUPERVISOR[1], WRONG, NEW, BADGE}
    printed = []

    def cli(*args, lines=()):
        monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{x}\n" for x in lines)))
        code, out, err = qa(capsys, *args)
        printed.append(out + err)
        return code

    # Accounts made the way a site makes them: on the command line, passwords on stdin.
    assert cli("user", "add", ADMIN[0], "--password-stdin", lines=(ADMIN[1], ADMIN[1])) == 0
    for (user, pw), role in ((OPERATOR, "operator"), (SUPERVISOR, "supervisor")):
        extra = ("--badge", BADGE) if role == "supervisor" else ()
        args = ("user", "add", user, "--role", role, "--admin", ADMIN[0], *extra)
        assert cli(*args, "--password-stdin", lines=(ADMIN[1], pw, pw)) == 0
    assert cli("user", "passwd", "olga", "--password-stdin", lines=(WRONG, NEW, NEW)) == 2
    assert cli("user", "passwd", "olga", "--password-stdin", lines=(OPERATOR[1], NEW, NEW)) == 0
    # The supervisor qualifies the station (issue 14): no inspection is recorded before.
    args = ("qualify", "reference", "--supervisor", SUPERVISOR[0], "--password-stdin")
    assert cli(*args, lines=(SUPERVISOR[1],)) == 0

    c = _bench_with_mistakes(controller(fixture="emulator", signed_in=None))
    try:
        open_files = _files(station_home)  # the database's WAL is there while it is open
        assert any(name.endswith("-wal") for name in open_files), sorted(open_files)
    finally:
        c.close()
    closed_files = _files(station_home)
    assert any("keys" in name for name in closed_files)  # the signing key was made
    for files in (open_files, closed_files):
        for name, data in files.items():
            leaked = [s for s in secrets if s.encode() in data]
            assert not leaked, f"{name} holds {leaked} in clear"
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records, "nothing was logged: the capture is not looking"
    out, err = capsys.readouterr()
    shown = "\n".join(printed) + out + err
    assert not [s for s in secrets if s in logged], "a secret was logged"
    assert not [s for s in secrets if s in shown], "a secret was printed"


def _bench_with_mistakes(c):
    """Every way a secret reaches the bench, right and wrong."""
    c.logout()
    with pytest.raises(AuthError):
        c.login("olga", OPERATOR[1])  # the old password
    with pytest.raises(AuthError):
        c.login(WRONG, "olga")  # the fields swapped: a password in the user name field
    with pytest.raises(AuthError):
        c.login_badge(WRONG)  # a password typed where the badge goes
    c.login("olga", NEW)
    fail_end(c, JUMPER, "A1")
    with pytest.raises(AuthError):
        c.supervisor_decision("sam", WRONG, Kind.END_OVERRIDE, "customer waiver 12", "A1")
    c.supervisor_decision("sam", SUPERVISOR[1], Kind.END_OVERRIDE, "customer waiver 12", "A1")
    assert c.login_badge(BADGE).username == "sam"
    for _ in range(FREE_FAILURES + 1):  # and a wait at the window
        with pytest.raises(AuthError):
            c.login("olga", WRONG)
    with pytest.raises(SignInDelayed):
        c.login("olga", NEW)
    c.bench.fixture.status()  # the serial fixture logs what it exchanges (DEBUG)
    return c


def test_the_station_key_is_owner_only_when_made_and_when_made_again(station_home):
    old = os.umask(0)  # the most careless umask: nothing may rely on it
    try:
        c = controller()
        c.close()
        assert c.signing_problem is None
        keys = station_paths().keys_dir
        key = keys / "station.key"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert keys.stat().st_mode & 0o077 == 0
        first = key.read_bytes()
        c.accounts.secret()  # the accounts key (badges, fingerprints): owner-only too
        assert stat.S_IMODE((keys / "accounts.key").stat().st_mode) == 0o600

        # The pair removed (a new station identity), the folder opened up meanwhile.
        key.unlink()
        (keys / "station.crt").unlink()
        keys.chmod(0o777)
        assert ensure_signing_key(StationConfig()) is None  # what every start does
        assert key.read_bytes() != first
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert keys.stat().st_mode & 0o077 == 0
        assert not [p.name for p in keys.iterdir() if p.name.startswith(".")]  # no temp left
    finally:
        os.umask(old)


def test_a_station_key_others_can_read_is_made_private_or_refused(station_home):
    c = controller()
    c.close()
    keys = station_paths().keys_dir
    key = keys / "station.key"
    key.chmod(0o644)
    keys.chmod(0o755)
    problem = ensure_signing_key(StationConfig())
    private = stat.S_IMODE(key.stat().st_mode) == 0o600 and keys.stat().st_mode & 0o077 == 0
    assert private or problem, "a world-readable signing key is used silently"
