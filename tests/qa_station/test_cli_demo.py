"""`qa-station demo`: simulated assemblies through the real gate, and what the record shows after."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

import qa_station.demo
from qa_station.cli import main
from qa_station.config import load_config
from qa_station.gate.escalation import escalate
from qa_station.paths import demo_home, station_paths
from qa_station.store.models import Assembly, Cleaning, Inspection
from qa_station.store.store import open_store

pytestmark = pytest.mark.slow  # a file of tens of seconds: a parallel run starts it first

JUMPER = "jumper-lc-duplex-sm-upc"  # four single-fibre ends: quick assemblies
JUMPER_ENDS = 4
SUMMARY_KEYS = {"assemblies", "accepted", "rejected", "inspections", "cleanings", "certificates"}


def qa(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def demo_json(capsys, *args: str) -> dict:
    code, out, err = qa(capsys, "demo", "--json", *args)
    assert code == 0, err
    assert out.endswith("\n") and out.count("\n") == 1, f"not one line of JSON: {out!r}"
    summary = json.loads(out)
    assert isinstance(summary, dict)
    return summary


def serials() -> list[str]:
    with demo_home():  # the demo keeps a record of its own
        store = open_store(load_config())
    try:
        with store.read() as s:
            return list(s.execute(select(Assembly.serial).order_by(Assembly.id)).scalars())
    finally:
        store.close()


def history(capsys, serial: str) -> list[dict]:
    code, out, err = qa(capsys, "--demo", "history", serial, "--json")
    assert code == 0, err
    return json.loads(out)


def audit_ok(capsys) -> dict:
    code, out, err = qa(capsys, "--demo", "audit", "verify", "--json")
    report = json.loads(out)
    assert (code, report["ok"], report["problems"]) == (0, True, []), err
    # The demo's home has a key of its own: every event signed, held to signed checkpoints.
    assert report["events"] and report["signed"] == report["events"], report
    assert report["checkpoints"] >= 1 and report["witnessed"] >= 1, report
    assert [k.split(",")[0] for k in report["keys"]] == ["station demo"], report["keys"]
    return report


@pytest.fixture
def still_bench_clock(monkeypatch):
    """The simulated bench's clock stands still during the demo: no thermal focus drift and
    no dust landing while it runs, so the same serials get the same physics on every run."""
    real_open_bench = qa_station.demo.open_bench

    def open_bench(*args, **kwargs):
        bench = real_open_bench(*args, **kwargs)
        now = time.time()
        bench.simulated.clock = lambda: now
        return bench

    monkeypatch.setattr("qa_station.demo.open_bench", open_bench)


def test_clean_demo_prints_one_consistent_json_summary(capsys):
    summary = demo_json(capsys, "--assemblies", "2", "--scenario", "clean", "--product", JUMPER)
    assert set(summary) == SUMMARY_KEYS
    assert summary["assemblies"] == 2
    assert summary["accepted"] + summary["rejected"] <= summary["assemblies"]
    # the demo closes every assembly it starts: accepted, or rejected by its supervisor
    assert summary["accepted"] + summary["rejected"] == summary["assemblies"]
    assert summary["inspections"] >= JUMPER_ENDS * summary["accepted"]
    assert summary["inspections"] >= JUMPER_ENDS  # the first assembly's ends at least
    assert summary["cleanings"] >= 0
    assert isinstance(summary["certificates"], list)
    assert all(isinstance(c, str) for c in summary["certificates"])
    if summary["rejected"] == 0:  # every end: one inspection, plus one after each cleaning
        assert summary["inspections"] == JUMPER_ENDS * 2 + summary["cleanings"]
    # the summary counts what the store recorded
    report = audit_ok(capsys)
    assert report["inspections"] == summary["inspections"]
    assert report["cleanings"] == summary["cleanings"]
    assert len(serials()) == 2


def test_text_demo_on_the_default_product_then_audit_verify(capsys):
    code, out, err = qa(capsys, "demo", "--assemblies", "1", "--scenario", "clean")
    assert code == 0, err
    lines = out.splitlines()
    (serial,) = serials()
    assert serial.startswith("T12B-")  # the default product: an MPO-12 trunk
    assert lines[0] == f"{serial}: clean"
    assert lines[-2] in (f"{serial}: accepted", f"{serial}: rejected")
    assert lines[-1].startswith("1 assemblies: ")
    assert lines[-1].endswith(f"(the demo's own record: qa-station --demo history {serial})")
    code, out, _ = qa(capsys, "--demo", "audit", "verify")
    assert code == 0 and out.startswith("intact: ")


def test_damaged_demo_escalates_as_damage_and_rejects(capsys):
    summary = demo_json(capsys, "--assemblies", "2", "--scenario", "damaged", "--product", JUMPER)
    assert summary["rejected"] >= 1
    assert summary["accepted"] + summary["rejected"] == summary["assemblies"] == 2
    damaged = []
    for serial in serials():
        events = history(capsys, serial)
        assert events[0]["kind"] == "assembly.registered" and events[0]["serial"] == serial
        max_cycles = events[0]["payload"]["max_clean_cycles"]
        kinds = [e["kind"] for e in events]
        rejected = [e for e in events if e["kind"] == "assembly.rejected"]
        if not rejected:
            assert kinds[-1] == "assembly.accepted"
            continue
        (rejection,) = rejected
        assert rejection is events[-1]  # nothing happens to a rejected assembly
        assert rejection["payload"]["supervisor"] == "demo-supervisor"
        for esc in (e for e in events if e["kind"] == "end.escalated"):
            if esc["payload"]["cause"] != "damage":
                continue
            end = esc["end"]
            assert esc["payload"]["blocking"] is True
            assert esc["payload"]["cycles"] >= max_cycles
            cleanings = [
                e for e in events if e["end"] == end and e["kind"] == "end.cleaned"
            ]  # the end was cleaned the full number of cycles before the station gave up
            assert len(cleanings) == max_cycles
            assert all(c["id"] < esc["id"] for c in cleanings)
            assert esc["id"] < rejection["id"]
            assert f"end {end}: damage" in rejection["payload"]["reason"]
            assert not [e for e in events if e["end"] == end and e["kind"] == "end.connected"]
            damaged.append((serial, end))
    assert damaged, "no end was escalated as damage before a rejection"
    assert len(damaged) == summary["rejected"]
    audit_ok(capsys)


def residue_paths(events: list[dict]) -> list[str]:
    """Ends escalated as residue, then cleaned wet-to-dry, then inspected as a pass."""
    found = []
    for esc in (e for e in events if e["kind"] == "end.escalated"):
        if esc["payload"]["cause"] != "residue":
            continue
        after = [e for e in events if e["end"] == esc["end"] and e["id"] > esc["id"]]
        steps = [
            e["payload"]["method"] if e["kind"] == "end.cleaned" else e["payload"].get("verdict")
            for e in after
            if e["kind"] in ("end.cleaned", "end.inspected")
        ]
        if steps[:2] == ["wet-to-dry", "pass"]:
            found.append(esc["end"])
    return found


def test_oily_demo_takes_the_residue_path(capsys, still_bench_clock):
    demo_json(capsys, "--assemblies", "2", "--scenario", "oily", "--product", JUMPER)
    paths = {serial: residue_paths(history(capsys, serial)) for serial in serials()}
    assert any(paths.values()), f"no residue -> wet-to-dry -> pass in {paths}"


def _face(defects: list[tuple[float, float, float]]) -> dict:
    """A failed single-fibre grade result with defects at (x, y) um, size um; 1 um per px."""
    return {
        "um_per_px": 1.0,
        "fibers": [
            {
                "index": 1,
                "verdict": "fail",
                "center_px": [0.0, 0.0],
                "defects": [
                    {"kind": "defect", "center_px": [x, y], "size_um": size}
                    for x, y, size in defects
                ],
            }
        ],
    }


def test_a_spreading_smear_after_dry_cleaning_is_residue():
    before = _face([(6.2, 14.8, 74.5)])
    after = _face([(15.4, -14.7, 112.6)])
    result = escalate(before, after, ("dry-cassette",) * 3)
    assert "wet-to-dry included" not in result.advice  # no wet-to-dry was done
    assert (result.cause, result.require_method) == ("residue", "wet-to-dry")


@pytest.mark.parametrize("n", ["0", "-1"])
def test_no_assemblies_is_a_usage_error(capsys, station_home, n):
    code, out, err = qa(capsys, "demo", "--assemblies", n)
    assert (code, out) == (2, "")
    assert err == "qa-station demo: error: --assemblies must be at least 1\n"
    assert not (station_home / "data").exists()  # refused before anything was opened


def test_unknown_product_is_a_usage_error(capsys):
    code, out, err = qa(capsys, "demo", "--assemblies", "1", "--product", "no-such-product")
    assert (code, out) == (2, "")
    assert err == "qa-station demo: error: unknown product 'no-such-product'\n"
    assert serials() == []
    with demo_home():
        store = open_store(load_config())
    try:
        with store.read() as s:
            assert s.execute(select(func.count(Inspection.id))).scalar_one() == 0
            assert s.execute(select(func.count(Cleaning.id))).scalar_one() == 0
    finally:
        store.close()
    audit_ok(capsys)


def test_the_demo_never_touches_the_station_s_record_nor_writes_a_password(capsys, station_home):
    """Hole 8: on a fresh home the demo made demo-admin the first admin and left its
    password in clear in config/demo-accounts.toml; that password then made more admins."""
    demo_json(capsys, "--assemblies", "1", "--scenario", "clean", "--product", JUMPER)
    assert not station_paths().database_file.exists()  # the station's own record: not made
    assert not list(station_home.rglob("demo-accounts.toml"))
    code, out, _ = qa(capsys, "audit", "verify")  # the station, fresh: its own key, trusted
    assert code == 0 and out.startswith("intact: 0 events"), out
    with demo_home():
        store = open_store(load_config())
    try:
        from qa_station.accounts import Accounts, AuthError

        accounts = Accounts(store)
        people = accounts.list()
        assert {a.username for a in people} == {"demo-operator", "demo-supervisor"}
        assert not any(a.has_password or a.has_badge for a in people)  # no way in but the run's
        with pytest.raises(AuthError, match="demo's record"):
            accounts.add("mallory", "admin", None, password="mallory-password")
    finally:
        store.close()
    # A station's real record is never the demo's: the demo refuses it, whatever it holds.
    from qa_station.accounts import Accounts, AuthError

    real = open_store(load_config())
    try:
        Accounts(real).add("root", "admin", None, password="root-password-1")
        code, _, err = qa(capsys, "demo", "--db", real.url, "--assemblies", "1")
        assert code == 2 and "a station's record" in err
        assert [a.username for a in Accounts(real).list()] == ["root"]
    finally:
        real.close()
