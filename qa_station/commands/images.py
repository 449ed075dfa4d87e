"""``qa-station images archive|verify|remove``: the image store's retention.

``archive --before DATE`` writes every frame recorded before DATE into one tar
file signed with the station's key (and records it); ``verify ARCHIVE`` checks
an archive anywhere (signature, every file, and the record unless
``--offline``); ``remove ARCHIVE`` takes the frames that archive holds and that
are older than the retention (``[images] retention_days``) off the bench, an
admin's decision, on the record. Exit 0 done or valid, 1 an archive that does
not check out, 2 bad usage or anything that stopped the command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from qa_station.accounts import Accounts, AuthError
from qa_station.archive import ArchiveError, check_archive, export_archive, remove_archived
from qa_station.commands.common import CommandError, db_option, fails_as, station
from qa_station.exports import DateError, parse_when
from qa_station.paths import station_paths
from qa_station.store import StoreError
from qa_station.text import shown

if TYPE_CHECKING:
    from asn1crypto import x509 as asn1_x509


def add_arguments(p: argparse.ArgumentParser) -> None:
    isub = p.add_subparsers(dest="images_command", metavar="COMMAND", required=True)
    a = isub.add_parser(
        "archive", help="write the frames recorded before a date to a signed archive"
    )
    a.add_argument("--before", required=True, metavar="DATE", help="YYYY-MM-DD or ISO 8601")
    a.add_argument("-o", "--output", metavar="FILE", help="default: images-before-DATE.tar here")
    db_option(a, help=None)
    a.set_defaults(func=run_archive)
    v = isub.add_parser("verify", help="check a signed archive of frames")
    v.add_argument("archive", metavar="ARCHIVE.tar")
    v.add_argument("--trust", metavar="PEM", action="append", help="certificate(s) to trust")
    v.add_argument("--offline", action="store_true", help="the file alone, not the record")
    db_option(v, help=None)
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=run_verify)
    r = isub.add_parser(
        "remove",
        help="take frames older than the retention off the bench, if this archive holds them",
    )
    r.add_argument("archive", metavar="ARCHIVE.tar")
    r.add_argument("--admin", required=True, help="the admin who decides it")
    r.add_argument("--password-stdin", action="store_true")
    r.add_argument("--trust", metavar="PEM", action="append")
    db_option(r, help=None)
    r.set_defaults(func=run_remove)


def _trust(given: list[str] | None) -> list[asn1_x509.Certificate]:
    from reports.signing import SigningError, load_pem_certificates, trust_roots

    try:
        if given:
            return [c for t in given for c in load_pem_certificates(Path(t))]
        return trust_roots(station_paths().keys_dir)
    except SigningError as exc:
        raise CommandError(str(exc)) from None


@fails_as("images archive", DateError, ArchiveError, StoreError)
def run_archive(args: argparse.Namespace) -> int:
    before = parse_when(args.before)
    config, store, _ = station(args.db)
    day = dt.datetime.fromtimestamp(before / 1e6, tz=dt.UTC).strftime("%Y%m%d")
    out = Path(args.output or f"images-before-{day}.tar")
    try:
        done = export_archive(store, before, out, station_paths().keys_dir, config.station_id)
    finally:
        store.close()
    print(f"{done.path}: {done.images} images, {done.bytes} bytes, sha256 {done.sha256}")
    return 0


@fails_as("images verify", ArchiveError, StoreError)
def run_verify(args: argparse.Namespace) -> int:
    store = None
    try:
        trust = _trust(args.trust)
        if not args.offline:
            _, store, _ = station(args.db)
        check = check_archive(Path(args.archive), store, trust)
    finally:
        if store is not None:
            store.close()
    if args.json:
        doc = {"file": check.path, "sha256": check.sha256, "ok": check.ok}
        doc["checks"] = [{"name": n, "state": s, "detail": d} for n, s, d in check.checks]
        json.dump(doc, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(shown(f"{check.path}: {'VALID' if check.ok else 'NOT VALID'}", 600))
        marks = {"ok": "ok  ", "fail": "FAIL", "skipped": "--  "}
        for name, state, detail in check.checks:
            print(shown(f"  [{marks.get(state, '??  ')}] {name}: {detail}", 600))
    return 0 if check.ok else 1


@fails_as("images remove", AuthError, ArchiveError, StoreError)
def run_remove(args: argparse.Namespace) -> int:
    import getpass

    trust = _trust(args.trust)
    config, store, _ = station(args.db)
    try:
        accounts = Accounts(store)
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass(f"password for {shown(args.admin, 40)}: ")
        admin = accounts.sign_in(args.admin, password, "cli")
        try:
            done = remove_archived(
                store, Path(args.archive), config.image_retention_days, trust, admin
            )
        finally:
            accounts.sign_out(admin)
    finally:
        store.close()
    print(
        f"removed {done.images} image files ({done.bytes} bytes) held by the archive; "
        f"{done.kept_younger} younger than the retention stay"
    )
    return 0
