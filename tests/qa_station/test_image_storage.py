"""What the record keeps of each frame, and the retention: signed archives, then removal.

The soak stored 18 GB of frames for 500 assemblies (issue 12, "the disk"). Each fibre now
keeps its graded region losslessly, with the crop's origin sealed in the inspection's grade
JSON; whole frames only by policy. Frames leave the bench only after a signed archive holds
them, with an event on the record, and audit verify tells an archived frame from a lost one.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
from dataclasses import replace

import numpy as np
import pytest

from grading.results import Defect
from qa_station.archive import ArchiveError, check_archive, export_archive, remove_archived
from qa_station.cli import main
from qa_station.fibre_regions import cut, fibre_region, in_region
from qa_station.gate.facts import InspectionFacts
from qa_station.record import load_record
from qa_station.store.models import ImageRemoval
from qa_station.store.verify import verify
from reports.signing import trust_roots
from tests.qa_station.gate_kit import TRUNK, dirty, make_kit, scan
from tests.qualify_kit import qualify_store

DAY = 86_400.0


def big_scan(serial: str, end: str, failing=None):
    """The kit's synthetic scan with 1280x960 frames (a real probe's size) and noise."""
    result = scan(serial, end, failing)
    rng = np.random.default_rng(7)
    for n, frame in result.frames.items():
        img = rng.normal(120, 4.4, (960, 1280)).clip(0, 255).astype(np.uint8)
        result.frames[n] = replace(frame, image=img)
        f = result.fibers[n]
        dx, dy = 640.0 + n - f.center_px[0], 480.0 - n - f.center_px[1]
        moved = tuple(
            replace(d, center_px=(d.center_px[0] + dx, d.center_px[1] + dy)) for d in f.defects
        )
        result.fibers[n] = replace(f, center_px=(640.0 + n, 480.0 - n), defects=moved)
    return result


def test_each_fibre_keeps_its_graded_region_and_overlays_land_where_the_grade_put_them(tmp_path):
    kit = make_kit(tmp_path)
    try:
        kit.gate.register(TRUNK, kit.operator)
        sc = big_scan(TRUNK, "A", dirty(3, where=(50.0, 0.0), size=4.0))
        kit.gate.record_inspection(TRUNK, "A", sc, kit.operator, "sim-400x")
        (insp,) = load_record(kit.store, TRUNK).end("A").inspections
        regions = insp.regions
        for n in range(1, 13):
            region = regions[str(n)]
            x0, y0 = region["origin"]
            w, h = region["size"]
            assert region["frame"] == [1280, 960]
            # MT ferrule: zones A and B, 115 um across = 368 px at 0.3125 um/px, plus a margin
            assert 368 < w <= 400 and 368 < h <= 400
            stored = kit.store.images.read(insp.fibre_images[n])
            assert stored.shape == (h, w)
            frame = sc.frames[n].image
            cx, cy = insp.result.fibers[n - 1].center_px
            inside = stored[
                int(cy) - y0 - 50 : int(cy) - y0 + 50, int(cx) - x0 - 50 : int(cx) - x0 + 50
            ]
            assert np.array_equal(
                inside, frame[int(cy) - 50 : int(cy) + 50, int(cx) - 50 : int(cx) + 50]
            )
            assert stored[0, 0] == 0 and stored[-1, -1] == 0  # outside the disc: nothing kept
            moved = insp.fibre_in_image(insp.result.fibers[n - 1])
            assert moved.center_px == (cx - x0, cy - y0)
        # the failing fibre's defect sits where it was, relative to its crop
        f3 = insp.result_in_images().fibers[2]
        d = f3.defects[0]
        x0, y0 = regions["3"]["origin"]
        assert d.center_px == (insp.result.fibers[2].defects[0].center_px[0] - x0,
                               insp.result.fibers[2].defects[0].center_px[1] - y0)  # fmt: skip
        total = sum(kit.store.images.path(s).stat().st_size for s in insp.fibre_images.values())
        whole = sum(len(_png(sc.frames[n].image)) for n in range(1, 13))
        assert total < whole / 8, (total, whole)  # the disk: at least 8x less
        assert verify(kit.store).ok
    finally:
        kit.store.close()


def _png(image) -> bytes:
    import cv2

    return cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()


def test_a_region_takes_in_every_defect_the_grade_recorded():
    from grading.results import FiberResult

    far = Defect("defect", "B", 6.0, (640.0 + 250.0, 480.0))  # 78 um out, beyond zone B
    f = FiberResult(1, (640.0, 480.0), 400.0, "fail", (far,))
    region = fibre_region(f, (960, 1280), 0.3125, 115.0)
    assert region.radius_px >= 250 + 6.0 / 2 / 0.3125
    crop = cut(np.full((960, 1280), 9, np.uint8), region)
    dx, dy = 890 - region.x0, 480 - region.y0
    assert crop[dy, dx] == 9  # the defect's pixels are kept
    assert in_region(f, {"origin": [region.x0, region.y0]}).defects[0].center_px == (dx, dy)


def test_a_fibre_that_could_not_be_graded_keeps_its_whole_frame(tmp_path):
    kit = make_kit(tmp_path)
    try:
        sc = big_scan(TRUNK, "A")
        sc.fibers[5] = replace(sc.fibers[5], verdict="error", error="out of focus")
        facts = InspectionFacts.of_scan(sc, kit.store.images)
        assert "5" not in facts.result.extra["regions"]
        assert kit.store.images.read(facts.images[5].sha256).shape == (960, 1280)
    finally:
        kit.store.close()


@pytest.mark.parametrize(("policy", "kept"), [("never", 0), ("failing", 12), ("always", 12)])
def test_the_policy_keeps_whole_frames_too_and_the_outbox_carries_them(tmp_path, policy, kept):
    kit = make_kit(tmp_path)
    try:
        kit.store.images.full_frames = policy
        facts = InspectionFacts.of_scan(big_scan(TRUNK, "A", dirty(2)), kit.store.images)
        assert len(facts.whole) == kept
        again = InspectionFacts.from_dict(json.loads(json.dumps(facts.to_dict())))
        assert again.whole == facts.whole and again.result == facts.result
        named = {r.get("whole_frame") for r in facts.result.extra["regions"].values()} - {None}
        assert named == {s.sha256 for s in facts.whole}
        passing = InspectionFacts.of_scan(big_scan(TRUNK, "B"), kit.store.images)
        assert len(passing.whole) == (12 if policy == "always" else 0)
        kit.gate.register(TRUNK, kit.operator)
        kit.gate.record_facts(TRUNK, "A", facts, kit.operator, "sim-400x")
        assert verify(kit.store).ok  # whole frames have their rows, checked like any image
    finally:
        kit.store.close()


def test_a_whole_frame_is_sealed_by_the_grade_that_names_it(tmp_path):
    """Whole frames kept by the policy are named in the grade JSON (``regions``), sealed with
    the inspection: deleting one's row is named, and a grade naming a frame that was not kept,
    or keeping one no region names, is refused by the gate."""
    from sqlalchemy import delete

    from qa_station.gate import GateRefused
    from qa_station.store.models import Image
    from qa_station.store.verify import check_assembly

    kit = make_kit(tmp_path)
    try:
        kit.store.images.full_frames = "always"
        facts = InspectionFacts.of_scan(big_scan(TRUNK, "A", dirty(2)), kit.store.images)
        kit.gate.register(TRUNK, kit.operator)
        for unnamed in (
            replace(facts, whole=facts.whole[1:]),
            replace(facts, whole=(*facts.whole, kit.store.images.put(np.ones((8, 8), np.uint8)))),
        ):
            with pytest.raises(
                GateRefused,
                match=r"whole frame .* (named but not kept|kept but named by no region)",
            ):
                kit.gate.record_facts(TRUNK, "A", unnamed, kit.operator, "sim-400x")
        kit.gate.record_facts(TRUNK, "A", facts, kit.operator, "sim-400x")
        assert verify(kit.store).ok and check_assembly(kit.store, TRUNK) == []
        gone = facts.whole[3].sha256
        with kit.store.engine.begin() as conn:
            conn.execute(delete(Image).where(Image.sha256 == gone))
        problems = verify(kit.store).problems
        assert any(
            p.startswith(f"image {gone[:12]} of inspection")
            and "whole frame: its row is missing" in p
            for p in problems
        ), problems
        assert any(
            gone[:12] in p and "its row is missing" in p for p in check_assembly(kit.store, TRUNK)
        )
    finally:
        kit.store.close()


# -- retention ---------------------------------------------------------------------------------


@pytest.fixture
def archived(tmp_path):
    """Two inspections, 40 days apart; an archive of everything before the second."""
    kit = make_kit(tmp_path)
    keys = tmp_path / "keys"
    kit.gate.register(TRUNK, kit.operator)
    kit.gate.record_inspection(TRUNK, "A", big_scan(TRUNK, "A", dirty(1)), kit.operator, "p")
    kit.clock.advance(40 * DAY)
    qualify_store(kit.store)  # a month on: the station was qualified again (issue 14)
    kit.gate.record_cleaning(TRUNK, "A", "dry-one-click", "OC-1", True, kit.operator)
    kit.gate.record_inspection(TRUNK, "B", scan(TRUNK, "B"), kit.operator, "p")
    path = tmp_path / "old.tar"
    done = export_archive(kit.store, int((kit.clock() - DAY) * 1e6), path, keys, "bench-t")
    yield kit, path, keys, done
    kit.store.close()


def test_an_archive_is_signed_holds_every_old_frame_and_is_recorded(archived):
    kit, path, keys, done = archived
    assert done.images == 12
    check = check_archive(path, kit.store, trust_roots(keys))
    assert check.ok, check.checks
    assert [c[0] for c in check.checks] == ["signature", "files", "record"]
    (_event,) = [e for e in kit.store.history(TRUNK) if e.kind == "images.archived"] or [
        e for e in _all_events(kit.store) if e[0] == "images.archived"
    ]
    with tarfile.open(path) as tar:
        names = tar.getnames()
    assert names[:3] == ["manifest.json", "manifest.sig", "station.crt"] and len(names) == 15


def _tampered(path, target):
    """The archive with one byte of one frame changed."""
    with tarfile.open(path) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(target, "w") as out:
        for m, data in members:
            if m.name == members[5][0].name:
                data = data[:-1] + bytes([data[-1] ^ 1])
            out.addfile(m, io.BytesIO(data))
    return target


def _all_events(store):
    from sqlalchemy import select

    from qa_station.store.models import Event

    with store.read() as s:
        return [(k, json.loads(p)) for k, p in s.execute(select(Event.kind, Event.payload))]


def test_a_changed_archive_or_a_stranger_s_key_does_not_check_out(archived, tmp_path):
    kit, path, keys, _ = archived
    raw = path.read_bytes()
    swapped = _tampered(path, tmp_path / "swapped.tar")
    check = check_archive(swapped, kit.store, trust_roots(keys))
    assert not check.ok and "contents changed" in dict((n, d) for n, _, d in check.checks)["files"]
    other = check_archive(path, None, trust_roots(tmp_path / "nobody"))
    assert not other.ok and "not one this check trusts" in other.checks[0][2]
    assert path.read_bytes() == raw


def test_frames_leave_the_bench_only_held_by_a_checked_archive_and_older_than_retention(
    archived, tmp_path
):
    kit, path, keys, _ = archived
    trust = trust_roots(keys)
    with pytest.raises(ArchiveError, match="no retention"):
        remove_archived(kit.store, path, 0, trust, kit.admin)
    with pytest.raises(Exception, match="only an admin"):
        remove_archived(kit.store, path, 30, trust, kit.operator)
    forged = _tampered(path, tmp_path / "forged.tar")
    with pytest.raises(ArchiveError, match="does not check out, nothing removed"):
        remove_archived(kit.store, forged, 30, trust, kit.admin)
    done = remove_archived(kit.store, path, 30, trust, kit.admin)
    assert (done.images, done.kept_younger) == (12, 0)
    report = verify(kit.store)
    assert report.ok and report.archived == 12, report.problems
    again = remove_archived(kit.store, path, 30, trust, kit.admin)
    assert again.images == 0
    # A frame deleted by hand is still named; a removal row written by hand is seen.
    (insp_b,) = load_record(kit.store, TRUNK).end("B").inspections
    kit.store.images.path(insp_b.fibre_images[1]).unlink()
    with kit.store.write() as w:
        w.session.add(ImageRemoval(sha256=insp_b.fibre_images[2], archive_sha256="0" * 64,
                                   removed_us=1))  # fmt: skip
    problems = verify(kit.store).problems
    assert any("file missing" in p for p in problems)
    assert any("not the ones its images.removed event sealed" in p for p in problems)


def test_the_command_line_archives_verifies_and_removes(capsys, monkeypatch, station_home):
    from qa_station.config import StationConfig, save_config
    from tests.reliability.security_kit import ADMIN, controller

    c = controller()
    try:
        from tests.reliability.security_kit import fail_end

        fail_end(c, "LCD-0004242", "A1")
    finally:
        c.close()
    save_config(StationConfig(image_retention_days=0.000001))
    out = station_home / "a.tar"

    def qa(*args, stdin=""):
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(args))
        o, e = capsys.readouterr()
        return code, o, e

    code, o, e = qa("images", "archive", "--before", "2100-01-01", "-o", str(out))
    assert code == 0 and o.startswith(f"{out}: 1 images"), e
    code, o, e = qa("images", "verify", str(out))
    assert code == 0 and "VALID" in o.splitlines()[0] and len(o.splitlines()) == 4, o + e
    code, o, e = qa("images", "remove", str(out), "--admin", ADMIN[0], "--password-stdin",
                    stdin=ADMIN[1] + "\n")  # fmt: skip
    assert code == 0 and o.startswith("removed 1 image files"), e
    code, o, e = qa("audit", "verify")
    assert code == 0 and "(1 of them archived off the bench)" in o, o + e
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    code, o, e = qa("history", "LCD-0004242")
    assert code == 0
    from qa_station.config import load_config
    from qa_station.store.store import open_store

    store = open_store(load_config())
    try:
        with store.read() as s:
            from sqlalchemy import select

            from qa_station.store.models import Event

            kinds = {k: json.loads(p) for k, p in s.execute(select(Event.kind, Event.payload))}
        assert kinds["images.archived"]["archive_sha256"] == digest
        assert kinds["images.removed"]["archive_sha256"] == digest
    finally:
        store.close()


def test_removal_rows_are_sealed_and_an_archived_frame_still_counts_for_its_assembly(archived):
    """After the retention step the assembly's record still checks out (its frames archived,
    not missing); removal rows taken away, or some of them, are named, and the frames they
    covered are missing again."""
    from sqlalchemy import delete, select

    from qa_station.store.verify import check_assembly

    kit, path, keys, _ = archived
    done = remove_archived(kit.store, path, 30, trust_roots(keys), kit.admin)
    assert done.images == 12 and check_assembly(kit.store, TRUNK) == []
    with kit.store.read() as s:
        shas = sorted(s.execute(select(ImageRemoval.sha256)).scalars())
    with kit.store.engine.begin() as conn:
        conn.execute(delete(ImageRemoval).where(ImageRemoval.sha256 == shas[0]))
    problems = verify(kit.store).problems
    assert any("not the ones its images.removed event sealed" in p for p in problems), problems
    assert any(shas[0][:12] in p and "file missing" in p for p in check_assembly(kit.store, TRUNK))
    with kit.store.engine.begin() as conn:
        conn.execute(delete(ImageRemoval))
    problems = verify(kit.store).problems
    assert any("its rows were deleted" in p for p in problems), problems
    assert sum("file missing" in p for p in problems) == 12
