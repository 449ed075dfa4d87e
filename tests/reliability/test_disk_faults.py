"""Disk full and read-only folders, with real OS faults: a clear error, nothing half-written,
nothing recorded, the record still verifies, and the same action succeeds once the fault is gone.

The faults are the operating system's, not mocks of the station's functions:

- a read-only folder (chmod 0o555). Root ignores that, so as root those variants are skipped
  and the next one stands in for them;
- a file where the station needs a folder (the image shard folder, the certificate folder)
  or a folder where it writes a file: the write fails with ENOTDIR / EEXIST / EISDIR, root
  or not;
- a full disk: RLIMIT_FSIZE in a child process (tests/reliability/disk_full_child.py) with
  SIGXFSZ ignored, so a write past the limit fails with EFBIG as one past the end of a disk
  fails with ENOSPC.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from sqlalchemy import text

from qa_station.certificates import (
    EVENT_ISSUED,
    CertificateError,
    build_certificate,
    issue,
    verify_file,
)
from qa_station.store.images import PNG, ImageFolder, ImageStoreError
from qa_station.store.verify import verify
from reports.signing import ensure_station_key
from tests.qa_station.gate_kit import TRUNK, Kit, make_kit
from tests.reliability.disk_full_child import noisy_scan
from tests.reliability.fuzzkit import assert_clear

ROOT = Path(__file__).resolve().parents[2]
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
ROOT_IGNORES_CHMOD = pytest.mark.skipif(
    AS_ROOT,
    reason="running as root: chmod 0o555 does not stop root writing (see the variants "
    "with a file in the folder's place, which fail for root too)",
)


# -- helpers ------------------------------------------------------------------------------------


def counts(kit: Kit) -> dict[str, int]:
    with kit.store.read() as s:
        return {
            table: s.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("events", "inspections", "inspection_fibers", "images", "cleanings")
        }


def issued(kit: Kit) -> int:
    with kit.store.read() as s:
        return s.execute(
            text("SELECT count(*) FROM events WHERE kind = :k"), {"k": EVENT_ISSUED}
        ).scalar_one()


def image_files(folder: Path) -> list[Path]:
    """Every file in the image folder, each checked whole: named by the sha256 of its bytes."""
    files = [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
    for p in files:
        assert not p.name.startswith(".tmp-"), f"temporary file left behind: {p}"
        assert p.suffix == ".png" and p.parent.name == p.name[:2], p
        assert hashlib.sha256(p.read_bytes()).hexdigest() == p.stem, f"partial file: {p}"
    return files


def assert_intact(kit: Kit) -> None:
    report = verify(kit.store)
    assert report.ok, report.problems
    image_files(kit.store.images.root)


def png_sha(image) -> str:
    """The name ImageFolder gives a frame (same encoder, same settings)."""
    ok, buf = cv2.imencode(".png", image, PNG)
    assert ok
    return hashlib.sha256(buf.tobytes()).hexdigest()


@pytest.fixture
def trunk(tmp_path) -> Kit:
    """A trunk registered, end A inspected (its frames on disk); end B is the one to record."""
    kit = make_kit(tmp_path)
    kit.gate.register(TRUNK, kit.operator)
    kit.gate.record_inspection(TRUNK, "A", noisy_scan(TRUNK, "A", 1), kit.operator, "sim-400x")
    assert_intact(kit)
    return kit


def run_child(action: str, **params) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.reliability.disk_full_child", action, json.dumps(params)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def child_params(kit: Kit, **more) -> dict:
    return {
        "url": str(kit.store.engine.url),
        "images": str(kit.store.images.root),
        "serial": TRUNK,
        "session": dataclasses.asdict(kit.operator),
        "now": kit.clock(),
        **more,
    }


def record_b(kit: Kit, seed: int = 2):
    return kit.gate.record_inspection(
        TRUNK, "B", noisy_scan(TRUNK, "B", seed), kit.operator, "sim-400x"
    )


def assert_nothing_recorded(kit: Kit, before: dict[str, int]) -> None:
    assert counts(kit) == before
    assert kit.gate.state(TRUNK).end("B").inspections == 0


# -- the image folder ------------------------------------------------------------------------------


@ROOT_IGNORES_CHMOD
def test_a_read_only_image_folder_stops_the_inspection_and_records_nothing(trunk):
    root = trunk.store.images.root
    before = counts(trunk)
    folders = [root, *(p for p in root.rglob("*") if p.is_dir())]
    for folder in folders:
        folder.chmod(0o555)
    try:
        with pytest.raises(ImageStoreError) as err:
            record_b(trunk)
        assert_clear(str(err.value), "cannot write image", "Permission denied")
        assert_nothing_recorded(trunk, before)
        assert_intact(trunk)  # the record reads and verifies while the folder is read-only
    finally:
        for folder in folders:
            folder.chmod(0o755)
    assert record_b(trunk).verdict == "pass"
    assert_intact(trunk)


def test_a_file_where_the_image_folder_needs_a_folder_stops_the_inspection(trunk):
    root = trunk.store.images.root
    frames = noisy_scan(TRUNK, "B", 2).frames
    shard = root / png_sha(frames[1].image)[:2]
    assert not shard.exists(), "pick another seed: end A already uses that shard"
    shard.write_bytes(b"not a folder")  # mkdir of the shard fails: EEXIST / ENOTDIR
    before = counts(trunk)
    try:
        with pytest.raises(ImageStoreError) as err:
            record_b(trunk)
        assert_clear(str(err.value), "cannot write image", str(root))
        assert_nothing_recorded(trunk, before)
        shard.unlink()
        assert_intact(trunk)
    finally:
        shard.unlink(missing_ok=True)
    assert record_b(trunk).verdict == "pass"
    assert_intact(trunk)


def test_a_full_disk_while_writing_a_frame_stops_the_inspection(trunk):
    before = counts(trunk)
    # 64 bytes: the first frame (about 3 kB of PNG) is cut short by the limit.
    outcome = run_child("inspect", **child_params(trunk, end="B", seed=2, limit=64))
    assert not outcome["ok"]
    assert "ImageStoreError" in outcome["bases"], outcome
    assert_clear(outcome["message"], "cannot write image", "File too large")
    assert_nothing_recorded(trunk, before)
    assert_intact(trunk)  # and no partial frame, no temporary file in the folder
    assert record_b(trunk).verdict == "pass"  # the same frames, the limit lifted
    assert_intact(trunk)


def test_a_full_disk_while_committing_records_nothing_and_the_record_still_verifies(trunk):
    before = counts(trunk)
    files = len(image_files(trunk.store.images.root))
    # 8 kB: each frame file fits; the database's write-ahead log, already larger, does not.
    outcome = run_child("inspect", **child_params(trunk, end="B", seed=2, limit=8192))
    assert not outcome["ok"], outcome
    assert_nothing_recorded(trunk, before)
    # The frames were written first, whole; they stay as files no row names (harmless, and
    # the retry finds them in place), never as rows without files.
    assert len(image_files(trunk.store.images.root)) == files + 12
    assert_intact(trunk)
    assert record_b(trunk).verdict == "pass"
    assert_intact(trunk)


def test_a_full_disk_while_committing_is_a_store_error_in_one_line(trunk):
    outcome = run_child("inspect", **child_params(trunk, end="B", seed=2, limit=8192))
    assert not outcome["ok"]
    assert "StoreError" in outcome["bases"], outcome
    assert_clear(outcome["message"])


# -- certificates ----------------------------------------------------------------------------------


@pytest.fixture
def accepted(trunk) -> Kit:
    record_b(trunk)
    for end in "AB":
        trunk.gate.connect(TRUNK, end, trunk.operator)
    assert trunk.gate.state(TRUNK).status == "accepted"
    ensure_station_key(keys(trunk), "bench-t")  # made now, so the faults hit the PDF only
    return trunk


def keys(kit: Kit) -> Path:
    return kit.store.images.root.parent / "keys"


def assert_issued_once_and_verifies(kit: Kit, out: Path) -> None:
    path = issue(kit.store, TRUNK, out, keys_dir=keys(kit))
    assert [p.name for p in out.iterdir()] == [path.name]
    assert issued(kit) == 1
    outcome = verify_file(path, kit.store, serial=TRUNK, keys_dir=keys(kit))
    assert outcome.ok, outcome.lines()
    assert_intact(kit)


@ROOT_IGNORES_CHMOD
def test_a_certificate_into_a_read_only_folder_is_a_clear_error(accepted, tmp_path):
    out = tmp_path / "certificates"
    out.mkdir()
    out.chmod(0o555)
    try:
        with pytest.raises(CertificateError) as err:
            issue(accepted.store, TRUNK, out, keys_dir=keys(accepted))
        assert_clear(str(err.value), "cannot write", "Permission denied")
        assert list(out.iterdir()) == []
        assert issued(accepted) == 0
        assert_intact(accepted)
    finally:
        out.chmod(0o755)
    assert_issued_once_and_verifies(accepted, out)


def test_a_certificate_folder_that_is_a_file_is_a_clear_error(accepted, tmp_path):
    out = tmp_path / "certificates"
    out.write_bytes(b"a file, not a folder")
    with pytest.raises(CertificateError) as err:
        issue(accepted.store, TRUNK, out, keys_dir=keys(accepted))
    assert_clear(str(err.value), str(out))
    assert out.read_bytes() == b"a file, not a folder"
    assert issued(accepted) == 0
    assert_intact(accepted)
    out.unlink()
    assert_issued_once_and_verifies(accepted, out)


def test_a_folder_in_the_certificates_place_leaves_no_temporary_file(accepted, tmp_path):
    out = tmp_path / "certificates"
    out.mkdir()
    # The store's clock stands still, so the certificate's name is known before it is written.
    cert = build_certificate(accepted.store, TRUNK, None)
    blocker = out / f"{TRUNK}-{cert.certificate_id}.pdf"
    blocker.mkdir()  # the final rename onto it fails (EISDIR), after the temp file was written
    with pytest.raises(CertificateError) as err:
        issue(accepted.store, TRUNK, out, keys_dir=keys(accepted))
    assert_clear(str(err.value), "cannot write")
    assert list(out.iterdir()) == [blocker] and list(blocker.iterdir()) == []
    assert issued(accepted) == 0
    blocker.rmdir()
    assert_issued_once_and_verifies(accepted, out)


def test_a_full_disk_while_writing_a_certificate_leaves_no_half_written_pdf(accepted, tmp_path):
    out = tmp_path / "certificates"
    out.mkdir()
    params = child_params(accepted, out=str(out), keys=str(keys(accepted)), limit=4096)
    outcome = run_child("certificate", **params)
    assert not outcome["ok"]
    assert outcome["type"] == "CertificateError", outcome
    assert_clear(outcome["message"], "cannot write", "File too large")
    assert list(out.iterdir()) == []  # no PDF cut at 4 kB, no .tmp file
    assert issued(accepted) == 0
    assert_intact(accepted)
    assert_issued_once_and_verifies(accepted, out)


def test_a_damaged_image_file_is_written_afresh_when_the_same_frame_comes_again(tmp_path):
    # A sector gone bad under a stored frame (same size, other bytes): the next time the
    # same frame is stored, the copy on disk is checked by its hash and replaced, whole.
    folder = ImageFolder(tmp_path / "images")
    frame = noisy_scan(TRUNK, "A", 5).frames[1].image
    stored = folder.put(frame)
    path = folder.path(stored.sha256)
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    path.write_bytes(bytes(damaged))
    assert folder.check(stored.sha256).startswith("contents changed")
    assert folder.put(frame) == stored
    assert folder.check(stored.sha256) is None
    image_files(folder.root)
