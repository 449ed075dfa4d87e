"""``qa-station qualify``: evidence that the station itself can be trusted.

- ``qualify reference [--set FOLDER]``: grade a reference set (the built-in one,
  or a factory's folder of images with ``labels.toml``) with this station's
  grader, rule tables and calibration; write the signed qualification report
  and record the result. Exit 0 qualified, 1 not qualified (recorded: the
  station then records no inspection), 2 bad input (nothing recorded).
- ``qualify repeatability --serial S --end E [--trials N] [--operators a,b]``:
  inspect one end N times per operator, re-seated between trials; write the
  signed study report and record it. Exit 0 written, 2 anything else.
- ``qualify status``: the station's qualification and dirty-probe state.
- ``qualify export FOLDER``: the built-in set as a folder of PNGs and
  ``labels.toml`` (the format a factory's own set uses).

A supervisor runs qualifications and studies (``--supervisor NAME``; the
password from the terminal, or ``--password-stdin``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from hardware.probes.base import ProbeError
from hardware.simulated.assembly import SCENARIOS
from hardware.stages.base import FixtureError
from qa_station.accounts import Accounts, AuthError, Session
from qa_station.bench import open_bench
from qa_station.catalog import CatalogError
from qa_station.certificates.errors import CertificateError
from qa_station.commands.common import db_option, fail, fails_as, station
from qa_station.config import ConfigError
from qa_station.qualification.labels import ReferenceSetError, load_folder
from qa_station.qualification.reference import load_frames
from qa_station.qualification.repeatability import StudyError, run_study
from qa_station.scan import ScanError
from qa_station.store import Store, StoreError

NAME = "qualify"


DESCRIPTION = __doc__


def add_arguments(p: argparse.ArgumentParser) -> None:
    q = p.add_subparsers(dest="qualify_command", metavar="COMMAND", required=True)
    r = q.add_parser("reference", help="grade a reference set; record and report the result")
    r.add_argument("--set", metavar="FOLDER", help="a factory's set: images + labels.toml")
    _who(r)
    r.add_argument("--probe", metavar="ID", help="the probe qualified (default: the config's)")
    r.add_argument("-o", "--output", metavar="PATH", help="report folder or .pdf file")
    r.add_argument("--json", action="store_true", help="one JSON object on stdout")
    db_option(r, help=None)
    r.set_defaults(func=run_reference)
    s = q.add_parser("repeatability", help="inspect one end N times per operator, re-seated")
    s.add_argument("--serial", required=True, help="the assembly's serial (or 'PART SERIAL')")
    s.add_argument("--end", required=True)
    s.add_argument("--trials", type=int, default=10, help="trials per operator (default 10)")
    s.add_argument(
        "--operators", help="appraisers, comma-separated (default: the supervisor alone)"
    )
    s.add_argument("--probe", help="simulated, uvc:INDEX|PATH or replay:PATH (default: config)")
    s.add_argument("--fixture", help="simulated, emulator or serial:PORT (default: config)")
    s.add_argument(
        "--scenario", choices=SCENARIOS, help="simulated bench: the virtual assembly's dirt"
    )
    _who(s)
    s.add_argument("-o", "--output", metavar="PATH", help="report folder or .pdf file")
    s.add_argument("--json", action="store_true")
    db_option(s, help=None)
    s.set_defaults(func=run_repeatability)
    st = q.add_parser("status", help="the station's qualification and probe state")
    st.add_argument("--json", action="store_true")
    db_option(st, help=None)
    st.set_defaults(func=run_status)
    e = q.add_parser("export", help="write the built-in reference set as a folder")
    e.add_argument("folder", type=Path)
    e.set_defaults(func=run_export)


def _who(p: argparse.ArgumentParser) -> None:
    p.add_argument("--supervisor", required=True, metavar="NAME", help="who runs it")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")


@contextlib.contextmanager
def _supervisor(store: Store, args: argparse.Namespace) -> Iterator[Session]:
    """The supervisor signed in for this one command (signed out after it)."""
    from qa_station.commands.user import _Secrets

    secrets = _Secrets(args.password_stdin)
    accounts = Accounts(store)
    password = secrets.ask(f"password for {args.supervisor}: ")
    actor = accounts.sign_in(args.supervisor, password, "cli")
    try:
        if not actor.supervises:
            raise AuthError(
                f"{actor.username} is an {actor.role}: a supervisor runs qualifications"
            )
        yield actor
    finally:
        with contextlib.suppress(StoreError):
            accounts.sign_out(actor)


@fails_as(
    f"{NAME} reference", AuthError, ReferenceSetError, CertificateError, StoreError, ConfigError
)
def run_reference(args: argparse.Namespace) -> int:
    from qa_station.qualification.issue import run_reference as qualify_station

    reference = load_folder(args.set) if args.set else None
    if reference is not None:  # every image read before anyone signs in for it
        load_frames(reference)
    config, store, _ = station(args.db)
    try:
        with _supervisor(store, args) as who:
            done = qualify_station(store, config, who, reference, args.output, args.probe)
    finally:
        store.close()
    r = done.result
    if args.json:
        doc = {"qualified": r.passed, "report": str(done.path), "event_id": done.event_id}
        doc.update(r.to_payload())
        json.dump(doc, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(r.summary_line())
        for reason in r.reasons:
            print(f"  {reason}")
        for d in r.disagreements[:20]:
            print(f"  {d.face.id}: reference {d.face.verdict}, graded {d.graded}: {d.why}")
        print(f"report: {done.path}")
    return 0 if r.passed else 1


@fails_as(
    f"{NAME} repeatability",
    AuthError,
    CatalogError,
    StudyError,
    ConfigError,
    ScanError,
    ProbeError,
    FixtureError,
    CertificateError,
    StoreError,
    OSError,
)
def run_repeatability(args: argparse.Namespace) -> int:
    from qa_station.qualification.issue import record_study

    config, store, catalog = station(args.db)
    bench = None
    try:
        with _supervisor(store, args) as who:
            identified = catalog.identify(args.serial)
            end = identified.product.end(args.end)
            operators = tuple(
                x.strip() for x in (args.operators or who.username).split(",") if x.strip()
            )
            bench = open_bench(config, args.probe, args.fixture, realtime=False)
            bench.load(identified, args.scenario)
            sim = bench.simulated

            def reseat(op: str, n: int) -> None:
                if sim is not None:
                    sim.reseat(end.label)
                    return
                print(
                    f"{op}: re-seat end {end.label} in the fixture for trial {n}, then press Enter",
                    file=sys.stderr,
                )
                if not sys.stdin.isatty() or sys.stdin.readline() == "":
                    raise StudyError(
                        "a real bench needs the operator at the terminal to re-seat the connector"
                    )

            study = run_study(
                bench,
                identified.serial,
                end,
                args.trials,
                operators,
                reseat,
                progress=(lambda s: None) if args.json else (lambda s: print(s, file=sys.stderr)),
            )
            done = record_study(store, study, who, args.output)
    finally:
        if bench is not None:
            bench.close()
        store.close()
    f = study.figures()
    if args.json:
        json.dump(
            {"report": str(done.path), "event_id": done.event_id, **study.to_payload()},
            sys.stdout,
            indent=1,
        )
        sys.stdout.write("\n")
    else:
        kappa = f["fleiss_kappa"]
        print(
            f"{study.serial} end {study.end}: {f['ratings']} fibre verdicts, agreement "
            f"{f['verdict_agreement']:.1%}, within operators {f['within_operator']:.1%}, between "
            f"{f['between_operators']:.1%}, Fleiss' kappa "
            + ("undefined (every rating the same)" if kappa is None else f"{kappa:.3f}")
        )
        if f["largest_sd_um_mid_max"] is not None:
            print(
                f"  largest size, 5-10 um particles: spread (1 sigma) max "
                f"{f['largest_sd_um_mid_max']:.3f} um over {f['fibres_mid_size']} fibre(s)"
            )
        if f["scale_mean_um_per_px"] is not None:
            print(
                f"  scale calibration x{f['scale_measurements']}: {f['scale_mean_um_per_px']:.5f} "
                f"um/px +- {f['scale_sd_um_per_px']:.6f} ({f['scale_relative_sd']:.3%})"
            )
        print(f"report: {done.path}")
    return 0


@fails_as(f"{NAME} status", StoreError)
def run_status(args: argparse.Namespace) -> int:
    from qa_station.qualification.policy import QualificationPolicy, standing

    config, store, _ = station(args.db)
    try:
        scales: dict[str, float | tuple[float, float] | None] = {
            c.tip: c.scale for c in config.calibrations if c.probe == config.probe_id and c.tip
        }
        policy = QualificationPolicy(config.qualification_max_age_days)
        with store.read() as s:
            now = round(store.clock() * 1e6)
            overall = standing(s, store.station_id, config.probe_id, scales, now, policy)
            per_tip = {
                tip: standing(s, store.station_id, config.probe_id, {tip: scale}, now, policy)
                for tip, scale in scales.items()
            }
    finally:
        store.close()
    if args.json:
        json.dump(
            {
                "station": store.station_id,
                "probe": config.probe_id,
                "ok": overall.ok,
                "summary": overall.summary(),
                "reason": overall.reason,
                "qualification_event": overall.event_id,
                "expires_us": overall.expires_us,
                "dirty_probe": overall.dirty_probe,
                "tips": {t: {"ok": x.ok, "reason": x.reason} for t, x in per_tip.items()},
            },
            sys.stdout,
            indent=1,
        )
        sys.stdout.write("\n")
    else:
        print(f"station {store.station_id}, probe {config.probe_id}: {overall.summary()}")
        for tip, x in sorted(per_tip.items()):
            print(f"  {tip} tip: {'ok' if x.ok else x.reason}")
    return 0 if overall.ok else 1


def run_export(args: argparse.Namespace) -> int:
    from qa_station.qualification.builtin import export_builtin

    try:
        labels = export_builtin(args.folder)
    except OSError as exc:
        return fail(f"{NAME} export", f"{args.folder}: {exc.strerror or exc}")
    print(labels)
    return 0
