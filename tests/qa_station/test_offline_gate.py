"""What the offline-capable gate remembers of serials: enough to go on offline, bounded."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from qa_station.accounts import Accounts, AuthError, NotSignedIn
from qa_station.gate.offline import KNOWN_SERIALS, FloorGate
from qa_station.gate.state import AssemblyState
from qa_station.store import Store
from qa_station.store.models import Event, SignIn
from qa_station.store.outbox import Outbox
from qa_station.store.verify import verify
from tests.qa_station.gate_kit import PASSWORDS, TRUNK, make_kit


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


def _offline_bench(tmp_path):
    kit = make_kit(tmp_path)
    outbox = Outbox(tmp_path / "outbox.sqlite3", "bench-t")
    gate = FloorGate(kit.gate, outbox, clock=kit.clock)
    gate.register(TRUNK, kit.operator)  # online: the serial is known for going on offline
    return kit, outbox, gate


def _events(kit, user: str) -> list[tuple[str, str | None]]:
    with kit.store.read() as s:
        rows = s.execute(
            select(Event.kind, Event.payload).where(Event.operator == user).order_by(Event.id)
        )
        return [(k, json.loads(p).get("method")) for k, p in rows]


def test_a_sign_in_and_out_made_offline_reach_the_record_around_what_was_done(tmp_path):
    """A bench that lost its floor database signs sam in from what it remembered; the sign-in,
    his action and his sign-out are kept, signed, and reach the record in that order."""
    kit, outbox, gate = _offline_bench(tmp_path)
    try:
        remembered = kit.accounts.remembered(kit.supervisor)  # as the bench kept him
        assert remembered.password_hash and remembered.role == "supervisor"
        gate.offline_reason = "database down"

        def sign_in(password):
            return gate.sign_in_offline(
                lambda at: kit.accounts.sign_in_remembered(
                    "sam", password, remembered, at, "window"
                ),
                "window",
            )

        with pytest.raises(AuthError, match="unknown user or wrong password"):
            sign_in("not his password")
        assert outbox.count() == 0
        sam = sign_in(PASSWORDS["sam"])
        kit.clock.advance(5)
        gate.record_refusal(TRUNK, "A", sam, "connect", "tried before inspecting")
        kit.clock.advance(5)
        gate.sign_out(kit.accounts, sam)
        with pytest.raises(NotSignedIn):  # signed out: it acts no more, offline either
            gate.record_refusal(TRUNK, "A", sam, "connect", "again")
        assert [e.action for e in outbox.pending()] == ["sign_in", "refusal", "sign_out"]
        gate.offline_reason = None
        report = gate.replay()
        assert report.conflicts == [] and report.sent == 3
        assert _events(kit, "sam")[-3:] == [
            ("login", "offline"),
            ("gate.refused", None),
            ("logout", None),
        ]
        with kit.store.read() as s:
            row = s.execute(select(SignIn).where(SignIn.token_sha256 == sam.token_sha256)).one()[0]
        assert (row.method, row.source, row.ended_us is not None) == (
            "offline",
            "bench-t/window",
            True,
        )
        assert verify(kit.store).ok, verify(kit.store).problems
    finally:
        outbox.close()
        kit.store.close()


def test_offline_work_counts_by_the_role_held_when_it_was_done(tmp_path):
    """Olga worked offline, then an admin disabled her account at another bench of the floor:
    what she did before stands; what this bench, not knowing, let her do after is a conflict."""
    kit, outbox, gate = _offline_bench(tmp_path)
    try:
        olga = kit.operator
        gate.offline_reason = "database down"
        gate.record_refusal(TRUNK, "A", olga, "connect", "before she was disabled")
        kit.clock.advance(60)
        other = Store(kit.store.url, tmp_path / "images", "bench-2", kit.clock)  # the floor
        try:
            Accounts(other).set_active("olga", False, kit.admin)
        finally:
            other.close()
        kit.clock.advance(60)
        gate.record_refusal(TRUNK, "A", olga, "connect", "after she was disabled")
        gate.offline_reason = None
        report = gate.replay()
        assert report.sent == 2
        assert [c.reason for c in report.conflicts] == [
            "olga held no operator account in the record when this was done offline: refused"
        ]
        assert verify(kit.store).ok
    finally:
        outbox.close()
        kit.store.close()


def test_failed_offline_sign_ins_make_their_place_wait_as_online(tmp_path):
    """The record cannot count them while it is down: the process does, with the same free
    failures and doubling wait, so guessing at a cut-off bench is no faster."""
    from qa_station.accounts import FREE_FAILURES, SignInDelayed

    kit = make_kit(tmp_path)
    try:
        remembered = kit.accounts.remembered(kit.operator)
        at = int(kit.clock() * 1e6)

        def sign_in(password):
            return kit.accounts.sign_in_remembered("olga", password, remembered, at, "delay-test")

        for _ in range(FREE_FAILURES + 1):
            with pytest.raises(AuthError) as exc:
                sign_in("not her password")
            assert not isinstance(exc.value, SignInDelayed)
        with pytest.raises(SignInDelayed, match="wait 2 s"):
            sign_in(PASSWORDS["olga"])  # even the right password, from this place
        at += 2_000_001
        assert sign_in(PASSWORDS["olga"]).username == "olga"
        with pytest.raises(AuthError):  # someone the bench does not remember: refused alike
            kit.accounts.sign_in_remembered("sam", PASSWORDS["sam"], remembered, at, "delay-test")
    finally:
        kit.store.close()
