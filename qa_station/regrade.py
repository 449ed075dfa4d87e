"""Re-grading the archive: which cords already inspected would fail under another table?

The stored frames of past inspections (the final inspection of every end
inspected in the period, optionally of one product) are graded again, as a
scan grades a fibre's frame, against another rule table: a new edition, a
customer's tighter one. The record is never changed; what would change is a
report (``regrade_report.py``) and one ``archive.regraded`` event.

The grading runs on every core: a pool of processes (spawned, so a window's
threads are never forked), each with OpenCV on one thread, fed a few tasks
ahead so that a cancel is seen within a task; ``progress`` gets (done, total)
and ``cancel`` (a ``threading.Event``) stops it, losing nothing recorded.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from grading.grade import GradingUsageError, resolve, roll_up
from grading.projection import projected
from grading.results import FiberResult
from grading.rules import RuleFileError, RuleSet, load_rules
from qa_station.accounts import Accounts, Session
from qa_station.store import Store
from qa_station.store.images import ImageFolder, ImageStore, ImageStoreError
from qa_station.store.kinds import Kind
from qa_station.store.models import Assembly, End, Event, Inspection, InspectionFiber
from qa_station.store.queries import in_period
from qa_station.store.records import WHOLE_FRAME

if TYPE_CHECKING:
    from reports.regrade import ChangeRow

CHUNK = 6  # frames per task: long enough to be worth a process hop, short for a cancel
AHEAD = 3  # tasks in flight per worker


class RegradeError(ValueError):
    """A re-grade that cannot be run as asked (a table that does not load, no frames...)."""


class RegradeCancelled(RegradeError):
    """The re-grade was cancelled; nothing was recorded."""


@dataclass(frozen=True)
class FrameTask:
    inspection_id: int
    fibre: int
    sha256: str  # the stored frame (a whole frame where one was kept)
    path: str | None  # its file when the store keeps frames in a folder, else None
    connector: str
    scale: tuple[float, float] | None
    # A kept region (qa_station/fibre_regions.py): where the cladding was found in it, and
    # the radius of the disc kept; None for a whole frame, located again as a scan does.
    located: tuple[float, float, float] | None = None
    kept_radius_px: float | None = None
    # The frame's bytes, fetched just before the task is sent when the store has no folder
    # (the floor database); a worker never opens a database connection of its own.
    data: bytes | None = None
    fetch_error: str | None = None  # why those bytes could not be fetched


@dataclass(frozen=True)
class Graded:
    inspection_id: int
    fibre: int
    result: FiberResult


@dataclass(frozen=True)
class Placed:
    """Where a fibre's image came from: a whole frame kept beside it, or its region."""

    whole_frame: str | None  # sha256 of the whole frame, when the image policy kept it
    located: tuple[float, float, float] | None  # (cx, cy, r) of the cladding in the region
    kept_radius_px: float | None


@dataclass(frozen=True)
class EndToGrade:
    serial: str
    product: str
    status: str  # the assembly's, now
    end: str
    connector: str
    inspection_id: int
    inspected_us: int
    old_verdict: str
    old_rules: str
    old_fibres: dict[int, str]  # fibre -> verdict then
    images: dict[int, str]  # fibre -> image sha256
    scale: tuple[float, float] | None
    regions: dict[int, Placed] = field(default_factory=dict)  # fibre -> its kept region


@dataclass(frozen=True)
class Change:
    serial: str
    product: str
    end: str
    inspection_id: int
    fibre: int
    old: str
    new: str
    failures: tuple[str, ...]  # what the new table says
    image_sha256: str
    accepted: bool  # the assembly was accepted (shipped)
    result: FiberResult  # the new grading, for the picture


