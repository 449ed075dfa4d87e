"""An accelerated shift on the simulated bench, in one process: does the station leak?

    python -m benchmarks.soak [--assemblies 500] [--min-frames 20000] [--quick]
                              [--sample-every 25] [--baseline-after 100] [--product ID]
                              [--no-certificates] [--out benchmarks/results/soak.json]

Drives ``StationController`` (the bench session the GUI runs, Qt-free) headless, in a
fresh station home (``QA_STATION_HOME`` set to a temporary folder, removed afterwards):
the default SQLite store, the simulated probe (unpaced: an accelerated shift) and the
simulated fixture, the realistic dirt mix of the simulated line. Each assembly is
scanned in by its serial; each end is selected the way the bench window does it (move
to fibre 1, autofocus, live view), then inspect -> clean -> inspect again -> connect,
cleaning as the demo does (dry cassette, wet-to-dry when the gate asks for it, the male
cassette for pinned ends, the adapter every time); an end the gate escalates as
blocking is rejected by a supervisor signing the decision (``supervisor_decision``), an
end still failing after eight cleanings too. Ends are mated on even assemblies and
capped on odd ones (both physical paths). Every accepted assembly gets its signed
certificate, as the window issues it the moment the assembly is accepted.

Frames graded are the fibres of every scan plus live frames graded as the live view
does (``live_frame()`` then ``grade_frame(frame, end)``) while an end is selected; the
live grades (at least two per end selected, the operator's look before pressing Inspect)
are paced so the run reaches ``--min-frames`` when the gate alone would not.

Resident memory (VmRSS), open file descriptors (/proc/self/fd) and threads (Python's
and the kernel's, /proc/self/task) are sampled after every ``--sample-every``
assemblies, after a garbage collection. Limits (issue: soak on the simulated bench):

- at least ``--min-frames`` frames graded and ``--assemblies`` assemblies through the gate;
- resident memory grows by <= 50 MB from the baseline (after ``--baseline-after``
  assemblies) to the end;
- no more open file descriptors or threads at the end than at the baseline;
- ``audit verify`` (``qa_station.store.verify``) passes on the store afterwards.

``--quick``: 30 assemblies, baseline after 10, a sample every 5, the frame minimum scaled
down to 1,200 (for the test; any option given explicitly wins).

Exit status 0 when every limit holds, 1 when one is broken, 2 when the run stopped on an
error (the figures so far are written all the same). The figures go to ``--out`` as JSON
(rewritten at every sample while the run goes, ``"finished": false`` until the end).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

from qa_station.controller import StationController
from qa_station.demo import next_serial
from qa_station.gate import GateRefused
from qa_station.store.kinds import Kind

LIMITS = {"rss_growth_mb": 50.0, "fd_growth": 0, "thread_growth": 0}
FULL = {"assemblies": 500, "min_frames": 20_000, "baseline_after": 100, "sample_every": 25}
QUICK = {"assemblies": 30, "min_frames": 1_200, "baseline_after": 10, "sample_every": 5}
PRODUCT = "trunk-mpo12-sm-apc-b"
MAX_ROUNDS = 8  # cleanings per end before the supervisor rejects it (as the demo)
LIVE_LOOK = 2  # live grades at least, each time an end is selected (the view at 4 Hz)
LIVE_PER_FIBRE = 4  # live grades on one fibre before the operator steps to the next
PACE_MARGIN = 1.03  # live grading aims a little above the frame minimum
SHIFT_LOGIN_EVERY = 100  # the operator signs out and in again (a break, a shift handover)
PASSWORDS = {
    "soak-admin": "soak admin correct horse battery",
    "soak-operator": "soak operator correct horse battery",
    "soak-supervisor": "soak supervisor correct horse battery",
}
MB = 1024 * 1024


# -- what the process holds -----------------------------------------------------------------
def rss_mb() -> float:
    return _status_kb("VmRSS") / 1024.0


def peak_rss_mb() -> float:
    return _status_kb("VmHWM") / 1024.0


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def open_fds() -> dict[int, str]:
    """Open descriptors and what they point at (without the one reading the folder)."""
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            fds[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # the descriptor listdir itself had open, closed by now
    return fds


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _fd_kind(target: str) -> str:
    """socket, pipe, anon_inode, the store's files (station.sqlite3, -wal, -shm), file, dev."""
    if target.startswith(("socket:", "pipe:", "anon_inode:")):
        return target.split(":")[0]
    name = Path(target).name
    if name.startswith("station.sqlite3"):
        return name
    return "dev" if target.startswith("/dev/") else "file"


