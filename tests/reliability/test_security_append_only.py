"""Audit data is only ever appended, and whatever is changed behind the station's back is
named by ``qa-station audit verify`` and ``qa-station verify <pdf>``.

What ``store.verify.verify()`` itself detects (a changed payload or time, an event
removed at the end or in the middle, changed inspection/cleaning rows, rows added
without an event, an overwritten or deleted image) is proven row by row in
tests/qa_station/test_store.py on SQLite and PostgreSQL; here the same tampering goes
through the command an auditor runs, and the code is searched for ways to change rows.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.engine import Engine

import qa_station
from qa_station.accounts import AuthError
from qa_station.catalog import load_catalog
from qa_station.config import StationConfig
from qa_station.demo import run_demo
from qa_station.paths import station_paths
from qa_station.store.floor import AUDIT_TABLES
from qa_station.store.kinds import Kind
from qa_station.store.models import Base
from qa_station.store.store import Store, sqlite_url
from tests.qa_station.cert_kit import flip, signed_ranges
from tests.qa_station.gate_kit import dirty, scan
from tests.reliability.security_kit import JUMPER, SUPERVISOR, accepted_record, controller, qa, sql

PACKAGE = Path(qa_station.__file__).parent
# What may change in place: the chain head, and people's accounts (counters, locks, hashes).
MUTABLE = {
    "alembic_version": None,  # the schema's revision, at migrate
    "chain_head": None,
    "operators": {"password_hash", "badge_hash", "active"},  # badges re-keyed at use
    "sign_ins": {"ended_us"},  # sessions end at sign-out
    "sign_in_sources": None,  # failures and waits per place
}
# Columns filled in right after the row's insert, in the same transaction (they hash the id).
SEALED_IN_PLACE = {"inspections": {"digest"}, "cleanings": {"digest"}}
MODELS = {m.class_.__tablename__: m.class_.__name__ for m in Base.registry.mappers}
AUDIT_MODELS = {MODELS[t] for t in AUDIT_TABLES}
SQL_CHANGE = re.compile(
    r"\b(?:UPDATE\s+(\w+)|DELETE\s+FROM\s+(\w+)|TRUNCATE\s+(?:TABLE\s+)?(\w+)|DROP\s+TABLE\s+"
    r"(?:IF\s+EXISTS\s+)?(\w+)|REPLACE\s+INTO\s+(\w+)|INSERT\s+OR\s+REPLACE\s+INTO\s+(\w+))",
    re.IGNORECASE,
)


# -- the code: no path that changes or removes audit rows ------------------------------------


def changes_to_audit_data(source: str, name: str = "<src>") -> list[str]:
    """Every place in ``source`` that updates or deletes audit rows, in words."""
    tree = ast.parse(source, name)
    from_sqlalchemy = {
        a.asname or a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("sqlalchemy")
        for a in n.names
    }
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for m in SQL_CHANGE.finditer(node.value):
                table = next(g for g in m.groups() if g)
                if table.lower() in AUDIT_TABLES:
                    found.append(f"{name}:{line}: SQL {m.group(0)!r}")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("update", "delete"):
            if func.id in from_sqlalchemy:
                target = ast.unparse(node.args[0]) if node.args else "?"
                if target.split(".")[0] in AUDIT_MODELS or target.strip("'\"") in AUDIT_TABLES:
                    found.append(f"{name}:{line}: {func.id}({target})")
        elif isinstance(func, ast.Attribute):
            receiver = ast.unparse(func.value)
            words = set(re.findall(r"\w+", receiver))
            on_session = func.attr in ("delete", "merge") and words & {"session", "s", "w"}
            on_table = func.attr in ("update", "delete") and (
                words & AUDIT_MODELS or "__table__" in words or "query" in words
            )
            in_bulk = func.attr.startswith(("bulk_update", "bulk_save"))
            if on_session or on_table or in_bulk:
                found.append(f"{name}:{line}: {ast.unparse(func)}(...)")
    return found


def test_the_search_finds_each_way_of_changing_audit_rows():
    """The search below is only worth something if it sees these."""
    bad = """
from sqlalchemy import delete, update, text
def f(session, s, w, row):
    session.execute(update(Inspection).values(verdict="pass"))
    session.execute(delete(Event).where(Event.id > 3))
    session.delete(row)
    w.session.merge(row)
    s.query(Cleaning).update({"tool_id": "x"})
    Event.__table__.delete()
    session.execute(text("UPDATE events SET payload = '{}'"))
    conn.exec_driver_sql("delete from inspection_fibers")
    session.bulk_update_mappings(Inspection, [])
    session.execute(text("UPDATE chain_head SET last_hash = :h"))  # allowed
    session.execute(text("UPDATE operators SET failed_logins = 0"))  # allowed
    d.update(other)  # a dict
    self.update()  # a widget repainting