@dataclass
class RegradeResult:
    rules: str
    rules_sha256: str
    since_us: int | None
    until_us: int | None
    product: str | None
    workers: int
    ends: list[EndToGrade] = field(default_factory=list)
    graded: dict[tuple[int, int], FiberResult] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    table: RuleSet | None = field(default=None, repr=False)

    @property
    def frames(self) -> int:
        return len(self.graded)

    def new_end_verdict(self, e: EndToGrade) -> str:
        fibres = [
            self.graded[(e.inspection_id, n)]
            for n in sorted(e.images)
            if (e.inspection_id, n) in self.graded
        ]
        return roll_up(fibres) if fibres else "error"

    @property
    def changes(self) -> list[Change]:
        out = []
        for e in self.ends:
            for n in sorted(e.images):
                new = self.graded.get((e.inspection_id, n))
                if new is None or new.verdict == e.old_fibres.get(n):
                    continue
                out.append(
                    projected(  # the end's serial, product, label and inspection
                        Change,
                        e,
                        fibre=n,
                        old=e.old_fibres.get(n, "?"),
                        new=new.verdict,
                        failures=tuple(new.failures) or ((new.error,) if new.error else ()),
                        image_sha256=e.images[n],
                        accepted=e.status == "accepted",
                        result=new,
                    )
                )
        return out

    @property
    def accepted_now_failing(self) -> list[str]:
        """Accepted assemblies with an end the table would not pass now."""
        bad = {
            e.serial
            for e in self.ends
            if e.status == "accepted" and self.new_end_verdict(e) != "pass"
        }
        return sorted(bad)

    def summary(self) -> dict[str, Any]:
        changes = self.changes
        return {
            "rules": self.rules,
            "rules_sha256": self.rules_sha256,
            "since_us": self.since_us,
            "until_us": self.until_us,
            "product": self.product,
            "inspections": len(self.ends),
            "frames": self.frames,
            "changed_fibres": len(changes),
            "changed_inspections": len({c.inspection_id for c in changes}),
            "pass_to_fail": sum(1 for c in changes if c.old == "pass" and c.new != "pass"),
            "fail_to_pass": sum(1 for c in changes if c.old != "pass" and c.new == "pass"),
            "accepted_now_failing": self.accepted_now_failing[:500],
            "skipped": self.skipped[:50],
            "workers": self.workers,
            "elapsed_s": round(self.elapsed_s, 3),
        }


def load_table(rules: str | Path) -> RuleSet:
    """The table to re-grade with; a malformed one is refused in one line."""
    try:
        return load_rules(rules)
    except RuleFileError as exc:
        raise RegradeError(str(exc)) from None


def select_ends(
    store: Store,
    since_us: int | None = None,
    until_us: int | None = None,
    product: str | None = None,
) -> list[EndToGrade]:
    """The final inspection of every end inspected in the period, with its frames."""
    with store.read() as s:
        latest = select(func.max(Inspection.id).label("id")).group_by(Inspection.end_id).subquery()
        q = (
            select(Inspection, Assembly.serial, Assembly.product_id, End.label, End.connector)
            .join(latest, latest.c.id == Inspection.id)
            .join(Assembly, Assembly.id == Inspection.assembly_id)
            .join(End, End.id == Inspection.end_id)
            .order_by(Inspection.id)
        )
        q = in_period(q, Inspection.created_us, since_us, until_us)
        if product:
            q = q.where(Assembly.product_id == product)
        rows = s.execute(q).all()
        ids = [r[0].id for r in rows]
        fibres: dict[int, list[InspectionFiber]] = {}
        for f in (
            s.execute(
                select(InspectionFiber).where(InspectionFiber.inspection_id.in_(ids))
            ).scalars()
            if ids
            else ()
        ):
            fibres.setdefault(f.inspection_id, []).append(f)
        closed = (
            dict(
                s.execute(
                    select(Event.assembly_id, Event.kind).where(
                        Event.kind.in_(
                            [Kind.ASSEMBLY_ACCEPTED.value, Kind.ASSEMBLY_REJECTED.value]
                        ),
                        Event.assembly_id.in_({r[0].assembly_id for r in rows}),
                    )
                ).all()
            )
            if rows
            else {}
        )
    out = []
    for insp, serial, product_id, label, conn in rows:
        doc = json.loads(insp.result)
        scale = None
        if insp.um_per_px:
            y = doc.get("um_per_px_y") or insp.um_per_px
            scale = (float(insp.um_per_px), float(y))
        fs = fibres.get(insp.id, [])
        out.append(
            EndToGrade(
                serial=serial,
                product=product_id,
                status=closed.get(insp.assembly_id, "open").split(".")[-1],
                end=label,
                connector=conn,
                inspection_id=insp.id,
                inspected_us=insp.created_us,
                old_verdict=insp.verdict,
                old_rules=insp.rules,
                old_fibres={f.fiber: f.verdict for f in fs},
                images={f.fiber: f.image_sha256 for f in fs if f.image_sha256},
                scale=scale,
                regions=placed(doc),
            )
        )
    return out