class Meter:
    """Samples of the process, and the baseline the growth is measured from."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.samples: list[dict[str, Any]] = []
        self.fd_targets: dict[str, dict[int, str]] = {}
        self.thread_names: dict[str, list[str]] = {}

    def sample(self, assemblies: int, frames: int, tag: str | None = None) -> dict[str, Any]:
        gc.collect()
        fds = open_fds()
        s = {
            "assemblies": assemblies,
            "frames_graded": frames,
            "seconds": round(time.perf_counter() - self.started, 1),
            "rss_mb": round(rss_mb(), 1),
            "fds": len(fds),
            "threads": threading.active_count(),
            "os_threads": os_threads(),
            "py_objects": len(gc.get_objects()),
        }
        self.samples.append(s)
        if tag:
            self.fd_targets[tag] = fds
            self.thread_names[tag] = sorted(t.name for t in threading.enumerate())
        return s


# -- the shift --------------------------------------------------------------------------------
class Shift:
    """One operator at the bench, through ``StationController`` as the bench window."""

    def __init__(self, controller, product_id: str, certificates: bool, say) -> None:
        self.c = controller
        self.product = controller.catalog.get(product_id)
        self.certificates = certificates
        self.say = say
        self.counts: Counter[str] = Counter()
        self.escalations: Counter[str] = Counter()
        self.refusals: list[str] = []
        self.frames_gate = 0
        self.frames_live = 0
        self.live_verdicts: Counter[str] = Counter()
        self.gate_frames_per_assembly: list[int] = []

    @property
    def fibres_per_assembly(self) -> int:
        return sum(e.geometry.fiber_count or 1 for e in self.product.ends)

    @property
    def frames(self) -> int:
        return self.frames_gate + self.frames_live

    def sign_in(self) -> None:
        self.c.login("soak-operator", PASSWORDS["soak-operator"])

    def assembly(self, index: int, live_budget: int, mode: str) -> str:
        """One assembly through the gate; returns how it ended."""
        serial = next_serial(self.product, self.c.store, 0)
        session = self.c.open_serial(serial)
        self.counts["assemblies"] += 1
        self.counts[f"scenario {self.c.bench.simulated.assembly.scenario}"] += 1
        gate_before = self.frames_gate
        ends = session.ends
        try:
            for k, end in enumerate(ends):
                share = live_budget // len(ends) + (1 if k < live_budget % len(ends) else 0)
                self.select_end(end, max(LIVE_LOOK, share))
                if not self.end_through_gate(serial, end.label, mode):
                    break
        except GateRefused as exc:
            # The gate refused what the shift thought allowed: note it, close the assembly.
            self.counts["unexpected refusals"] += 1
            self.refusals.append(f"{serial}: {exc}")
            if self.c.refresh().status == "open":
                self.decide(
                    Kind.ASSEMBLY_REJECTED, f"soak: the gate refused an action: {exc}", None
                )
        self.gate_frames_per_assembly.append(self.frames_gate - gate_before)
        status = self.c.refresh().status
        self.counts[status] += 1
        if status == "accepted" and self.certificates:
            self.c.issue_certificate(serial)
            self.counts["certificates"] += 1
        return status

    def select_end(self, end, live_frames: int) -> None:
        """What the window does when an end is picked: fibre 1, autofocus, the live view."""
        n_fibres = end.geometry.fiber_count or 1
        self.c.show(end.label, 1)
        self.c.focus()
        fibre = 1
        for i in range(live_frames):
            if i and i % LIVE_PER_FIBRE == 0:  # the operator steps along the fibre map
                fibre = fibre % n_fibres + 1
                self.c.show(end.label, fibre)
            frame = self.c.live_frame()
            if frame is None:
                continue
            result = self.c.grade_frame(frame, end.label)
            self.frames_live += 1
            self.live_verdicts[result.verdict] += 1

    def end_through_gate(self, serial: str, end: str, mode: str) -> bool:
        """Inspect, clean, inspect again... connect; False when the assembly was rejected."""
        for _ in range(MAX_ROUNDS + 1):
            rec = self.c.inspect(end)
            self.counts["inspections"] += 1
            self.counts[f"inspections {rec.verdict}"] += 1
            self.frames_gate += len(self.c.session.scans[end].fibers)
            e = rec.state.end(end)
            if rec.escalation is not None:
                self.escalations[rec.escalation.cause] += 1
            if rec.verdict == "pass" and (e.policy != "always-clean" or e.last.after_full_clean):
                self.c.connect(end, mode)
                self.counts[f"ends {mode}"] += 1
                return True
            if e.escalation and e.escalation.blocking:
                self.decide(
                    Kind.ASSEMBLY_REJECTED,
                    f"end {end}: {e.escalation.cause} ({e.escalation.advice})",
                    end,
                )
                return False
            if e.cleanings >= MAX_ROUNDS:
                break
            self.clean(end, e)
        self.decide(
            Kind.ASSEMBLY_REJECTED, f"end {end}: still failing after {MAX_ROUNDS} cleanings", end
        )
        return False

    def clean(self, end: str, e) -> None:
        method = (
            e.escalation.require_method
            if e.escalation and e.escalation.require_method
            else "dry-cassette"
        )
        male = self.c.bench.simulated.assembly.ends[end].male
        if "cassette" in method:
            tool = "CASSETTE-MALE-01" if male else "CASSETTE-STD-01"
        else:
            tool = "WETDRY-KIT-01"
        self.c.clean(end, method, tool, adapter=True)
        self.counts["cleanings"] += 1
        self.counts[f"cleanings {method}"] += 1

    def decide(self, action: str, reason: str, end: str | None) -> None:
        self.c.supervisor_decision(
            "soak-supervisor", PASSWORDS["soak-supervisor"], action, reason, end
        )
        self.counts["supervisor decisions"] += 1


def open_station(say):
    """A fresh station in QA_STATION_HOME, with its accounts (nobody signed in)."""
    c = StationController.open(probe="simulated", fixture="simulated", realtime=False)
    if c.signing_problem:
        say(f"warning: {c.signing_problem}")
    admin = c.create_first_admin("soak-admin", PASSWORDS["soak-admin"])
    c.accounts.add("soak-operator", "operator", admin, "Soak Operator", PASSWORDS["soak-operator"])
    c.accounts.add(
        "soak-supervisor", "supervisor", admin, "Soak Supervisor", PASSWORDS["soak-supervisor"]
    )
    c.logout()
    # No station records an inspection unqualified: the supervisor qualifies it first.
    done = c.qualify("soak-supervisor", PASSWORDS["soak-supervisor"])
    say(f"qualified: {done.result.summary_line()}")
    return c


def _preload() -> None:
    """Import what the run imports lazily, so the code measured is the code at the start
    (and the modules' own memory is in every sample, not in the growth)."""
    for name in ("qa_station.certificates", "qa_station.store.verify", "reports.signing"):
        importlib.import_module(name)


def run(args: argparse.Namespace, home: Path, say, checkpoint) -> dict[str, Any]:
    _preload()
    out: dict[str, Any] = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "source": _source(),
        "finished": False,
        "settings": {
            "assemblies": args.assemblies,
            "min_frames": args.min_frames,
            "baseline_after": args.baseline_after,
            "sample_every": args.sample_every,
            "product": args.product,
            "certificates": not args.no_certificates,
            "quick": args.quick,
            "driver": "qa_station.controller.StationController (headless)",
            "bench": "simulated probe (unpaced) + simulated fixture, realistic dirt mix",
            "store": "default SQLite in QA_STATION_HOME (a temporary folder)",
        },
        "limits": {**LIMITS, "min_frames": args.min_frames, "assemblies": args.assemblies},
    }
    meter = Meter()
    c = open_station(say)
    shift = Shift(c, args.product, not args.no_certificates, say)
    start = meter.sample(0, 0, "start")
    say(f"station open in {home}: rss {start['rss_mb']} MB, {start['fds']} fds")
    baseline: dict[str, Any] | None = None

    def figures(done: int, last: bool = False) -> None:
        nonlocal baseline
        tag = "final" if last else "baseline" if done == args.baseline_after else None
        s = meter.sample(done, shift.frames, tag)
        if tag == "baseline":
            baseline = s
        say(
            f"{done:>5} assemblies {s['frames_graded']:>7} frames {s['seconds']:>8.1f} s  "
            f"rss {s['rss_mb']:7.1f} MB  fds {s['fds']:>3}  threads {s['threads']}/"
            f"{s['os_threads']}  objects {s['py_objects']}"
        )
        out.update(_results(args, meter, shift, start, baseline))
        checkpoint(out)

    error = None
    try:
        shift.sign_in()
        for i in range(args.assemblies):
            if i and i % SHIFT_LOGIN_EVERY == 0:
                c.logout()
                shift.sign_in()
            target = math.ceil(args.min_frames * PACE_MARGIN * (i + 1) / args.assemblies)
            per = shift.gate_frames_per_assembly
            # one inspection per end at least, until the shift has seen what the gate grades
            expected_gate = sum(per) / len(per) if per else shift.fibres_per_assembly
            budget = max(0, math.ceil(target - shift.frames - expected_gate))
            shift.assembly(i, budget, "connected" if i % 2 == 0 else "capped")
            done = i + 1
            if done % args.sample_every == 0 or done in (args.baseline_after, args.assemblies):
                figures(done, last=done == args.assemblies)
    except Exception as exc:  # the figures so far still say something
        error = f"{type(exc).__name__}: {exc}"
        out["error"] = error
        out["traceback"] = traceback.format_exc()
        say(f"stopped on an error: {error}")
        figures(shift.counts["assemblies"], last=True)
    seconds = meter.samples[-1]["seconds"]
    say("verifying the chain")
    t0 = time.perf_counter()
    report = c.verify()
    counts = c.counts()
    c.close()
    out.update(_results(args, meter, shift, start, baseline))
    out["verify"] = {
        "ok": report.ok,
        "events": report.events,
        "inspections": report.inspections,
        "cleanings": report.cleanings,
        "images": report.images,
        "first_problem": report.first_problem,
        "store_events": counts["events"],
        "store_assemblies": counts["assemblies"],
        "verify_s": round(time.perf_counter() - t0, 1),
    }
    out["images_gb"] = round(_size(home / "data" / "images") / 1e9, 2)
    out["disk"] = disk_use(home, counts["assemblies"], report.inspections)
    out["seconds"] = seconds
    out["finished"] = error is None
    out["met"]["chain_verifies"] = report.ok
    out["met"]["no_error"] = error is None
    out["pass"] = all(out["met"].values())
    return out