"""
    lines = bad.splitlines()
    flagged = sorted({int(f.split(":")[1]) for f in changes_to_audit_data(bad)})
    assert [lines[n - 1].strip() for n in flagged] == [x.strip() for x in lines[3:12]], (
        changes_to_audit_data(bad)
    )


def test_no_code_updates_or_deletes_audit_rows():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if "/migrations/" in rel or rel.startswith("tests/"):
            continue
        found += changes_to_audit_data(path.read_text(), rel)
    assert found == []


class Watch:
    """Every UPDATE and DELETE any engine sends, and the audit rows as they were committed."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, str, tuple[str, ...]]] = []  # (verb, table, columns)
        self.seen: dict[tuple[str, str], dict] = {}  # (store url, table) -> {pk: row}
        self.snapshots = 0

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        m = re.match(r"\s*(UPDATE|DELETE\s+FROM)\s+\"?(\w+)\"?(.*)", statement, re.I | re.S)
        if m:
            verb = m.group(1).split()[0].upper()
            cols = tuple(re.findall(r"(\w+)\s*=\s*[?%:]", m.group(3).split(" WHERE ")[0]))
            self.statements.append((verb, m.group(2).lower(), cols))

    def snapshot(self, store: Store) -> None:
        """Every audit row committed so far must be there, unchanged, from now on."""
        self.snapshots += 1
        with store.engine.connect() as conn:
            for table in AUDIT_TABLES:
                model = Base.metadata.tables[table]
                pk = [c.name for c in model.primary_key.columns]
                rows = {
                    tuple(r._mapping[k] for k in pk): tuple(r) for r in conn.execute(select(model))
                }
                before = self.seen.get((store.url, table), {})
                changed = {k: (v, rows.get(k)) for k, v in before.items() if rows.get(k) != v}
                assert not changed, f"{table}: committed rows changed or vanished: {changed}"
                self.seen[(store.url, table)] = rows

    def in_place_changes(self) -> list[tuple[str, str, tuple[str, ...]]]:
        bad = []
        for verb, table, cols in self.statements:
            if table in MUTABLE and (MUTABLE[table] is None or set(cols) <= MUTABLE[table]):
                continue
            if verb == "UPDATE" and cols and set(cols) <= SEALED_IN_PLACE.get(table, set()):
                continue  # checked by the snapshots: never a row committed before
            bad.append((verb, table, cols))
        return bad


@pytest.fixture
def watch():
    w = Watch()
    sa_event.listen(Engine, "before_cursor_execute", w)
    yield w
    sa_event.remove(Engine, "before_cursor_execute", w)


def test_a_working_day_only_appends_audit_rows(watch, tmp_path):
    """The bench, the supervisor, the lockout, certificates and the demo's real scans: the
    SQL sent changes only the chain head, accounts, and seals of rows it just inserted,
    and every row committed stays as it was."""
    c = controller()
    try:
        watch.snapshot(c.store)
        c.open_serial(JUMPER)
        if c.inspect("A2").verdict != "pass":  # a real scan on the simulated bench
            c.clean("A2", "dry-one-click", "OC-7", True)
            c.gate.record_inspection(JUMPER, "A2", scan(JUMPER, "A2"), c.actor, "sim")
        watch.snapshot(c.store)
        for end in ("A1", "B1", "B2"):
            failing = dirty(1) if end == "A1" else None
            c.gate.record_inspection(JUMPER, end, scan(JUMPER, end, failing), c.actor, "sim")
            watch.snapshot(c.store)
        c.clean("A1", "dry-one-click", "OC-7", True)
        c.supervisor_decision(*SUPERVISOR, Kind.END_OVERRIDE, "customer waiver CW-3", "A1")
        watch.snapshot(c.store)
        for end in ("A2", "B1", "B2"):
            c.connect(end)
        watch.snapshot(c.store)
        c.issue_certificate(JUMPER, tmp_path)
        watch.snapshot(c.store)
        other = "LCD-0004243"
        c.open_serial(other)
        c.gate.record_inspection(other, "A1", scan(other, "A1", dirty(1)), c.actor, "sim")
        c.supervisor_decision(
            *SUPERVISOR, Kind.END_RELEASED_FOR_REWORK, "re-polished, line 2", "A1"
        )
        c.supervisor_decision(*SUPERVISOR, Kind.ASSEMBLY_REJECTED, "ferrule cracked at B1", None)
        watch.snapshot(c.store)
        for _ in range(6):
            with pytest.raises(AuthError, match=r"refused|wait"):
                c.login("olga", "not her password")
        root = c.accounts.sign_in("root", "Adm1n-Qx7-secret", "cli")  # the window must wait
        c.accounts.unlock(None, root)
        c.accounts.set_password("olga", "Olga-Reset-Pw-1", c.login("root", "Adm1n-Qx7-secret"))
        c.save_devices(StationConfig(station_id="bench-1", fixture_timeout_s=0.4))
        assert c.verify().ok, c.verify().problems
        watch.snapshot(c.store)
    finally:
        c.close()

    demo = Store(sqlite_url(tmp_path / "demo.sqlite3"), tmp_path / "demo-images")
    demo.migrate()
    try:
        watch.snapshot(demo)
        run_demo(
            demo,
            load_catalog(),
            StationConfig(),
            1,
            "jumper-lc-duplex-sm-upc",
            "dusty",
            after_assembly=lambda serial, summary: watch.snapshot(demo),
        )
    finally:
        demo.close()
    assert watch.snapshots >= 12
    assert {t for _, t, _ in watch.statements} >= {"chain_head", "operators"}
    # Events are hashed and signed before their row is inserted: never updated, not even once.
    assert not [s for s in watch.statements if s[1] in ("events", "checkpoints", "station_keys")]
    assert watch.in_place_changes() == [], watch.in_place_changes()
    assert not [s for s in watch.statements if s[0] == "DELETE"]


