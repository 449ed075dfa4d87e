"""A station in the test's own QA_STATION_HOME, with people and an end that failed.

Shared by the security and device-fault tests of this folder. Failing and
passing inspections are synthetic scans (``tests.qa_station.gate_kit.scan``)
recorded through the real gate, so the rows and events are the ones a bench
writes without a minute of scanning.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from sqlalchemy import select

from qa_station.accounts import Accounts, Session
from qa_station.cli import main
from qa_station.config import StationConfig
from qa_station.controller import StationController
from qa_station.paths import station_paths
from qa_station.store import Store
from qa_station.store.models import Event
from tests.qa_station.gate_kit import dirty, scan
from tests.qualify_kit import qualify_store

ADMIN = ("root", "Adm1n-Qx7-secret")
OPERATOR = ("olga", "Olga-Zq9-secret")
SUPERVISOR = ("sam", "Sam-Kv3-secret")
AUDITOR = ("aud", "Aud-Wm5-secret")
JUMPER = "LCD-0004242"  # LC duplex jumper: ends A1 A2 B1 B2, one fibre each
TRUNK = "T12B-000321"  # MPO-12 trunk: ends A and B, 12 fibres
# Device timeouts short enough for a test, long enough for a loaded machine.
FAST = StationConfig(fixture_timeout_s=0.3, fixture_motion_timeout_s=0.2)


@dataclass
class People:
    """Everyone signed in (sessions issued by the station's accounts)."""

    admin: Session
    operator: Session
    supervisor: Session
    auditor: Session


def add_people(accounts: Accounts) -> People:
    accounts.add(ADMIN[0], "admin", None, "Root Admin", ADMIN[1])
    admin = accounts.sign_in(*ADMIN)
    for (user, pw), role, name in (
        (OPERATOR, "operator", "Olga Operator"),
        (SUPERVISOR, "supervisor", "Sam Supervisor"),
        (AUDITOR, "auditor", "Ada Auditor"),
    ):
        accounts.add(user, role, admin, name, pw)
    return People(
        admin,
        accounts.sign_in(*OPERATOR),
        accounts.sign_in(*SUPERVISOR),
        accounts.sign_in(*AUDITOR),
    )


def controller(
    fixture: str = "simulated",
    config: StationConfig | None = FAST,
    signed_in: tuple[str, str] | None = OPERATOR,
) -> StationController:
    """The station as the window opens it (simulated probe, not real time), people added
    on a fresh store, ``signed_in`` signed in. ``config`` None: the station home's file."""
    c = StationController.open(config=config, fixture=fixture, realtime=False)
    if c.needs_first_admin():
        add_people(c.accounts)
        qualify_store(c.store)  # no station records an inspection unqualified (issue 14)
    if signed_in:
        c.login(*signed_in)
    return c


def fail_end(c: StationController, serial: str, end: str) -> None:
    """Open ``serial`` at the bench and record a failing inspection of ``end``."""
    c.open_serial(serial)
    rec = c.gate.record_inspection(serial, end, scan(serial, end, dirty(1)), c.actor, "sim-400x")
    assert rec.verdict == "fail"
    c.refresh()


def accept(c: StationController, serial: str) -> None:
    """Work the LC duplex jumper ``serial`` through the bench: A1 fails, is cleaned and
    passes; every end passes and is connected."""
    c.open_serial(serial)
    for end in ("A1", "A2", "B1", "B2"):
        if end == "A1":
            c.gate.record_inspection(serial, end, scan(serial, end, dirty(1)), c.actor, "sim")
            c.clean(end, "dry-one-click", "OC-1", True)
        c.gate.record_inspection(serial, end, scan(serial, end), c.actor, "sim")
        c.connect(end)


def accepted_record(capsys) -> str:
    """A station that worked JUMPER through (``accept``) and was shut down (its last
    checkpoint is in the store and in the bench's witness); its record verifies. JUMPER."""
    c = controller()
    accept(c, JUMPER)
    assert c.refresh().status == "accepted"
    c.close()
    code, out, err = qa(capsys, "audit", "verify")
    assert code == 0 and out.startswith("intact:"), out + err
    return JUMPER


def events(store: Store, serial: str | None = None) -> list[tuple[str, str | None, dict, str]]:
    """(kind, end, payload, operator) of every event, or of one serial's."""
    if serial is not None:
        return [(e.kind, e.end, e.payload, e.operator) for e in store.history(serial)]
    with store.read() as s:
        rows = s.execute(select(Event).order_by(Event.id)).scalars().all()
    return [(e.kind, e.end_label, json.loads(e.payload), e.operator) for e in rows]


def qa(capsys, *args: str) -> tuple[int, str, str]:
    """``qa-station ARGS`` in this process: exit status, stdout, stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def sql(statement: str, **params) -> list[tuple]:
    """Behind the station's back, with the plain sqlite3 module."""
    with sqlite3.connect(station_paths().database_file) as db:
        rows = db.execute(statement, params).fetchall()
    db.close()
    return rows
