"""What the offline-capable gate remembers of serials: enough to go on offline, bounded."""

from __future__ import annotations

from qa_station.gate.offline import KNOWN_SERIALS, FloorGate
from qa_station.gate.state import AssemblyState
from qa_station.store.outbox import Outbox
from tests.qa_station.gate_kit import make_kit


def states(n: int) -> list[AssemblyState]:
    return [AssemblyState(serial=f"T12B-{i:06d}", product_id="p") for i in range(n)]


def test_a_bench_without_an_outbox_remembers_nothing(tmp_path):
    kit = make_kit(tmp_path)
    try:
        gate = FloorGate(kit.gate, None)
        for s in states(10):
            gate._remember(s)
        assert not gate._known
    finally:
        kit.store.close()


def test_online_the_memory_is_bounded_offline_nothing_is_forgotten(tmp_path):
    kit = make_kit(tmp_path)
    outbox = Outbox(tmp_path / "outbox.sqlite3", "bench-t")
    try:
        gate = FloorGate(kit.gate, outbox)
        many = states(KNOWN_SERIALS + 50)
        for s in many:
            gate._remember(s)
        assert len(gate._known) == KNOWN_SERIALS
        assert next(iter(gate._known)) == many[50].serial  # the oldest went first
        gate.offline_reason = "database down"
        for s in states(KNOWN_SERIALS + 80)[-30:]:
            gate._remember(s)
        assert len(gate._known) > KNOWN_SERIALS  # a serial worked offline is never dropped
    finally:
        outbox.close()
        kit.store.close()


def test_offline_the_bench_acts_only_for_sessions_this_process_issued(tmp_path):
    """The record cannot be asked while the floor database is down: a session made up in
    the API, or one signed out, is refused offline too, and nothing is kept to be sent."""
    from dataclasses import replace

    import pytest

    from qa_station.accounts import NotSignedIn, Session
    from tests.qa_station.gate_kit import TRUNK

    kit = make_kit(tmp_path)
    outbox = Outbox(tmp_path / "outbox.sqlite3", "bench-t")
    try:
        gate = FloorGate(kit.gate, outbox, clock=kit.clock)
        olga = kit.operator
        gate.register(TRUNK, olga)  # online: the serial is known for going on offline
        gate.offline_reason = "database down"
        ghost = Session("ghost", "Ghost", "supervisor", 0, 2**62, "made-up-token")
        for who in (ghost, replace(olga, username="ghost"), None):
            with pytest.raises(NotSignedIn):
                gate.record_cleaning(TRUNK, "A", "dry-one-click", "OC-1", True, who)
        kit.accounts.sign_out(olga)
        with pytest.raises(NotSignedIn):
            gate.record_cleaning(TRUNK, "A", "dry-one-click", "OC-1", True, olga)
        assert outbox.count() == 0
        sam = kit.supervisor
        gate.record_refusal(TRUNK, "A", sam, "connect", "tried before inspecting")
        (entry,) = outbox.pending()
        assert entry.actor["username"] == "sam" and entry.actor["session"] == sam.token_sha256
        assert sam.token not in str(entry.actor)  # the outbox names the sign-in, not its token
    finally:
        outbox.close()
        kit.store.close()
