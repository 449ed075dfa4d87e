"""A station killed at any moment keeps an intact record: SIGKILL a demo, again and again.

One station home; `qa-station demo` runs in a subprocess and is killed (SIGKILL,
no clean-up of any kind) at moments drawn from a seeded RNG: once while the first
run creates its record and its demo people, then at random moments from the start of a run or
from its first assembly on. Afterwards the record must verify, every image an
inspection names must be there with the bytes it was recorded with, and the demo
must carry on where the killed runs left the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from qa_station.accounts import DEMO_PEOPLE, Accounts
from qa_station.config import load_config
from qa_station.paths import demo_home, station_paths
from qa_station.store.models import Assembly, Event, Image, Inspection, InspectionFiber
from qa_station.store.store import open_store

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)"),
]

PRODUCT = "jumper-lc-duplex-sm-upc"  # four single-fibre ends: quick assemblies
SEED = 61300335
# (what the delay counts from, shortest delay, longest delay) per killed run
ROUNDS = (
    ("accounts", 0.0, 0.15),  # the first run, while it creates its record and demo people
    ("start", 0.5, 6.0),
    ("assembly", 0.0, 2.5),
    ("assembly", 0.0, 2.5),
    ("start", 0.5, 6.0),
    # A busy machine (a parallel suite) can make both "start" kills land before a run's
    # first commit: this round keeps three kills of a run at work whatever the load.
    ("assembly", 0.0, 2.5),
)
DEMO = (sys.executable, "-u", "-m", "qa_station", "demo")  # -u: each line as it is printed
SERIAL_LINE = re.compile(r"^(LCD-\d{7}): ")
WAIT_LIMIT_S = 90.0  # a run that does not reach its anchor by then has hung


@dataclass
class Round:
    number: int
    anchor: str
    delay_s: float
    returncode: int | None = None
    events_added: int = 0
    assemblies_added: int = 0
    accounts_after: int = 0
    output: str = ""
    errors: str = ""

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL

    @property
    def killed_mid_run(self) -> bool:
        """Killed after the run had committed work of its own."""
        return self.killed and self.events_added > 0


class DemoProcess:
    """A demo in a subprocess, its output read line by line as it comes."""

    def __init__(self, env: dict[str, str], assemblies: int, log: Path) -> None:
        self.errors = log
        with log.open("w") as err:
            self.proc = subprocess.Popen(
                [*DEMO, "--assemblies", str(assemblies), "--product", PRODUCT],
                env=env,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        self.lines: list[str] = []
        self.first_assembly = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if SERIAL_LINE.match(line):
                self.first_assembly.set()
        self.first_assembly.set()  # the output ended: nothing more to wait for

    def wait_for(self, anchor: str, database: Path) -> None:
        deadline = time.monotonic() + WAIT_LIMIT_S
        if anchor == "accounts":
            while self.proc.poll() is None and not database.exists():
                assert time.monotonic() < deadline, "the demo never made its record"
                time.sleep(0.002)
        elif anchor == "assembly":
            assert self.first_assembly.wait(WAIT_LIMIT_S), "the demo never started an assembly"

    def kill_after(self, delay_s: float) -> int:
        """SIGKILL after ``delay_s`` unless the run ends first; its return code."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            return self.proc.wait(timeout=delay_s)
        os.kill(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=WAIT_LIMIT_S)

    def finish(self) -> tuple[int, str, str]:
        code = self.proc.wait(timeout=WAIT_LIMIT_S * 2)
        self._reader.join(timeout=10)
        return code, "\n".join(self.lines), self.errors.read_text()


def counts(db: Path) -> tuple[int, int, int]:
    """(events, assemblies, accounts) committed so far; zeros before the schema exists."""
    if not db.exists():
        return 0, 0, 0
    con = sqlite3.connect(db, timeout=30)
    try:
        return tuple(
            con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("events", "assemblies", "operators")
        )
    except sqlite3.OperationalError:
        return 0, 0, 0
    finally:
        con.close()


def qa(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qa_station", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT_LIMIT_S * 2,
    )


def check_images(store) -> dict[str, int]:
    """Every image an inspection names has its row and a file with exactly those bytes."""
    with store.read() as s:
        images = {i.sha256: i for i in s.execute(select(Image)).scalars()}
        inspections = list(s.execute(select(Inspection)).scalars())
        fibres = list(s.execute(select(InspectionFiber)).scalars())
    per_inspection: dict[int, int] = {}
    refs: list[tuple[str, str | None]] = []
    for f in fibres:
        per_inspection[f.inspection_id] = per_inspection.get(f.inspection_id, 0) + 1
        refs.append((f"inspection {f.inspection_id} fibre {f.fiber}", f.image_sha256))
    refs += [(f"inspection {i.id} overview", i.overview_sha256) for i in inspections]
    missing_fibres = [i.id for i in inspections if not per_inspection.get(i.id)]
    assert not missing_fibres, f"inspections without fibre rows: {missing_fibres}"
    checked = 0
    for what, sha in refs:
        if sha is None:
            assert "overview" in what, f"{what}: no image recorded"  # single fibre: no overview
            continue
        assert sha in images, f"{what}: image {sha[:12]} has no row"
        path = store.images.path(sha)
        assert path.is_file(), f"{what}: image file {path} missing"
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha, f"{what}: file {path} changed"
        assert len(data) == images[sha].size_bytes, f"{what}: file {path} has another size"
        checked += 1
    return {"inspections": len(inspections), "image references": checked}