def _results(args, meter: Meter, shift: Shift, start, baseline) -> dict[str, Any]:
    samples = meter.samples
    final = samples[-1]
    base = baseline or (samples[1] if len(samples) > 1 else start)
    after_base = [s for s in samples if s["assemblies"] >= base["assemblies"]]
    growth = {
        "rss_mb": round(final["rss_mb"] - base["rss_mb"], 1),
        "fds": final["fds"] - base["fds"],
        "threads": final["threads"] - base["threads"],
        "os_threads": final["os_threads"] - base["os_threads"],
        "py_objects": final["py_objects"] - base["py_objects"],
        "rss_mb_max_above_baseline": round(
            max(s["rss_mb"] for s in after_base) - base["rss_mb"], 1
        ),
        "fds_max_above_baseline": max(s["fds"] for s in after_base) - base["fds"],
        "rss_mb_from_start": round(final["rss_mb"] - start["rss_mb"], 1),
        "fds_from_start": final["fds"] - start["fds"],
        "threads_from_start": final["threads"] - start["threads"],
        "os_threads_from_start": final["os_threads"] - start["os_threads"],
    }
    # the slope from the baseline on, by least squares: MB per 100 assemblies
    xs = [s["assemblies"] for s in after_base]
    ys = [s["rss_mb"] for s in after_base]
    if len(xs) >= 2 and max(xs) > min(xs):
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
            (x - mx) ** 2 for x in xs
        )
        growth["rss_mb_per_100_assemblies"] = round(100 * slope, 2)
    seconds = max(final["seconds"], 1e-9)
    done = shift.counts["assemblies"]
    counts = dict(sorted(shift.counts.items()))
    alarms = _alarms(shift)
    met = {
        "assemblies": done >= args.assemblies,
        "no_dirty_probe_alarm": alarms == 0,
        "min_frames": shift.frames >= args.min_frames,
        "rss_growth_mb": baseline is not None and growth["rss_mb"] <= LIMITS["rss_growth_mb"],
        "fd_growth": baseline is not None and growth["fds"] <= LIMITS["fd_growth"],
        "thread_growth": baseline is not None
        and growth["threads"] <= LIMITS["thread_growth"]
        and growth["os_threads"] <= LIMITS["thread_growth"],
    }
    new_fds = {}
    if "baseline" in meter.fd_targets and "final" in meter.fd_targets:
        b, f = meter.fd_targets["baseline"], meter.fd_targets["final"]
        new_fds = {str(k): v for k, v in f.items() if b.get(k) != v}
    fd_kinds = {
        tag: dict(Counter(_fd_kind(t) for t in fds.values()))
        for tag, fds in meter.fd_targets.items()
    }
    return {
        "assemblies": done,
        "frames_graded": shift.frames,
        "frames_graded_gate": shift.frames_gate,
        "frames_graded_live": shift.frames_live,
        "live_verdicts": dict(shift.live_verdicts),
        "verdicts": {
            "accepted": shift.counts["accepted"],
            "rejected": shift.counts["rejected"],
            "open": shift.counts["open"],
        },
        "counts": counts,
        "escalations": dict(shift.escalations),
        "unexpected_refusals": shift.refusals[:20],
        "probe_dirty_alarms": alarms,
        "throughput": {
            "frames_per_s": round(shift.frames / seconds, 2),
            "assemblies_per_min": round(done / seconds * 60, 2),
            "seconds_per_assembly": round(seconds / max(done, 1), 2),
        },
        "start": start,
        "baseline": baseline,
        "final": final,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "growth": growth,
        "fd_kinds": fd_kinds,
        "fds_new_since_baseline": new_fds,
        "thread_names": meter.thread_names,
        "samples": samples,
        "met": met,
    }


