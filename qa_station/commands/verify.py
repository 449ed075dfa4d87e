"""``qa-station verify CERT.pdf``: is this certificate genuine, unchanged, and the record's?

Exit 0 only when every check holds: the signature (intact, valid, by a trusted
key), the file unchanged since signing, the certificate data inside the signed
bytes, the serial (with ``--serial``), and the station's record (the record
hash, nothing changed since, this exact file recorded as issued). When the
store cannot be reached the record is "not checked" and the exit is 1: pass
``--offline`` to check the file alone (exit 0 then means: genuine and
unchanged, not compared with the record). Exit 2: bad usage or a file that
cannot be read at all.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qa_station.certificates.verify import VerifyUsageError, verify_file
from qa_station.commands.common import (
    CommandError,
    db_option,
    fail,
    serial_arg,
    station,
)
from qa_station.config import ConfigError, load_config
from qa_station.paths import station_paths
from qa_station.store import Store
from qa_station.text import shown

DESCRIPTION = (
    "Check a certificate PDF: its signature, that not one byte changed since "
    "signing, and (unless --offline) that it matches the station's record of its serial. "
    "Exit 0 only when every check holds, 1 when one fails or could not be made, 2 on bad "
    "usage or an unreadable file."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="CERT.pdf")
    p.add_argument(
        "--serial", metavar="SN", help="the serial on the cord: the certificate must be its"
    )
    db_option(p)
    p.add_argument(
        "--offline",
        action="store_true",
        help="check the file alone, without the station's record (e.g. at a customer's site)",
    )
    p.add_argument(
        "--trust",
        metavar="PEM",
        action="append",
        help="certificate(s) to trust: the station's certificate or your company's CA "
        "(default: the station's trust.pem, else its station.crt)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object with every check")


def run(args: argparse.Namespace) -> int:
    from reports.signing import SigningError, load_pem_certificates

    trust = None
    if args.trust:
        try:
            trust = [c for t in args.trust for c in load_pem_certificates(Path(t))]
        except SigningError as exc:
            return fail("verify", str(exc))
    if not Path(args.file).is_file():
        return fail("verify", f"{args.file}: no such file")
    if args.serial is not None:
        try:
            args.serial = serial_arg(args.serial)
        except CommandError as exc:
            return fail("verify", f"--serial: {exc}")
    store, problem = None, None
    if not args.offline:
        store, problem = _open_store(args.db)
    try:
        outcome = verify_file(
            args.file, store, serial=args.serial, trust=trust, store_problem=problem
        )
    except VerifyUsageError as exc:
        return fail("verify", str(exc))
    finally:
        if store is not None:
            store.close()
    if args.json:
        json.dump(outcome.to_dict(), sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for line in outcome.lines():  # what the file says is printed escaped, one line each
            print(shown(line, 600))
        if not outcome.ok:
            print("verdict: NOT VALID - do not rely on this certificate")
        elif args.offline:
            print("verdict: VALID - genuine and unchanged (not compared with the station's record)")
        else:
            print("verdict: VALID")
    return 0 if outcome.ok else 1


def _open_store(db_url: str | None) -> tuple[Store | None, str | None]:
    """The station's store, or (None, why it cannot be used)."""
    if not db_url:
        try:
            config = load_config()
        except ConfigError as exc:
            return None, f"the station's config cannot be read ({exc})"
        db_file = station_paths().database_file
        if not config.store_url and not db_file.exists():
            return None, f"there is no station record on this computer (no store at {db_file})"
    try:
        _, store, _ = station(db_url)
    except CommandError as exc:
        return None, f"the station's record cannot be reached: {exc}"
    return store, None