def test_sigkilled_demo_runs_leave_an_intact_record(station_home, tmp_path):
    env = {**os.environ, "QA_STATION_HOME": str(station_home)}
    with demo_home():  # the demo keeps a record of its own
        paths = station_paths()
    rng = random.Random(SEED)
    rounds: list[Round] = []

    for number, (anchor, low, high) in enumerate(ROUNDS):
        r = Round(number, anchor, round(rng.uniform(low, high), 3))
        before = counts(paths.database_file)
        run = DemoProcess(env, 3, tmp_path / f"round-{number}.err")
        run.wait_for(anchor, paths.database_file)
        r.returncode = run.kill_after(r.delay_s)
        _, r.output, r.errors = run.finish()
        after = counts(paths.database_file)
        r.events_added, r.assemblies_added = after[0] - before[0], after[1] - before[1]
        r.accounts_after = after[2]
        rounds.append(r)
        # a run may only end by being killed or by finishing well
        assert r.returncode in (0, -signal.SIGKILL), (
            f"round {number} ended with {r.returncode}: {r.errors or r.output}"
        )

    table = "\n".join(
        f"round {r.number}: {r.delay_s:5.2f} s after {r.anchor:<8} -> "
        f"{'KILLED' if r.killed else 'exited ' + str(r.returncode)}"
        f"{' mid-run' if r.killed_mid_run else ''}, "
        f"{r.events_added} events, {r.assemblies_added} assemblies, "
        f"{r.accounts_after}/{len(DEMO_PEOPLE)} demo people"
        for r in rounds
    )
    print(table)
    killed = [r for r in rounds if r.killed]
    mid_run = [r for r in rounds if r.killed_mid_run]
    assert len(killed) >= 3, f"too few runs were killed:\n{table}"
    assert len(mid_run) >= 3, f"too few runs were killed while working:\n{table}"

    # right after the kills: the auditor's check, then the images directly
    audit = qa(env, "--demo", "audit", "verify", "--json")
    report = json.loads(audit.stdout)
    assert audit.returncode == 0 and report["ok"], f"{report['problems'][:5]}\n{table}"
    assert report["problems"] == []
    with demo_home():
        config = load_config()
        store = open_store(config)
    try:
        checked = check_images(store)
        with store.read() as s:
            serials = list(s.execute(select(Assembly.serial)).scalars())
            closed = set(
                s.execute(
                    select(Event.assembly_id).where(
                        Event.kind.in_(("assembly.accepted", "assembly.rejected"))
                    )
                ).scalars()
            )
            half_done = [
                a.serial for a in s.execute(select(Assembly)).scalars() if a.id not in closed
            ]
        assert checked["inspections"] == report["inspections"] > 0
        assert checked["image references"] > 0
        # at least one kill landed inside an assembly: it stays open, its ends part way
        assert half_done, f"no assembly was left half done:\n{table}"
    finally:
        store.close()

    # the demo carries on: new serials, a run that finishes, a history to read
    final = DemoProcess(env, 1, tmp_path / "final.err")
    code, output, errors = final.finish()
    assert code == 0, errors or output
    done = [m for m in (SERIAL_LINE.match(line) for line in output.splitlines()) if m]
    serial = done[-1].group(1)
    assert serial not in serials
    assert re.search(rf"^{serial}: (accepted|rejected)$", output, re.M), output
    history = qa(env, "--demo", "history", serial, "--json")
    assert history.returncode == 0, history.stderr
    kinds = [e["kind"] for e in json.loads(history.stdout)]
    assert kinds[0] == "assembly.registered"
    assert kinds[-1] in ("assembly.accepted", "assembly.rejected")
    assert "end.inspected" in kinds

    again = qa(env, "--demo", "audit", "verify")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.startswith("intact: ")
    with demo_home():
        store = open_store(config)
    try:
        check_images(store)
        names = {a.username for a in Accounts(store).list()}
        assert names == set(DEMO_PEOPLE)  # the demo's people, no admin, no password anywhere
        assert not any(a.has_password or a.has_badge for a in Accounts(store).list())
    finally:
        store.close()
    assert not (station_paths().database_file).exists()  # the station's own record: untouched
