"""``qa-station user add|list|passwd|disable|enable|unlock``: station accounts.

Passwords are read from the terminal (or, with --password-stdin, one per line
from standard input, for scripts); never from the command line, where they
would stay in the shell's history.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from qa_station.accounts import ROLES, Accounts, AuthError, Session
from qa_station.commands.common import CommandError, db_option, fail, fails_as, station
from qa_station.store import StoreError
from qa_station.text import shown

SOURCE = "cli"  # where these sign-ins come from: failures slow down the command line only


def add_arguments(p: argparse.ArgumentParser) -> None:
    usub = p.add_subparsers(dest="user_command", metavar="COMMAND", required=True)
    a = usub.add_parser(
        "add", help="add an account (an admin signs in to do it; the first one is an admin)"
    )
    a.add_argument("username")
    a.add_argument(
        "--role", choices=ROLES, help="default: admin for the first account, else operator"
    )
    a.add_argument("--name", help="the person's name as shown on records")
    a.add_argument("--badge", help="a badge id that signs this person in")
    a.add_argument("--no-password", action="store_true", help="badge only")
    a.add_argument("--admin", help="admin account that authorises this (not needed for the first)")
    a.add_argument(
        "--password-stdin", action="store_true", help="read passwords from stdin, one per line"
    )
    db_option(a, help=None)
    a.set_defaults(func=run_add)
    ls = usub.add_parser("list", help="list accounts")
    db_option(ls, help=None)
    ls.set_defaults(func=run_list)
    pw = usub.add_parser("passwd", help="change a password (your own, or anyone's as an admin)")
    pw.add_argument("username")
    pw.add_argument("--admin", help="sign in as this admin instead of as the user")
    pw.add_argument("--password-stdin", action="store_true")
    db_option(pw, help=None)
    pw.set_defaults(func=run_passwd)
    for verb, helps in (
        ("disable", "disable an account: its sessions end at once (an admin signs in)"),
        ("enable", "enable a disabled account again (an admin signs in)"),
    ):
        d = usub.add_parser(verb, help=helps)
        d.add_argument("username")
        d.add_argument("--admin", required=True, help="the admin who authorises it")
        d.add_argument("--password-stdin", action="store_true")
        db_option(d, help=None)
        d.set_defaults(func=run_set_active, active=verb == "enable")
    u = usub.add_parser(
        "unlock",
        help="clear the wait after failed sign-ins at one place (or --all): a supervisor's",
    )
    u.add_argument("source", nargs="?", help="the place, as user list shows it")
    u.add_argument("--all", action="store_true", help="every place")
    u.add_argument("--by", required=True, metavar="NAME", help="the supervisor or admin")
    u.add_argument("--password-stdin", action="store_true")
    db_option(u, help=None)
    u.set_defaults(func=run_unlock)


class _Secrets:
    def __init__(self, from_stdin: bool) -> None:
        self.lines = sys.stdin.read().splitlines() if from_stdin else None

    def ask(self, prompt: str) -> str:
        if self.lines is not None:
            if not self.lines:
                raise AuthError(f"no line on standard input for: {prompt.strip(': ')}")
            return self.lines.pop(0)
        return getpass.getpass(prompt)


@fails_as("user add", AuthError, StoreError)
def run_add(args: argparse.Namespace) -> int:
    _, store, _ = station(args.db)
    accounts = Accounts(store)
    secrets = _Secrets(args.password_stdin)
    admin = None
    if accounts.count() > 0:
        if not args.admin:
            raise AuthError("accounts exist: sign in as an admin with --admin NAME to add one")
        admin = accounts.sign_in(
            args.admin, secrets.ask(f"password for {shown(args.admin, 40)}: "), SOURCE
        )
    password = None
    if not args.no_password:
        password = secrets.ask(f"new password for {shown(args.username, 40)}: ")
        if secrets.ask("again: ") != password:
            raise AuthError("the two passwords differ")
    role = args.role or ("operator" if admin else "admin")
    accounts.add(args.username, role, admin, args.name, password, args.badge)
    if admin is not None:
        accounts.sign_out(admin)
    print(f"added {args.username} ({role})")
    return 0


@fails_as("user list", StoreError)
def run_list(args: argparse.Namespace) -> int:
    _, store, _ = station(args.db)
    accounts = Accounts(store)
    rows, delays = accounts.list(), accounts.delays()
    for r in rows:
        how = "+".join(x for x, on in (("password", r.has_password), ("badge", r.has_badge)) if on)
        flags = "" if r.active else " disabled"
        if r.badge_rekey_pending:
            flags += " (badge stored the old way: re-keyed at its next use, or enrol it again)"
        # Stored text is printed escaped: a name cannot move the cursor or forge a line.
        print(
            f"{shown(r.username, 32):<20} {r.role:<11} {how:<15} {shown(r.display_name, 64)}{flags}"
        )
    for d in delays:
        if d.wait_s > 0:
            print(
                f"sign-in delay: {shown(d.source, 96)}: {d.failures} failures, "
                f"waits {d.wait_s:.0f} s"
            )
    return 0


@fails_as("user passwd", AuthError, StoreError)
def run_passwd(args: argparse.Namespace) -> int:
    _, store, _ = station(args.db)
    accounts = Accounts(store)
    secrets = _Secrets(args.password_stdin)
    who = args.admin or args.username
    old = secrets.ask(f"password for {shown(who, 40)}: ")
    actor = accounts.sign_in(who, old, SOURCE)
    try:
        new = secrets.ask(f"new password for {shown(args.username, 40)}: ")
        if secrets.ask("again: ") != new:
            raise AuthError("the two passwords differ")
        accounts.set_password(args.username, new, actor, old_password=old)
    finally:
        accounts.sign_out(actor)
    print(f"password changed for {shown(args.username, 40)}")
    return 0


@contextmanager
def _signed_in(args: argparse.Namespace, who: str) -> Iterator[tuple[Accounts, Session]]:
    """The store's accounts and a session for ``who`` (password from the terminal), signed
    out when the block ends, whatever happened in it."""
    _, store, _ = station(args.db)
    accounts = Accounts(store)
    password = _Secrets(args.password_stdin).ask(f"password for {shown(who, 40)}: ")
    actor = accounts.sign_in(who, password, SOURCE)
    try:
        yield accounts, actor
    finally:
        accounts.sign_out(actor)


def run_set_active(args: argparse.Namespace) -> int:
    verb = "enable" if args.active else "disable"
    try:
        with _signed_in(args, args.admin) as (accounts, admin):
            accounts.set_active(args.username, args.active, admin)
    except (CommandError, AuthError, StoreError) as exc:
        return fail(f"user {verb}", str(exc))
    print(f"{shown(args.username, 40)} {verb}d")
    return 0


@fails_as("user unlock", AuthError, StoreError)
def run_unlock(args: argparse.Namespace) -> int:
    if bool(args.source) == bool(args.all):
        raise CommandError("name one place (as user list shows it) or give --all")
    with _signed_in(args, args.by) as (accounts, boss):
        cleared = accounts.unlock(None if args.all else args.source, boss)
    print(f"sign-in delays cleared: {cleared} place(s)")
    return 0
