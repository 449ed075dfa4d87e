"""A forger holding the whole database but not the station's key is caught every time.

The bench works four assemblies (a fail, a clean, passes, connects, certificates), then
is shut down: the record has its store checkpoints and the bench's witness. Each attack
(re-hash, re-hash and re-sign with a key of one's own, delete, truncate, empty, roll back)
is tried on a fresh copy of that database with a random target, and ``qa-station audit
verify`` must exit 1 every time. ``QA_FUZZ_SCALE`` multiplies the trials.
"""

from __future__ import annotations

import random
import shutil

import pytest

from qa_station.paths import station_paths
from tests.reliability.forger import ATTACKS, attack, copy_db
from tests.reliability.fuzzkit import FUZZ_SCALE
from tests.reliability.security_kit import accept, controller, qa

SERIALS = ("LCD-0007001", "LCD-0007002", "LCD-0007003", "LCD-0007004")
TRIALS = max(1, round(8 * FUZZ_SCALE))


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """The station's record after a short shift, and a copy of it after each assembly."""
    home = tmp_path_factory.mktemp("forged-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("QA_STATION_HOME", str(home))
    snapshots = []
    try:
        c = controller()
        db = station_paths().database_file
        for n, serial in enumerate(SERIALS):
            accept(c, serial)
            c.issue_certificate(serial, home / "certs")
            snap = home / f"after-{n}.sqlite3"
            copy_db(db, snap)
            snapshots.append(snap)
        c.close()  # the shutdown checkpoint
        final = home / "final.sqlite3"
        copy_db(db, final)
        yield home, final, snapshots
    finally:
        mp.undo()


def restore(home, source) -> None:
    db = station_paths().database_file
    copy_db(source, db)


def verify_exit(capsys, monkeypatch, home) -> tuple[int, str]:
    monkeypatch.setenv("QA_STATION_HOME", str(home))
    code, out, err = qa(capsys, "audit", "verify")
    return code, out + err


def test_the_untouched_record_verifies(bench, capsys, monkeypatch):
    home, final, _ = bench
    monkeypatch.setenv("QA_STATION_HOME", str(home))
    restore(home, final)
    code, out = verify_exit(capsys, monkeypatch, home)
    assert code == 0 and out.startswith("intact:"), out
    assert "held to" in out and "kept by this bench's witness" in out


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_every_attack_without_the_key_is_caught(bench, capsys, monkeypatch, name):
    home, final, _ = bench
    monkeypatch.setenv("QA_STATION_HOME", str(home))
    rng = random.Random(f"forger-{name}")
    missed = []
    for _ in range(TRIALS):
        restore(home, final)
        did = attack(station_paths().database_file, name, rng)
        code, out = verify_exit(capsys, monkeypatch, home)
        if code != 1 or not out.startswith("BROKEN: "):
            missed.append(f"{did}: {out[:300]}")
    assert missed == [], missed


def test_rolling_the_record_back_to_an_earlier_copy_is_caught(bench, capsys, monkeypatch):
    home, _final, snapshots = bench
    monkeypatch.setenv("QA_STATION_HOME", str(home))
    for snap in snapshots[:-1]:  # the last one holds every event (only the shutdown came after)
        restore(home, snap)
        code, out = verify_exit(capsys, monkeypatch, home)
        assert code == 1, out
        assert "events were removed (truncated, rolled back or emptied)" in out, out


def test_without_the_witness_the_store_s_own_checkpoints_still_catch_an_emptied_record(
    bench, capsys, monkeypatch
):
    """An auditor with only the database file (no bench): emptied and re-headed, the store
    has no checkpoint left, and its image folder still holds the frames."""
    home, final, _ = bench
    monkeypatch.setenv("QA_STATION_HOME", str(home))
    restore(home, final)
    witness = station_paths().witness_dir
    kept = home / "witness-kept"
    shutil.copytree(witness, kept, dirs_exist_ok=True)
    shutil.rmtree(witness)
    try:
        attack(station_paths().database_file, "empty", random.Random(1))
        code, out = verify_exit(capsys, monkeypatch, home)
        assert code == 1, out
        assert "holds no signed checkpoint" in out
        assert "the record is empty but its image folder holds" in out
    finally:
        shutil.rmtree(witness, ignore_errors=True)
        shutil.copytree(kept, witness)
