"""Signed archives of the image store, and retention: frames leave the bench only archived.

``export_archive`` writes the image files recorded before a date into one tar
file with ``manifest.json`` (every file's sha256, size and recording time, and
the chain head when it was made), ``manifest.sig`` (the manifest signed with
the station's key, ECDSA P-256 / SHA-256) and ``station.crt``; the record gets
an ``images.archived`` event naming the archive's sha256. ``check_archive``
verifies an archive later, anywhere: the signature (by a trusted certificate),
every file against its sha256, nothing missing or added, and, with the store,
that the record knows each image and recorded this very archive.

``remove_archived`` is the retention step: it removes from the bench only files
that an archive which checks out holds, only those older than the retention
(``[images] retention_days``), and seals what it removed in an
``images.removed`` event (the archive, the count, a digest of the names) with
one ``image_removals`` row per file, so ``audit verify`` can tell a frame
archived away from a frame lost, and a forged removal row from a real one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from qa_station.accounts import Session, signed_in
from qa_station.paths import fsync_dir
from qa_station.store import Store
from qa_station.store.chain import canonical
from qa_station.store.kinds import Kind
from qa_station.store.models import ChainHead, Image, ImageRemoval
from qa_station.store.records import removal_digest

FORMAT = "qa-station image archive"
VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
CERTIFICATE = "station.crt"
FILES = "images/"
DAY_US = 86_400 * 1_000_000


class ArchiveError(Exception):
    """An archive cannot be written, read or trusted (the message says why, in one line)."""


@dataclass
class Archived:
    path: Path
    images: int
    bytes: int
    sha256: str


@dataclass
class ArchiveCheck:
    path: str
    sha256: str = ""
    checks: list[tuple[str, str, str]] = field(default_factory=list)  # (name, state, detail)
    manifest: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(s in ("ok", "skipped") for _, s, _ in self.checks)

    def add(self, name: str, state: str, detail: str) -> None:
        self.checks.append((name, state, detail))


def export_archive(
    store: Store, before_us: int, out: Path, keys_dir: Path, station_id: str
) -> Archived:
    """Archive every image recorded before ``before_us`` still on the bench into ``out``."""
    from reports.signing import SigningError, sign_detached

    with store.read() as s:
        removed = set(s.execute(select(ImageRemoval.sha256)).scalars())
        rows = [
            r
            for r in s.execute(
                select(Image).where(Image.created_us < before_us).order_by(Image.created_us)
            ).scalars()
            if r.sha256 not in removed
        ]
        head = s.get(ChainHead, 1)
        at_head = {"event_id": head.last_event_id, "hash": head.last_hash} if head else None
    if not rows:
        raise ArchiveError("no image recorded before that date is on the bench: nothing to archive")
    for r in rows:
        problem = store.images.check(r.sha256)
        if problem:
            raise ArchiveError(
                f"image {r.sha256[:12]} cannot be archived: {problem} (run qa-station audit verify)"
            )
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "station": station_id,
        "created_us": round(store.clock() * 1e6),
        "before_us": before_us,
        "record_head": at_head,
        "images": [
            {
                "sha256": r.sha256,
                "file": FILES + store.images.relpath(r.sha256),
                "bytes": r.size_bytes,
                "width": r.width,
                "height": r.height,
                "recorded_us": r.created_us,
            }
            for r in rows
        ],
    }
    body = canonical(manifest).encode("utf-8")
    try:
        signature, cert_pem = sign_detached(keys_dir, body, station_id)
    except SigningError as exc:
        raise ArchiveError(f"cannot sign the archive: {exc}") from None
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        sha = _write_tar(out, body, signature, cert_pem, store, rows)
    except OSError as exc:
        raise ArchiveError(f"cannot write {out}: {exc.strerror or exc}") from None
    total = sum(r.size_bytes for r in rows)
    with store.write() as w:
        w.event(
            Kind.IMAGES_ARCHIVED,
            {
                "archive_sha256": sha,
                "manifest_sha256": hashlib.sha256(body).hexdigest(),
                "images": len(rows),
                "bytes": total,
                "before_us": before_us,
                "file": out.name,
            },
        )
    return Archived(out, len(rows), total, sha)


def _write_tar(out: Path, body: bytes, signature: bytes, cert_pem: bytes, store, rows) -> str:
    """Whole or not at all: a temp file beside ``out``, synced, renamed; its sha256."""
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".tmp-", suffix=".tar")
    try:
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for name, data in (
                    (MANIFEST, body),
                    (SIGNATURE, signature),
                    (CERTIFICATE, cert_pem),
                ):
                    _add(tar, name, data)
                for r in rows:
                    _add(
                        tar,
                        FILES + store.images.relpath(r.sha256),
                        store.images.read_bytes(r.sha256),
                    )
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(out.parent)
    return _sha256_file(out)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_archive(path: Path, store: Store | None, trust: list) -> ArchiveCheck:
    """Everything an auditor needs to trust an archive; one check per line."""
    from reports.signing import check_detached

    out = ArchiveCheck(str(path))
    try:
        out.sha256 = _sha256_file(Path(path))
        tar = tarfile.open(path, mode="r:")  # noqa: SIM115 - closed by the with below
    except (OSError, tarfile.TarError) as exc:
        raise ArchiveError(f"{path}: not a readable archive ({_why(exc)})") from None
    with tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        try:
            body = _read(tar, members, MANIFEST)
            signature = _read(tar, members, SIGNATURE)
            cert_pem = _read(tar, members, CERTIFICATE)
            manifest = json.loads(body.decode("utf-8"))
            listed = {i["file"]: i for i in manifest["images"]}
            if manifest.get("format") != FORMAT:
                raise ValueError("not a qa-station image archive")
        except (KeyError, ValueError, TypeError) as exc:
            out.add("manifest", "fail", f"no readable signed manifest ({_why(exc)})")
            return out
        out.manifest = manifest
        problem, signer = check_detached(body, signature, cert_pem, trust)
        out.add("signature", "fail" if problem else "ok", problem or f'made by "{signer}", trusted')
        bad = []
        for name, item in listed.items():
            m = members.get(name)
            data = tar.extractfile(m).read() if m is not None else None
            if data is None:
                bad.append(f"{name}: missing")
            elif hashlib.sha256(data).hexdigest() != item.get("sha256"):
                bad.append(f"{name}: contents changed")
        extra = sorted(set(members) - set(listed) - {MANIFEST, SIGNATURE, CERTIFICATE})
        bad += [f"{name}: not in the manifest" for name in extra]
    if bad:
        shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
        out.add("files", "fail", shown)
    else:
        total = sum(int(i.get("bytes", 0)) for i in listed.values())
        out.add("files", "ok", f"{len(listed)} image files, {total} bytes, each as its sha256 says")
    if store is None:
        out.add("record", "skipped", "not compared with the station's record")
        return out
    _record_checks(store, out, listed)
    return out


def _record_checks(store: Store, out: ArchiveCheck, listed: dict) -> None:
    from qa_station.store.models import Event

    shas = [i["sha256"] for i in listed.values()]
    with store.read() as s:
        known = set(s.execute(select(Image.sha256).where(Image.sha256.in_(shas))).scalars())
        recorded = any(
            json.loads(p).get("archive_sha256") == out.sha256
            for p in s.execute(
                select(Event.payload).where(Event.kind == Kind.IMAGES_ARCHIVED)
            ).scalars()
        )
    unknown = len(set(shas) - known)
    if unknown:
        out.add("record", "fail", f"{unknown} image(s) of the archive are not in the record")
    elif not recorded:
        out.add("record", "fail", "the record has no images.archived event for this archive")
    else:
        out.add("record", "ok", "every image is in the record, which recorded this archive")


def _read(tar: tarfile.TarFile, members: dict, name: str) -> bytes:
    m = members.get(name)
    if m is None:
        raise KeyError(f"no {name}")
    return tar.extractfile(m).read()


@dataclass
class Removed:
    images: int
    bytes: int
    kept_younger: int


def remove_archived(
    store: Store, archive: Path, retention_days: float, trust: list, by: Session
) -> Removed:
    """Remove from the bench the files ``archive`` holds that are older than the retention:
    an admin's decision (``by``, a signed-in session). Refused unless the archive checks out
    completely against this store."""
    if retention_days is None or retention_days <= 0:
        raise ArchiveError(
            "no retention is set ([images] retention_days in the station config): frames stay"
        )
    check = check_archive(archive, store, trust)
    if not check.ok:
        failed = next((f"{n}: {d}" for n, s, d in check.checks if s not in ("ok", "skipped")), "")
        raise ArchiveError(f"the archive does not check out, nothing removed ({failed})")
    cutoff = round(store.clock() * 1e6) - int(retention_days * DAY_US)
    with store.read() as s:
        gone = set(s.execute(select(ImageRemoval.sha256)).scalars())
    items = [i for i in check.manifest["images"] if i["sha256"] not in gone]
    old = [i for i in items if int(i["recorded_us"]) < cutoff]
    if not old:
        return Removed(0, 0, len(items))
    shas = [i["sha256"] for i in old]
    with store.write() as w:
        if signed_in(w, by).role != "admin":
            raise ArchiveError("only an admin takes frames off the bench")
        now = w.now_us()
        for sha in shas:
            w.session.add(ImageRemoval(sha256=sha, archive_sha256=check.sha256, removed_us=now))
        w.event(
            Kind.IMAGES_REMOVED,
            {
                "archive_sha256": check.sha256,
                "images": len(shas),
                "bytes": sum(int(i["bytes"]) for i in old),
                "names_sha256": removal_digest(shas),
                "removed_us": now,
                "retention_days": retention_days,
            },
            operator=by.username,
        )
    for sha in shas:  # after the commit: a crash here leaves files the record calls archived
        store.images.path(sha).unlink(missing_ok=True)
    return Removed(len(shas), sum(int(i["bytes"]) for i in old), len(items) - len(old))


def _why(exc: Exception) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return msg[:160]
