"""A headless production run on the simulated bench, through the real gate and store.

Each simulated assembly is registered, every end is inspected, cleaned while
it fails (dry first, wet-to-dry when the gate says residue, the male cassette
for pinned ends, adapter too), inspected again, and capped; an end the gate
escalates as damaged is rejected by the demo supervisor. It is the shortest
way to see the whole station work, and the soak and crash tests drive it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qa_station.accounts import Accounts, Session
from qa_station.bench import Bench, open_bench
from qa_station.catalog import Catalog, EndDefinition, Product
from qa_station.config import StationConfig, tip_for
from qa_station.gate import Gate, GateInterface, GateRefused
from qa_station.qualification.policy import QualificationPolicy
from qa_station.scan import scan_end
from qa_station.store import Store, StoreError

MAX_ROUNDS = 8  # cleanings per end before the demo gives up on it


@dataclass
class DemoSummary:
    assemblies: int = 0
    accepted: int = 0
    rejected: int = 0
    inspections: int = 0
    cleanings: int = 0
    certificates: list[str] = field(default_factory=list)
    serials: list[str] = field(default_factory=list)
    qualification: str | None = None  # the station was qualified first: how it went

    def to_dict(self) -> dict:
        return {
            "assemblies": self.assemblies,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "inspections": self.inspections,
            "cleanings": self.cleanings,
            "certificates": self.certificates,
        }


def next_serial(product: Product, store: Store, index: int) -> str:
    """A fresh serial in the product's format (its example, with the number counted on)."""
    m = re.match(r"^(.*?)(\d+)$", product.serial_example)
    if not m:
        raise ValueError(f"cannot number serials like {product.serial_example!r}")
    prefix, digits = m.group(1), len(m.group(2))
    with store.read() as s:
        from sqlalchemy import func, select

        from qa_station.store.models import Assembly

        taken = s.execute(
            select(func.count(Assembly.id)).where(Assembly.serial.like(prefix + "%"))
        ).scalar_one()
        n = 900000 + taken + index + 1 if digits >= 6 else taken + index + 1
        # Never a serial the store knows: the demo must not touch a real assembly's record.
        for _ in range(10**digits):
            serial = f"{prefix}{n % 10**digits:0{digits}d}"
            if store.assembly_id(s, serial) is None:
                break
            n += 1
        else:
            raise ValueError(f"no free demo serial left in the {prefix}... range")
    if not product.serial_ok(serial):
        raise ValueError(f"demo serial {serial} does not fit {product.serial_pattern}")
    return serial


def run_demo(
    store: Store,
    catalog: Catalog,
    config: StationConfig,
    assemblies: int = 3,
    product_id: str = "trunk-mpo12-sm-apc-b",
    scenario: str | None = None,
    say: Callable[[str], None] = lambda s: None,
    bench: Bench | None = None,
    after_assembly: Callable[[str, DemoSummary], None] | None = None,
    out_dir: Path | None = None,
    people: tuple[Session, Session] | None = None,
) -> DemoSummary:
    """``out_dir``: write the signed certificate of every accepted assembly there.

    ``people``: the operator's and supervisor's sessions to work under (signed in by
    the caller); without them the demo works in a record of its own under its demo
    sessions (``Accounts.demo_sessions``), which end when it stops.
    """
    if people is None:
        accounts = Accounts(store)
        operator, supervisor = accounts.demo_sessions()
        try:
            return run_demo(
                store, catalog, config, assemblies, product_id, scenario, say, bench,
                after_assembly, out_dir, (operator, supervisor),
            )  # fmt: skip
        finally:
            for session in (operator, supervisor):
                with contextlib.suppress(StoreError):
                    accounts.sign_out(session)
    operator, supervisor = people
    gate = Gate(store, catalog, QualificationPolicy(config.qualification_max_age_days))
    product = catalog.get(product_id)
    own_bench = bench is None
    bench = bench or open_bench(config, probe="simulated", fixture="simulated", realtime=False)
    summary = DemoSummary()
    try:
        summary.qualification = _qualified(store, config, gate, bench, product, supervisor)
        for _ in range(assemblies):
            serial = next_serial(product, store, 0)
            identified, _ = gate.register(serial, operator)
            bench.load(identified, scenario)
            say(f"{serial}: {bench.simulated.assembly.scenario}")
            summary.assemblies += 1
            summary.serials.append(serial)
            for end in product.ends:
                if not _end(gate, bench, serial, end, operator, supervisor, summary, say):
                    break
            final = gate.state(serial).status
            if final == "accepted":
                summary.accepted += 1
                if out_dir is not None:
                    from qa_station.certificates.issuing import issue

                    path = issue(store, serial, out_dir, config)
                    summary.certificates.append(str(path))
                    say(f"{serial}: certificate {path}")
            elif final == "rejected":
                summary.rejected += 1
            say(f"{serial}: {final}")
            if after_assembly:
                after_assembly(serial, summary)
    finally:
        if own_bench:
            bench.close()
    return summary