# -- tampering, as an auditor sees it ------------------------------------------------------


@pytest.fixture
def record(capsys):
    """The station's own store: JUMPER failed on A1, cleaned, passed, all four connected."""
    accepted_record(capsys)


def forge_payload() -> str:
    ((eid, payload),) = sql("SELECT id, payload FROM events WHERE kind = 'end.inspected' LIMIT 1")
    doc = json.loads(payload)
    assert doc["verdict"] == "fail"
    sql(
        "UPDATE events SET payload = :p WHERE id = :i", p=payload.replace('"fail"', '"pass"'), i=eid
    )
    return rf"event {eid} \(end\.inspected, serial {JUMPER} end A1\): its content was changed"


def forge_verdict() -> str:
    ((iid,),) = sql("SELECT id FROM inspections WHERE verdict = 'fail'")
    sql("UPDATE inspections SET verdict = 'pass' WHERE id = :i", i=iid)
    return rf"inspection {iid} \(serial {JUMPER} end A1\): was changed after it was recorded"


def cut_tail() -> str:
    ((last,),) = sql("SELECT max(id) FROM events")
    sql("DELETE FROM events WHERE id = :i", i=last)
    return rf"the chain ends at event {last - 1} but its head records event {last}"


def replace_image() -> str:
    ((sha, rel),) = sql("SELECT sha256, relpath FROM images LIMIT 1")
    path = station_paths().images_dir / rel
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return rf"image {sha[:12]} \({re.escape(rel)}\): contents changed"


@pytest.mark.parametrize(
    "tamper",
    [forge_payload, forge_verdict, cut_tail, replace_image],
    ids=["event-payload", "inspection-verdict", "last-event-removed", "image-bytes"],
)
def test_audit_verify_names_what_was_tampered_with(record, capsys, tamper):
    expected = tamper()
    code, out, _ = qa(capsys, "audit", "verify")
    assert code == 1
    assert re.match(rf"BROKEN: {expected}", out), out
    code, out, _ = qa(capsys, "audit", "verify", "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    assert re.match(expected, report["problems"][0]), report["problems"]


@pytest.fixture
def certificate(record, tmp_path, capsys):
    code, out, err = qa(capsys, "certificate", JUMPER, "-o", str(tmp_path))
    assert code == 0, err
    path = Path(out.strip())
    code, out, _ = qa(capsys, "verify", str(path), "--serial", JUMPER)
    assert code == 0, out
    return path


def test_one_byte_changed_in_a_certificate_is_named_by_verify(certificate, capsys, tmp_path):
    data = certificate.read_bytes()
    _a, b, c, _d = signed_ranges(data)
    for at in (b // 2, c + (len(data) - c) // 2):  # in both signed ranges
        bad = tmp_path / f"changed-{at}.pdf"
        bad.write_bytes(flip(data, at))
        code, out, _ = qa(capsys, "verify", str(bad))
        assert code == 1, out
        assert re.search(r"^  \[FAIL\] signature: the signed bytes were changed", out, re.M), out
        assert out.rstrip().endswith("verdict: NOT VALID - do not rely on this certificate")
        code, out, _ = qa(capsys, "verify", str(bad), "--json")
        doc = json.loads(out)
        assert code == 1 and not doc["ok"]


def test_a_record_cut_back_behind_its_certificate_fails_the_certificate(certificate, capsys):
    """Removing the tail and rewinding the chain head leaves a chain that checks out on its
    own: the certificate, which names its event and was recorded as issued, says so."""
    ((issued,),) = sql("SELECT id FROM events WHERE kind = 'certificate.issued'")
    sql("DELETE FROM events WHERE id >= :i", i=issued - 1)  # and the event it names
    ((prev_id, prev_hash),) = sql("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1")
    sql("UPDATE chain_head SET last_event_id = :i, last_hash = :h", i=prev_id, h=prev_hash)
    code, out, _ = qa(capsys, "verify", str(certificate), "--serial", JUMPER)
    assert code == 1, out
    assert re.search(r"^  \[FAIL\] record: .* not part of the record of " + JUMPER, out, re.M), out


@pytest.mark.parametrize("edit", ["serial", "rules"])
def test_audit_verify_names_a_changed_assembly_or_end_row(record, capsys, edit):
    if edit == "serial":
        sql("UPDATE assemblies SET serial = 'LCD-0009999' WHERE serial = :s", s=JUMPER)
    else:
        sql("UPDATE ends SET rules = 'iec-61300-3-35-ed2/mm-pc' WHERE label = 'A1'")
    code, out, _ = qa(capsys, "audit", "verify")
    assert code == 1, out