YEAR_OF_A_BUSY_BENCH = 150_000  # assemblies (issue 12: must fit in 500 GB)


def disk_use(home: Path, assemblies: int, inspections: int) -> dict[str, Any]:
    """Bytes the shift left on the bench, per assembly (and images per inspection: how dirty
    the shift was changes how many there are), and a busy year at that rate."""
    data = home / "data"
    parts = {
        "images": _size(data / "images"),
        "database": sum(p.stat().st_size for p in data.glob("station.sqlite3*") if p.is_file()),
        "certificates": _size(data / "certificates"),
    }
    n = max(1, assemblies)
    per = {k: round(v / n) for k, v in parts.items()}
    return {
        "bytes": parts,
        "per_assembly": per,
        "year_gb": {k: round(v * YEAR_OF_A_BUSY_BENCH / 1e9, 1) for k, v in per.items()},
        "year_assemblies": YEAR_OF_A_BUSY_BENCH,
        "inspections_per_assembly": round(inspections / n, 2),
        "image_bytes_per_inspection": round(parts["images"] / max(1, inspections)),
    }


def _alarms(shift: Shift) -> int:
    """Dirty-probe alarms over the shift: with a clean probe there must be none (issue 14)."""
    from sqlalchemy import func, select

    from qa_station.store.kinds import Kind
    from qa_station.store.models import Event

    with shift.c.store.read() as s:
        return s.execute(
            select(func.count(Event.id)).where(Event.kind == Kind.PROBE_DIRTY.value)
        ).scalar_one()