def placed(doc: dict[str, Any]) -> dict[int, Placed]:
    """Each fibre's kept region, from an inspection's grade JSON (``regions``, sealed with
    it) and the cladding its grade found (``fibers``); none for grades before regions."""
    regions = doc.get("regions")
    if not isinstance(regions, dict):
        return {}
    fibres = {f.get("index"): f for f in doc.get("fibers", ()) if isinstance(f, dict)}
    out = {}
    for key, region in regions.items():
        if not (isinstance(region, dict) and str(key).isdigit()):
            continue
        n = int(key)
        whole = region.get(WHOLE_FRAME)
        f = fibres.get(n)
        located = kept = None
        try:
            if f is None:
                raise KeyError(n)
            ox, oy = (float(v) for v in region["origin"])
            cx, cy = (float(v) for v in f["center_px"])
            located = (cx - ox, cy - oy, float(f["diameter_px"]) / 2.0)
            kept = float(region["radius_px"]) if region.get("radius_px") else None
        except (KeyError, TypeError, ValueError):
            located = None
        out[n] = Placed(whole if isinstance(whole, str) and whole else None, located, kept)
    return out


def _task(store: Store, e: EndToGrade, fibre: int, sha: str) -> FrameTask:
    """What to grade for one fibre: its whole frame if one was kept, else its region at the
    cladding found when it was inspected (a region can end inside the cladding)."""
    where = e.regions.get(fibre)
    square = e.scale is not None and abs(e.scale[0] - e.scale[1]) <= 1e-9
    images = store.images

    def file(name: str) -> str | None:
        return str(images.path(name)) if isinstance(images, ImageFolder) else None

    if where is not None and where.whole_frame:
        name = where.whole_frame
        return FrameTask(e.inspection_id, fibre, name, file(name), e.connector, e.scale)
    if where is None or where.located is None or not square:
        return FrameTask(e.inspection_id, fibre, sha, file(sha), e.connector, e.scale)
    return FrameTask(
        e.inspection_id,
        fibre,
        sha,
        file(sha),
        e.connector,
        e.scale,
        where.located,
        where.kept_radius_px,
    )


