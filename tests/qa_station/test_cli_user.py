"""`qa-station user add|list|passwd`: accounts from the command line, passwords never echoed."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from qa_station.accounts import FREE_FAILURES, Accounts, AuthError, SignInDelayed
from qa_station.cli import main
from qa_station.config import load_config
from qa_station.store.store import open_store

ROOT_PW = "root-secret-pw-1"
OP_PW = "olga-secret-pw-2"
NEW_PW = "olga-new-pw-3"
ADMIN_SET_PW = "set-by-root-pw-4"
WRONG_PW = "wrong-guess-pw-5"
MISMATCH = ("first-typing-6", "second-typing-7")
SECRETS = (ROOT_PW, OP_PW, NEW_PW, ADMIN_SET_PW, WRONG_PW, *MISMATCH)


def by_admin(verb: str, username: str, *options: str, admin: str = "root") -> list[str]:
    """``user VERB USERNAME OPTIONS --admin ADMIN --password-stdin``: most tests act as an admin."""
    return ["user", verb, username, *options, "--admin", admin, "--password-stdin"]


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run ``qa-station ARGS`` in-process; ``stdin`` lines feed --password-stdin."""

    def run(*args: str, stdin: list[str] | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{line}\n" for line in stdin)))
        code = main(list(args))
        out, err = capsys.readouterr()
        printed = [s for s in SECRETS if s in out or s in err]
        assert not printed, f"a password was printed: {out!r} {err!r}"
        return code, out, err

    return run


@pytest.fixture
def accounts():
    store = open_store(load_config())
    yield Accounts(store)
    store.close()


@pytest.fixture
def with_root(cli):
    code, out, _ = cli(
        "user", "add", "root", "--role", "admin", "--password-stdin", stdin=[ROOT_PW] * 2
    )
    assert (code, out) == (0, "added root (admin)\n")


@pytest.fixture
def with_olga(cli, with_root):
    code, _, err = cli(*by_admin("add", "olga", "--name", "Olga K"), stdin=[ROOT_PW, OP_PW, OP_PW])
    assert code == 0, err


def names(accounts: Accounts) -> list[str]:
    return [a.username for a in accounts.list()]


def test_first_add_creates_the_admin_without_signing_in(cli, accounts):
    code, out, err = cli(
        "user",
        "add",
        "root",
        "--role",
        "admin",
        "--name",
        "Root Admin",
        "--password-stdin",
        stdin=[ROOT_PW, ROOT_PW],
    )
    assert (code, out, err) == (0, "added root (admin)\n", "")
    (info,) = accounts.list()
    assert (info.username, info.role, info.display_name) == ("root", "admin", "Root Admin")
    assert accounts.sign_in("root", ROOT_PW).role == "admin"


def test_first_add_as_an_operator_is_refused_with_a_reason(cli, accounts):
    code, out, err = cli(
        "user", "add", "olga", "--role", "operator", "--password-stdin", stdin=[OP_PW, OP_PW]
    )
    assert code == 2 and out == ""
    assert err.startswith("qa-station user add: error: ")
    assert "first account must be an admin" in err
    assert accounts.count() == 0


def test_the_first_account_is_an_admin_unless_told_otherwise(cli, accounts):
    code, out, _ = cli("user", "add", "root", "--password-stdin", stdin=[OP_PW, OP_PW])
    assert code == 0 and out.strip() == "added root (admin)"


def test_second_add_without_admin_fails_clearly(cli, accounts, with_root):
    code, out, err = cli("user", "add", "olga", "--password-stdin", stdin=[OP_PW, OP_PW])
    assert code == 2 and out == ""
    assert "accounts exist: sign in as an admin with --admin NAME" in err
    assert names(accounts) == ["root"]


def test_add_with_admin_and_right_password(cli, accounts, with_root):
    code, out, err = cli(
        *by_admin("add", "olga", "--role", "supervisor"), stdin=[ROOT_PW, OP_PW, OP_PW]
    )
    assert (code, out, err) == (0, "added olga (supervisor)\n", "")
    assert accounts.sign_in("olga", OP_PW).role == "supervisor"


def test_add_with_wrong_admin_password_fails(cli, accounts, with_root):
    code, out, err = cli(*by_admin("add", "olga"), stdin=[WRONG_PW, OP_PW, OP_PW])
    assert code == 2 and out == ""
    assert "sign-in refused" in err
    assert names(accounts) == ["root"]


def test_add_authorised_by_a_non_admin_fails(cli, accounts, with_olga):
    code, _, err = cli(
        *by_admin("add", "oscar", admin="olga"), stdin=[OP_PW, "oscar-pw-123", "oscar-pw-123"]
    )
    assert code == 2 and "only an admin can add accounts" in err
    assert names(accounts) == ["olga", "root"]


def test_add_with_mismatched_passwords_refused(cli, accounts, with_root):
    code, out, err = cli(*by_admin("add", "olga"), stdin=[ROOT_PW, *MISMATCH])
    assert code == 2 and out == "" and "the two passwords differ" in err
    assert names(accounts) == ["root"]


def test_add_with_weak_password_refused(cli, accounts, with_root):
    code, _, err = cli(*by_admin("add", "olga"), stdin=[ROOT_PW, "short", "short"])
    assert code == 2 and "at least 8 characters" in err
    assert names(accounts) == ["root"]


def test_add_with_too_few_lines_on_stdin_refused(cli, accounts, with_root):
    code, _, err = cli(*by_admin("add", "olga"), stdin=[ROOT_PW])
    assert code == 2 and "no line on standard input" in err
    assert names(accounts) == ["root"]


def test_badge_only_account(cli, accounts, with_root):
    code, out, _ = cli(
        *by_admin("add", "bea", "--role", "supervisor", "--badge", "BADGE-42", "--no-password"),
        stdin=[ROOT_PW],
    )
    assert (code, out) == (0, "added bea (supervisor)\n")
    assert accounts.sign_in_badge("BADGE-42").username == "bea"
    with pytest.raises(AuthError):
        accounts.sign_in("bea", ROOT_PW)


def test_list_prints_the_accounts(cli, accounts, with_olga):
    cli(
        *by_admin("add", "bea", "--role", "auditor", "--badge", "BADGE-42", "--name", "Bea"),
        stdin=[ROOT_PW, "bea-secret-pw", "bea-secret-pw"],
    )
    code, out, err = cli("user", "list")
    assert code == 0 and err == ""
    rows = {line.split()[0]: line.split() for line in out.splitlines()}
    assert list(rows) == ["bea", "olga", "root"]
    assert rows["bea"] == ["bea", "auditor", "password+badge", "Bea"]
    assert rows["olga"] == ["olga", "operator", "password", "Olga", "K"]
    assert rows["root"] == ["root", "admin", "password", "root"]
    assert "scrypt" not in out and "bea-secret-pw" not in out and "BADGE-42" not in out


def test_list_shows_a_place_that_waits_and_a_supervisor_clears_it(cli, accounts, with_olga):
    for _ in range(FREE_FAILURES + 1):
        with pytest.raises(AuthError):
            accounts.sign_in("olga", WRONG_PW, "window")
    code, out, _ = cli("user", "list")
    assert code == 0
    (delay,) = [line for line in out.splitlines() if line.startswith("sign-in delay: ")]
    assert delay == f"sign-in delay: bench-1/window: {FREE_FAILURES + 1} failures, waits 2 s"
    with pytest.raises(SignInDelayed):
        accounts.sign_in("olga", OP_PW, "window")
    assert accounts.sign_in("olga", OP_PW, "cli")  # the account is not locked anywhere else
    code, out, err = cli("user", "unlock", "bench-1/window", "--by", "olga", "--password-stdin",
                         stdin=[OP_PW])  # fmt: skip
    assert code == 2 and "only a supervisor or an admin" in err
    code, out, err = cli("user", "unlock", "bench-1/window", "--by", "root", "--password-stdin",
                         stdin=[ROOT_PW])  # fmt: skip
    assert (code, out, err) == (0, "sign-in delays cleared: 1 place(s)\n", "")
    assert accounts.sign_in("olga", OP_PW, "window").username == "olga"


def test_disable_ends_an_account_and_enable_brings_it_back(cli, accounts, with_olga):
    me = accounts.sign_in("olga", OP_PW)
    code, out, err = cli(*by_admin("disable", "olga"), stdin=[ROOT_PW])
    assert (code, out, err) == (0, "olga disabled\n", "")
    with pytest.raises(AuthError):
        accounts.check(me)
    code, out, _ = cli("user", "list")
    (olga,) = [line for line in out.splitlines() if line.startswith("olga ")]
    assert olga.endswith(" disabled")
    code, out, err = cli(*by_admin("enable", "olga"), stdin=[ROOT_PW])
    assert (code, out) == (0, "olga enabled\n"), err
    assert accounts.sign_in("olga", OP_PW).username == "olga"


def test_user_list_escapes_a_stored_display_name(cli, accounts, with_olga):
    """Hole 9: a display name with escape codes and a line break forged a line in user list
    (one stored by an older version, or written into the database by hand)."""
    with accounts.store.write() as w:
        from sqlalchemy import select

        from qa_station.store.models import Operator

        op = w.session.execute(select(Operator).where(Operator.username == "olga")).scalar_one()
        op.display_name = "Olga\x1b[2K\rroot                 admin       password        root"
    code, out, _ = cli("user", "list")
    assert code == 0 and "\x1b" not in out and "\r" not in out
    assert len(out.splitlines()) == 2
    assert "Olga\\x1b[2K\\rroot" in out


def test_passwd_own(cli, accounts, with_olga):
    code, out, err = cli(
        "user", "passwd", "olga", "--password-stdin", stdin=[OP_PW, NEW_PW, NEW_PW]
    )
    assert (code, out, err) == (0, "password changed for olga\n", "")
    assert accounts.sign_in("olga", NEW_PW).username == "olga"
    with pytest.raises(AuthError):
        accounts.sign_in("olga", OP_PW)


def test_passwd_own_with_wrong_old_password_fails(cli, accounts, with_olga):
    code, _, err = cli(
        "user", "passwd", "olga", "--password-stdin", stdin=[WRONG_PW, NEW_PW, NEW_PW]
    )
    assert code == 2 and "sign-in refused" in err
    assert accounts.sign_in("olga", OP_PW).username == "olga"


def test_passwd_by_admin(cli, accounts, with_olga):
    code, out, _ = cli(*by_admin("passwd", "olga"), stdin=[ROOT_PW, ADMIN_SET_PW, ADMIN_SET_PW])
    assert (code, out) == (0, "password changed for olga\n")
    assert accounts.sign_in("olga", ADMIN_SET_PW).username == "olga"
    assert accounts.sign_in("root", ROOT_PW).username == "root"  # the admin's own is unchanged


def test_passwd_for_another_by_a_non_admin_refused(cli, accounts, with_olga):
    code, _, err = cli(
        *by_admin("passwd", "root", admin="olga"), stdin=[OP_PW, ADMIN_SET_PW, ADMIN_SET_PW]
    )
    assert code == 2 and "only an admin can set another user's password" in err
    assert accounts.sign_in("root", ROOT_PW).username == "root"


def test_passwd_with_mismatched_passwords_refused(cli, accounts, with_olga):
    code, out, err = cli("user", "passwd", "olga", "--password-stdin", stdin=[OP_PW, *MISMATCH])
    assert code == 2 and out == "" and "the two passwords differ" in err
    assert accounts.sign_in("olga", OP_PW).username == "olga"


def test_passwords_from_the_terminal_are_asked_without_echo(cli, accounts, monkeypatch):
    prompts: list[str] = []
    answers = iter([ROOT_PW, ROOT_PW])

    def fake_getpass(prompt: str = "Password: ") -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("qa_station.commands.user.getpass.getpass", fake_getpass)
    code, out, _ = cli("user", "add", "root", "--role", "admin")
    assert (code, out) == (0, "added root (admin)\n")
    assert prompts == ["new password for root: ", "again: "]
    assert accounts.sign_in("root", ROOT_PW).role == "admin"


def test_real_process_reads_passwords_from_stdin_and_prints_none(station_home):
    env = {**os.environ, "QA_STATION_HOME": str(station_home)}

    def qa(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "qa_station", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    add_root = qa(
        "user", "add", "root", "--role", "admin", "--password-stdin", stdin=f"{ROOT_PW}\n" * 2
    )
    add_olga = qa(*by_admin("add", "olga"), stdin=f"{ROOT_PW}\n{OP_PW}\n{OP_PW}\n")
    wrong = qa(*by_admin("add", "oscar"), stdin=f"{WRONG_PW}\n{NEW_PW}\n{NEW_PW}\n")
    listing = qa("user", "list")
    assert (add_root.returncode, add_olga.returncode, wrong.returncode) == (0, 0, 2)
    assert listing.returncode == 0
    assert [line.split()[:2] for line in listing.stdout.splitlines()] == [
        ["olga", "operator"],
        ["root", "admin"],
    ]
    for p in (add_root, add_olga, wrong, listing):
        assert not [s for s in SECRETS if s in p.stdout or s in p.stderr]