def _qualified(
    store: Store,
    config: StationConfig,
    gate: Gate,
    bench: Bench,
    product: Product,
    supervisor: Session,
) -> str | None:
    """A station records no inspection unqualified: the demo's supervisor qualifies it on
    the built-in reference set first, as a supervisor would (report and record)."""
    from qa_station.qualification.issue import run_reference

    probe = bench.probe.info.probe_id
    scales = {tip_for(e.connector): bench.calibration(e).scale for e in product.ends}
    standing = gate.standing(probe, scales)
    if standing.ok or standing.dirty_probe is not None:
        return None
    done = run_reference(store, config, supervisor, probe_id=probe)
    return f"qualified by {supervisor.username}: {done.result.summary_line()}, report {done.path}"


def _end(
    gate: GateInterface,
    bench: Bench,
    serial: str,
    end: EndDefinition,
    operator: Session,
    supervisor: Session,
    summary: DemoSummary,
    say: Callable[[str], None],
) -> bool:
    """One end through the gate; False when the assembly was rejected."""
    cal = bench.calibration(end)
    sim = bench.simulated
    for _ in range(MAX_ROUNDS):
        scan = scan_end(bench.probe, bench.fixture, end, cal.min_focus_score, cal.scale)
        rec = gate.record_inspection(serial, end.label, scan, operator, bench.probe.info.probe_id)
        summary.inspections += 1
        e = rec.state.end(end.label)
        say(
            f"  {end.label}: inspected, {rec.verdict}"
            + (f" ({rec.advice})" if rec.verdict != "pass" else "")
        )
        if rec.verdict == "pass" and (e.policy != "always-clean" or e.last.after_full_clean):
            gate.connect(serial, end.label, operator, mode="capped")
            sim.cap(end.label)
            say(f"  {end.label}: capped")
            return True
        if e.escalation and e.escalation.blocking:
            gate.reject(
                serial, supervisor, f"end {end.label}: {e.escalation.cause} ({e.escalation.advice})"
            )
            say(
                f"  {end.label}: escalated ({e.escalation.cause}), rejected by {supervisor.username}"
            )
            return False
        method = (
            e.escalation.require_method
            if e.escalation and e.escalation.require_method
            else "dry-cassette"
        )
        male = sim.assembly.ends[end.label].male
        tool = (
            ("CASSETTE-MALE-01" if male else "CASSETTE-STD-01")
            if "cassette" in method
            else "WETDRY-KIT-01"
        )
        sim.clean(end.label, method, male_tool=True)
        sim.clean_adapter(end.label)
        gate.record_cleaning(serial, end.label, method, tool, True, operator)
        summary.cleanings += 1
        say(f"  {end.label}: cleaned ({method}, {tool}, adapter too)")
    with contextlib.suppress(GateRefused):
        gate.reject(
            serial, supervisor, f"end {end.label}: still failing after {MAX_ROUNDS} cleanings"
        )
    return False