def regrade(
    store: Store,
    rules: str | Path,
    since_us: int | None = None,
    until_us: int | None = None,
    product: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> RegradeResult:
    """Grade the period's final inspections again under ``rules`` (nothing is recorded)."""
    table = load_table(rules)
    ends = select_ends(store, since_us, until_us, product)
    n = max(1, workers or os.cpu_count() or 1)
    result = RegradeResult(table.name, table.sha256, since_us, until_us, product, n, table=table)
    tasks: list[FrameTask] = []
    refused: dict[str, str] = {}
    for e in ends:
        if e.connector not in refused:
            try:
                resolve(e.connector, table)
            except GradingUsageError as exc:
                refused[e.connector] = str(exc)
        if e.connector in refused:
            result.skipped.append(f"{e.serial} end {e.end}: {refused[e.connector]}")
            continue
        result.ends.append(e)
        for fibre, sha in sorted(e.images.items()):
            tasks.append(_task(store, e, fibre, sha))
    if ends and not result.ends:
        raise RegradeError(
            f"table {table.name} fits none of the ends in the period: {next(iter(refused.values()))}"
        )
    started = time.perf_counter()
    for g in grade_frames(tasks, table, n, progress, cancel, store.images):
        result.graded[(g.inspection_id, g.fibre)] = g.result
    result.elapsed_s = time.perf_counter() - started
    return result


def grade_frames(
    tasks: list[FrameTask],
    table: RuleSet,
    workers: int,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    images: ImageStore | None = None,
) -> Iterable[Graded]:
    """Every task graded; ``workers`` 1 grades here, in this process, on one thread.
    Tasks without a file are fetched from ``images`` a chunk at a time, as they are sent,
    so an archive in the floor database is never held in memory whole."""
    total = len(tasks)
    say = progress or (lambda done, total: None)
    chunks = [tasks[i : i + CHUNK] for i in range(0, total, CHUNK)]
    done = 0
    say(0, total)
    if workers <= 1:
        import cv2

        threads = cv2.getNumThreads()
        _init_worker(table)
        try:
            for chunk in chunks:
                _stop_if(cancel, done, total)
                yield from _grade_chunk(_fetched(chunk, images))
                done += len(chunk)
                say(done, total)
        finally:
            cv2.setNumThreads(threads)  # this process (a window) grades live frames too
        return
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(table,)
    )
    try:
        queue = list(reversed(chunks))
        running: set[Future[list[Graded]]] = set()
        while queue or running:
            _stop_if(cancel, done, total)
            while queue and len(running) < workers * AHEAD:
                running.add(pool.submit(_grade_chunk, _fetched(queue.pop(), images)))
            finished, running = wait(running, timeout=0.25, return_when=FIRST_COMPLETED)
            for f in finished:
                out = f.result()
                yield from out
                done += len(out)
                say(done, total)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _fetched(chunk: list[FrameTask], images: ImageStore | None) -> list[FrameTask]:
    """The chunk with the bytes of each frame that has no file (a floor-database store)."""
    out = []
    for t in chunk:
        if t.path is None and t.data is None and t.fetch_error is None:
            if images is None:
                t = replace(t, fetch_error="no image store to read it from")
            else:
                try:
                    t = replace(t, data=images.read_bytes(t.sha256))
                except ImageStoreError as exc:
                    t = replace(t, fetch_error=str(exc))
        out.append(t)
    return out


def _stop_if(cancel: threading.Event | None, done: int, total: int) -> None:
    if cancel is not None and cancel.is_set():
        raise RegradeCancelled(
            f"re-grade cancelled after {done} of {total} frames; nothing recorded"
        )


_TABLE: RuleSet | None = None


def _init_worker(table: RuleSet) -> None:
    """Each worker grades on one thread (the cores are the pool's), with the table loaded once."""
    import cv2

    global _TABLE
    cv2.setNumThreads(1)
    _TABLE = table


def _grade_chunk(chunk: list[FrameTask]) -> list[Graded]:
    from grading.grade import grade_located
    from grading.image_io import ImageError, decode_image, read_image
    from qa_station.scan import grade_fibre_image

    table = _TABLE
    if table is None:
        raise RuntimeError("re-grade worker used before _init_worker gave it the table")
    out = []
    for t in chunk:
        try:
            if t.fetch_error is not None:
                raise ImageError(t.fetch_error)
            image = decode_image(t.data) if t.data is not None else read_image(str(t.path))
        except ImageError as exc:
            fibre = FiberResult(t.fibre, (0.0, 0.0), 0.0, "error", error=f"stored frame: {exc}")
            out.append(Graded(t.inspection_id, t.fibre, fibre))
            continue
        if t.located is not None and t.scale is not None:
            fibre = replace(
                grade_located(image, t.located, t.kept_radius_px, t.connector, table, t.scale[0]),
                index=t.fibre,
            )
        else:
            # The frame passed the probe's focus check when it was inspected: only the table changes.
            fibre, _ = grade_fibre_image(image, t.fibre, t.connector, table, 0.0, t.scale)
        out.append(Graded(t.inspection_id, t.fibre, fibre))
    return out