def _size(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):  # a file removed meanwhile
                total += os.stat(os.path.join(root, name)).st_size
    return total


def _source() -> dict[str, Any]:
    """Which code was measured: the commit, and the files changed on top of it."""
    here = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=here, capture_output=True, text=True, check=True
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None}
    return {"commit": head, "changed_files": [line[3:] for line in dirty]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--assemblies", type=int, help=f"default {FULL['assemblies']}")
    ap.add_argument("--min-frames", type=int, help=f"default {FULL['min_frames']}")
    ap.add_argument(
        "--baseline-after", type=int, help=f"assemblies (default {FULL['baseline_after']})"
    )
    ap.add_argument("--sample-every", type=int, help=f"assemblies (default {FULL['sample_every']})")
    ap.add_argument("--quick", action="store_true", help="a short run (30 assemblies), for tests")
    ap.add_argument("--product", default=PRODUCT, help="catalog product id")
    ap.add_argument(
        "--no-certificates", action="store_true", help="do not sign a certificate per acceptance"
    )
    ap.add_argument("--keep-home", action="store_true", help="keep the station home afterwards")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/soak.json"))
    args = ap.parse_args(argv)
    preset = QUICK if args.quick else FULL
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.assemblies < 1 or args.min_frames < 0 or args.sample_every < 1:
        ap.error("--assemblies and --sample-every: at least 1; --min-frames: not negative")
    if not 1 <= args.baseline_after < args.assemblies:
        ap.error("--baseline-after: at least 1 and fewer than --assemblies")
    if not Path("/proc/self/status").exists():
        ap.error("needs Linux /proc to read the process's memory, descriptors and threads")

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    def checkpoint(figures: dict[str, Any]) -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(figures, indent=2) + "\n")
        os.replace(tmp, args.out)

    home = Path(tempfile.mkdtemp(prefix="qa-soak-"))
    os.environ["QA_STATION_HOME"] = str(home)
    try:
        figures = run(args, home, say, checkpoint)
    finally:
        if args.keep_home:
            say(f"station home kept: {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    checkpoint(figures)
    print(summary(figures))
    if "error" in figures:
        return 2
    return 0 if figures["pass"] else 1


def summary(f: dict[str, Any]) -> str:
    g, t, v = f["growth"], f["throughput"], f["verify"]
    start, base, final = f["start"], f["baseline"] or {}, f["final"]
    lines = [
        f"soak: {f['assemblies']} assemblies ({f['verdicts']['accepted']} accepted, "
        f"{f['verdicts']['rejected']} rejected), {f['frames_graded']} frames graded "
        f"({f['frames_graded_gate']} in scans, {f['frames_graded_live']} live) in "
        f"{f['seconds'] / 60:.1f} min",
        f"  throughput: {t['frames_per_s']} frames/s, {t['assemblies_per_min']} assemblies/min",
        f"  rss: start {start['rss_mb']} MB, baseline {base.get('rss_mb')} MB (after "
        f"{base.get('assemblies')} assemblies), final {final['rss_mb']} MB: growth "
        f"{g['rss_mb']} MB (limit {LIMITS['rss_growth_mb']:g}), peak {f['peak_rss_mb']} MB",
        f"  fds: start {start['fds']}, baseline {base.get('fds')}, final {final['fds']}; "
        f"threads: start {start['threads']}/{start['os_threads']}, baseline "
        f"{base.get('threads')}/{base.get('os_threads')}, final "
        f"{final['threads']}/{final['os_threads']} (python/os)",
        f"  dirty-probe alarms (a clean probe): {f['probe_dirty_alarms']}",
        f"  chain verify: {'ok' if v['ok'] else 'FAILED: ' + str(v['first_problem'])}, "
        f"{v['events']} events, {v['images']} images",
        "  limits: " + ", ".join(f"{k} {'ok' if ok else 'BROKEN'}" for k, ok in f["met"].items()),
        f"  {'PASS' if f['pass'] else 'FAIL'}"
        + (f" (error: {f['error']})" if "error" in f else ""),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
