"""``qa-station user add|list|passwd``: station accounts.

Passwords are read from the terminal (or, with --password-stdin, one per line
from standard input, for scripts); never from the command line, where they
would stay in the shell's history.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from qa_station.accounts import ROLES, Accounts, AuthError
from qa_station.commands.common import CommandError, fail, station


def add_parser(sub: argparse._SubParsersAction, summary: str) -> None:
    p = sub.add_parser("user", help=summary)
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
    a.add_argument("--db", metavar="URL")
    a.set_defaults(func=run_add)
    ls = usub.add_parser("list", help="list accounts")
    ls.add_argument("--db", metavar="URL")
    ls.set_defaults(func=run_list)
    pw = usub.add_parser("passwd", help="change a password (your own, or anyone's as an admin)")
    pw.add_argument("username")
    pw.add_argument("--admin", help="sign in as this admin instead of as the user")
    pw.add_argument("--password-stdin", action="store_true")
    pw.add_argument("--db", metavar="URL")
    pw.set_defaults(func=run_passwd)


class _Secrets:
    def __init__(self, from_stdin: bool) -> None:
        self.lines = sys.stdin.read().splitlines() if from_stdin else None

    def ask(self, prompt: str) -> str:
        if self.lines is not None:
            if not self.lines:
                raise AuthError(f"no line on standard input for: {prompt.strip(': ')}")
            return self.lines.pop(0)
        return getpass.getpass(prompt)


def run_add(args: argparse.Namespace) -> int:
    try:
        _, store, _ = station(args.db)
        accounts = Accounts(store)
        secrets = _Secrets(args.password_stdin)
        admin = None
        if accounts.count() > 0:
            if not args.admin:
                raise AuthError("accounts exist: sign in as an admin with --admin NAME to add one")
            admin = accounts.login(args.admin, secrets.ask(f"password for {args.admin}: "))
        password = None
        if not args.no_password:
            password = secrets.ask(f"new password for {args.username}: ")
            if secrets.ask("again: ") != password:
                raise AuthError("the two passwords differ")
        role = args.role or ("operator" if admin else "admin")
        accounts.add(args.username, role, admin, args.name, password, args.badge)
    except (CommandError, AuthError) as exc:
        return fail("user add", str(exc))
    print(f"added {args.username} ({role})")
    return 0


def run_list(args: argparse.Namespace) -> int:
    try:
        _, store, _ = station(args.db)
        rows = Accounts(store).list()
    except CommandError as exc:
        return fail("user list", str(exc))
    for r in rows:
        how = "+".join(x for x, on in (("password", r.has_password), ("badge", r.has_badge)) if on)
        flags = " LOCKED" if r.locked else "" if r.active else " inactive"
        print(f"{r.username:<20} {r.role:<11} {how:<15} {r.display_name}{flags}")
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    try:
        _, store, _ = station(args.db)
        accounts = Accounts(store)
        secrets = _Secrets(args.password_stdin)
        who = args.admin or args.username
        old = secrets.ask(f"password for {who}: ")
        actor = accounts.login(who, old)
        new = secrets.ask(f"new password for {args.username}: ")
        if secrets.ask("again: ") != new:
            raise AuthError("the two passwords differ")
        accounts.set_password(args.username, new, actor, old_password=old)
    except (CommandError, AuthError) as exc:
        return fail("user passwd", str(exc))
    print(f"password changed for {args.username}")
    return 0