@dataclass(frozen=True)
class Regraded:
    result: RegradeResult
    pdf: Path
    csv: Path
    event_id: int


def record_regrade(
    store: Store,
    result: RegradeResult,
    who: Session | None,
    out: Path | str | None = None,
    local_tz: dt.tzinfo | None = None,
) -> Regraded:
    """Write the signed what-if report (PDF and CSV) and record it: the record of the
    inspections themselves is not touched."""
    import datetime as dt
    import hashlib

    from qa_station.paths import safe_name, write_whole
    from qa_station.qualification.issue import new_report_id, write_signed
    from qa_station.qualification.record import IssuedReport, record_event
    from reports.regrade import RegradeReport, render_csv, render_regrade

    name = Accounts(store).check(who).username if who is not None else None
    at_us, rid = new_report_id(store, "QAG", result.rules_sha256, result.since_us, result.until_us)

    def day(us: int | None, default: str) -> str:
        if us is None:
            return default
        return dt.datetime.fromtimestamp(us / 1e6, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")

    changes = result.changes
    report = RegradeReport(
        report_id=rid,
        station=store.station_id,
        who=name,
        generated_us=at_us,
        rules=result.rules,
        rules_sha256=result.rules_sha256,
        graded_against=tuple(sorted({e.old_rules for e in result.ends})),
        period=f"{day(result.since_us, 'the first record')} to {day(result.until_us, 'now')}",
        product=result.product,
        inspections=len(result.ends),
        frames=result.frames,
        accepted_now_failing=tuple(result.accepted_now_failing),
        changes=tuple(_rows(store, result, changes)),
        skipped=tuple(result.skipped),
        data_extra={"summary": result.summary()},
        local_tz=local_tz,
    )
    stem = f"regrade-{safe_name(result.rules.rsplit('/', 1)[-1].removesuffix('.toml'))}"
    pdf, issued = write_signed(
        render_regrade(report), report.data(), store.station_id, "re-grade report", out, stem
    )
    table = render_csv(report)
    csv_path = pdf.with_suffix(".csv")
    try:
        write_whole(csv_path, table, 0o644)
    except OSError as exc:
        raise RegradeError(f"cannot write {csv_path}: {exc.strerror or exc}") from None
    payload = result.summary()
    payload["csv"] = IssuedReport(
        rid, csv_path.name, hashlib.sha256(table).hexdigest(), len(table)
    ).to_dict()
    event_id = record_event(store, Kind.ARCHIVE_REGRADED, payload, who, issued)
    return Regraded(result, pdf, csv_path, event_id)


def _rows(store: Store, result: RegradeResult, changes: list[Change]) -> Iterator[ChangeRow]:
    from grading.geometry import connector
    from grading.grade import zone_shapes
    from reports.overlay import fibre_overlay, jpeg
    from reports.regrade import MAX_PICTURES, ChangeRow

    table = result.table or load_table(result.rules)
    by_id = {e.inspection_id: e for e in result.ends}
    for i, c in enumerate(changes):
        pic = None
        e = by_id[c.inspection_id]
        if i < MAX_PICTURES and c.result.diameter_px > 0:
            try:
                image = store.images.read(c.image_sha256)
                zones = zone_shapes(table, connector(e.connector))
                pic = jpeg(
                    fibre_overlay(image, c.result, e.scale[0] if e.scale else None, zones, size=240)
                )
            except (OSError, ValueError):
                pic = None
        yield projected(ChangeRow, c, inspected_us=e.inspected_us, picture=pic)
