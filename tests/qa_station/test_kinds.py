"""Event kinds are one registry: no module names a kind by a bare string, writing or folding
an unknown kind is refused, and supervisor decisions are kinds."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import qa_station
from qa_station.gate.state import AssemblyState, apply
from qa_station.store import Store
from qa_station.store.clock import Instant
from qa_station.store.kinds import DECISIONS, Kind, UnknownEventKind, decision

ROOT = Path(qa_station.__file__).parent.parent
VALUES = {k.value for k in Kind}


def test_no_module_names_a_kind_by_a_bare_string():
    found = []
    for folder in ("qa_station", "reports", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name == "kinds.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Constant) and node.value in VALUES:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert found == []


def test_folding_an_unknown_kind_is_refused_not_skipped():
    state = AssemblyState(serial="LCD-0000001", product_id="p")
    with pytest.raises(UnknownEventKind, match=r"unknown event kind 'end\.inspectd'"):
        apply(state, "end.inspectd", "A1", {}, Instant(1))
    assert apply(state, Kind.GATE_REFUSED, "A1", {}, Instant(1)) == state  # known, no change


def test_writing_an_unknown_kind_is_refused(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/k.db", tmp_path / "images")
    store.migrate()
    try:
        with pytest.raises(UnknownEventKind), store.write() as w:
            w.event("note", {"n": 1})
        with store.read() as s:
            from sqlalchemy import func, select

            from qa_station.store.models import Event

            assert s.execute(select(func.count(Event.id))).scalar_one() == 0
    finally:
        store.close()


def test_supervisor_decisions_are_kinds_and_nothing_else():
    assert [decision(k.value) for k in DECISIONS] == list(DECISIONS)
    assert [k.label for k in DECISIONS] == [
        "override connect",
        "release for rework",
        "reject assembly",
    ]
    for words in ("override connect", "end.connected", "drop table"):
        with pytest.raises(UnknownEventKind):
            decision(words)
