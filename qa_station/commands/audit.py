"""``qa-station audit verify|checkpoint``: check the whole record; keep a signed head of it.

``audit checkpoint`` signs the chain's head now and prints it (one line of JSON): whoever
keeps that line can later show, with ``audit verify --checkpoint FILE``, that the record
still extends it, as with Certificate Transparency's signed tree heads.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qa_station.commands.common import CommandError, db_option, fails_as, station
from qa_station.paths import station_paths
from qa_station.store import StoreError
from qa_station.store.checkpoints import Checkpoint
from qa_station.store.keys import RecordKeyError, Trust
from qa_station.store.verify import VerifyReport, verify
from qa_station.text import shown


def add_arguments(p: argparse.ArgumentParser) -> None:
    asub = p.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    v = asub.add_parser(
        "verify",
        help="check the whole record: exit 0 when intact, else name the first broken record",
    )
    db_option(v)
    v.add_argument(
        "--trust",
        metavar="PEM",
        type=Path,
        help="also trust these certificates (the other benches', or your company CA)",
    )
    v.add_argument(
        "--checkpoint",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="a checkpoint you kept (audit checkpoint): the record must still extend it",
    )
    v.add_argument(
        "--since-checkpoint",
        action="store_true",
        help="incremental: from the newest trusted signed checkpoint (its head must still be "
        "in the chain as signed), every event after it and the rows and frames they seal",
    )
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=run_verify)
    c = asub.add_parser(
        "checkpoint",
        help="sign the record's head now and print it (one line of JSON) for you to keep",
    )
    db_option(c)
    c.add_argument("-o", "--output", metavar="FILE", type=Path, help="append it to this file")
    c.set_defaults(func=run_checkpoint)


def _kept(paths: list[Path]) -> list[Checkpoint]:
    """Every checkpoint in the files given (JSON lines, or one JSON object)."""
    out = []
    for path in paths:
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read the checkpoint file {path}: {exc}") from None
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                out.append(Checkpoint.from_dict(json.loads(line)))
            except ValueError as exc:
                raise CommandError(f"{path} line {n}: not a checkpoint ({exc})") from None
    return out


@fails_as("audit verify", StoreError, RecordKeyError)
def run_verify(args: argparse.Namespace) -> int:
    kept = _kept(args.checkpoint)
    _, store, _ = station(args.db)
    try:  # trust read once the store is open: a new station's key is made as it opens
        trust = Trust.of(station_paths().keys_dir, args.trust)
        report = verify(
            store, trust=trust, checkpoints=kept, since_checkpoint=args.since_checkpoint
        )
    finally:
        store.close()
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        for line in _lines(report):
            print(line)
    return 0 if report.ok else 1


def _lines(report: VerifyReport) -> list[str]:
    if report.ok:
        head = (
            f"intact: {report.events} events in one unbroken chain, {report.signed} signed by "
            f"the station keys this check trusts, held to {report.checkpoints} signed "
            f"checkpoint(s) ({report.witnessed} kept by this bench's witness); "
            f"{report.inspections} inspections, {report.cleanings} cleanings and "
            f"{report.images} images as recorded"
            + (f" ({report.archived} of them archived off the bench)" if report.archived else "")
        )
        out = [head]
        if report.since:
            out.append(
                f"  incremental: from the signed checkpoint at event {report.since['head_id']} "
                f"({report.since['events']} events), intact as signed; the events, rows and "
                "frames after it checked in full"
            )
    else:
        # Problems quote what the store holds: printed escaped, never raw bytes.
        out = [f"BROKEN: {shown(report.first_problem, 600)}"]
        out += [f"  also: {shown(p, 600)}" for p in report.problems[1:20]]
        if len(report.problems) > 20:
            out.append(f"  ... and {len(report.problems) - 20} more")
    out += [f"  signer: {shown(k, 200)}" for k in report.keys]
    out += [f"  note: {shown(n, 600)}" for n in report.notes]
    return out


@fails_as("audit checkpoint", StoreError)
def run_checkpoint(args: argparse.Namespace) -> int:
    _, store, _ = station(args.db)
    try:
        cp = store.checkpoint("audit")
    finally:
        store.close()
    line = json.dumps(cp.to_dict(), sort_keys=True)
    if args.output is not None:
        try:
            with args.output.open("a", encoding="utf-8") as f:
                f.write(line + "\n")
        except OSError as exc:
            raise CommandError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    print(line)
    return 0
