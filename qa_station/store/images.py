"""Content-addressed frames: the name is the sha256 of the PNG bytes.

Two stores behind one interface (``put``, ``keep``, ``read``, ``read_bytes``,
``check``, ``problems``):

- ``ImageFolder`` (a bench on SQLite): a file is written to a temporary
  name, flushed to disk and renamed into place before the database row naming
  it is committed, so a crash can leave an extra file but never a row without
  its image.
- ``DatabaseImages`` (a floor on PostgreSQL): the bytes go into the
  ``image_data`` table (bytea) in the same transaction as the ``images`` row
  and the inspection that seals them, so every bench and auditor reads the
  same frames and no bench's disk holds a share of the evidence. ``put``
  only encodes and holds the bytes until ``keep`` writes them.

Frames are kept lossless (PNG).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from qa_station.paths import write_whole

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

_SHA256 = re.compile(r"[0-9a-f]{64}")


class ImageStoreError(OSError):
    """An image could not be written or read back (disk full, folder read-only, damaged file)."""


@dataclass(frozen=True)
class StoredImage:
    sha256: str
    relpath: str
    width: int
    height: int
    size_bytes: int


# Frames are sensor noise at the pixel level: predicting a pixel from its neighbours (PNG's
# filters) adds entropy instead of removing it. No filter, zlib at level 9 with its filtered
# strategy: 18 % smaller than level 1 with adaptive filters on the simulated probe's frames.
PNG = [cv2.IMWRITE_PNG_COMPRESSION, 9, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_FILTERED]
if hasattr(cv2, "IMWRITE_PNG_FILTER"):  # OpenCV 4.11 and later choose the filter
    PNG += [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE]


def relpath(sha256: str) -> str:
    """Where a frame sits in a folder (and in an archive): ``ab/abcd....png``."""
    # Names come back from the database and the outbox: only a sha256 is ever a path
    # here, so an altered row cannot make the station read or write outside the folder.
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise ImageStoreError(f"not an image name (a sha256 in hex): {sha256!r:.80}")
    return f"{sha256[:2]}/{sha256}.png"


def encode(image: np.ndarray) -> tuple[StoredImage, bytes]:
    """The frame as the record keeps it (lossless PNG) and its name."""
    ok, buf = cv2.imencode(".png", image, PNG)
    if not ok:
        raise ImageStoreError(f"could not encode a {image.shape} {image.dtype} image as PNG")
    data = buf.tobytes()
    sha = hashlib.sha256(data).hexdigest()
    h, w = image.shape[:2]
    return StoredImage(sha, relpath(sha), w, h, len(data)), data


def decode(sha256: str, data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ImageStoreError(f"image {sha256[:12]} is not a readable PNG")
    return img


def changed(sha256: str, data: bytes) -> str | None:
    """None when ``data`` hashes to its name, else how it differs."""
    actual = hashlib.sha256(data).hexdigest()
    return None if actual == sha256 else f"contents changed (now hashes to {actual[:12]})"


class ImageFolder:
    missing = "file missing"  # what ``check`` says of a frame that is not there
    kind = "image folder"

    def __init__(self, root: Path, full_frames: str = "never") -> None:
        self.root = Path(root)
        self.full_frames = full_frames  # the station's policy: never, failing or always

    @property
    def where(self) -> str:
        return str(self.root)

    def relpath(self, sha256: str) -> str:
        return relpath(sha256)

    def path(self, sha256: str) -> Path:
        return self.root / self.relpath(sha256)

    def put(self, image: np.ndarray) -> StoredImage:
        stored, data = encode(image)
        return self.put_bytes(stored, data)

    def put_bytes(self, stored: StoredImage, data: bytes) -> StoredImage:
        """Write a frame already encoded (its name is the sha256 of ``data``)."""
        sha = stored.sha256
        target = self.path(sha)
        if self._holds(target, sha):
            return stored  # the same frame again; a damaged copy is written afresh below
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_whole(target, data)
        except OSError as exc:
            raise ImageStoreError(
                f"cannot write image {sha[:12]} under {self.root}: {exc.strerror or exc}"
            ) from None
        return stored

    @staticmethod
    def _holds(target: Path, sha256: str) -> bool:
        try:
            return target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == sha256
        except OSError:  # unreadable: try writing it again, which says what is wrong
            return False

    def hold(self, sha256: str, data: bytes) -> bool:
        """Take bytes to be recorded (a frame sent from the outbox): written now, as ``put``
        does, only when they hash to their name."""
        if changed(sha256, data):
            return False
        self.put_bytes(StoredImage(sha256, relpath(sha256), 0, 0, len(data)), data)
        return True

    def keep(self, session: Session, stored: StoredImage) -> None:
        """In the transaction of the row naming it: the file is on disk already (``put``)."""

    def committed(self, shas: Iterable[str]) -> None:
        """The rows naming these frames are committed (nothing is held here)."""

    def read(self, sha256: str) -> np.ndarray:
        return decode(sha256, self.read_bytes(sha256))

    def read_bytes(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except OSError as exc:
            raise ImageStoreError(f"image {sha256[:12]} missing: {exc.strerror or exc}") from None

    def check(self, sha256: str) -> str | None:
        """None when the file is there and intact, else what is wrong with it."""
        try:
            p = self.path(sha256)
        except ImageStoreError as exc:
            return str(exc)
        if not p.is_file():
            return "file missing"
        try:
            data = p.read_bytes()
        except OSError as exc:
            return f"cannot be read ({exc.strerror or exc})"
        return changed(sha256, data)

    def problems(self, session: Session, shas: list[str]) -> dict[str, str | None]:
        """``check`` of many frames (verify's pace)."""
        return {sha: self.check(sha) for sha in shas}

    def names(self) -> Iterable[str]:
        """The name of every frame file in the folder (stray files included)."""
        try:
            folders = [e for e in os.scandir(self.root) if e.is_dir()]
        except OSError:
            return
        for folder in folders:
            try:
                for f in os.scandir(folder.path):
                    if f.name.endswith(".png") and _SHA256.fullmatch(f.name[:-4]):
                        yield f.name[:-4]
            except OSError:
                continue

    def stray(self, session: Session, known: set[str]) -> int:
        """Frames here that no row names (left by an interrupted action)."""
        return sum(1 for sha in self.names() if sha not in known)

    def remove(self, sha256: str) -> None:
        """Retention: take a frame off the bench (after its signed archive was checked)."""
        self.path(sha256).unlink(missing_ok=True)


PENDING_LIMIT = 4096  # frames encoded and not yet committed (a failed action's stay here)


class DatabaseImages:
    """Frames in the floor database (``image_data``, bytea), written in the transaction of
    the row that seals them. ``local`` is the bench's own folder: frames made before the
    floor store held them are read from it until ``move_frames`` has moved them."""

    missing = "frame missing from the floor database"
    kind = "frame table"

    def __init__(self, engine: Engine, local: ImageFolder) -> None:
        self.engine = engine
        self.local = local
        self._pending: OrderedDict[str, bytes] = OrderedDict()

    @property
    def full_frames(self) -> str:
        return self.local.full_frames

    @full_frames.setter
    def full_frames(self, value: str) -> None:
        self.local.full_frames = value

    @property
    def root(self) -> Path:
        return self.local.root

    @property
    def where(self) -> str:
        return "the floor database"

    def relpath(self, sha256: str) -> str:
        return relpath(sha256)

    def put(self, image: np.ndarray) -> StoredImage:
        """Encode and hold the frame until the transaction that records it (``keep``)."""
        stored, data = encode(image)
        self.hold(stored.sha256, data)
        return stored

    def hold(self, sha256: str, data: bytes) -> bool:
        """Hold bytes to be written with their row (a frame sent from the outbox): only
        when they hash to their name."""
        if changed(sha256, data):
            return False
        self._pending[sha256] = data
        self._pending.move_to_end(sha256)
        while len(self._pending) > PENDING_LIMIT:
            self._pending.popitem(last=False)
        return True

    def held(self, sha256: str) -> bytes | None:
        return self._pending.get(sha256)

    def keep(self, session: Session, stored: StoredImage) -> None:
        """Write the frame's bytes in this transaction, unless the floor store has them."""
        from qa_station.store.models import ImageData

        sha = stored.sha256
        if session.get(ImageData, sha) is not None:
            return
        data = self._pending.get(sha)
        if data is None:
            data = self.local.read_bytes(sha)  # made before the floor store held frames
            problem = changed(sha, data)
            if problem:
                raise ImageStoreError(f"image {sha[:12]} in {self.local.root}: {problem}")
        session.add(ImageData(sha256=sha, data=data))

    def committed(self, shas: Iterable[str]) -> None:
        for sha in shas:
            self._pending.pop(sha, None)

    def read(self, sha256: str) -> np.ndarray:
        return decode(sha256, self.read_bytes(sha256))

    def read_bytes(self, sha256: str) -> bytes:
        relpath(sha256)  # a name, or refused
        data = self._pending.get(sha256)
        if data is not None:
            return data
        data = self._fetch(sha256)
        if data is None:
            raise ImageStoreError(f"image {sha256[:12]} missing: not in the floor database")
        return data

    def _fetch(self, sha256: str) -> bytes | None:
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self.engine.connect() as conn:
                row = conn.execute(
                    text("SELECT data FROM image_data WHERE sha256 = :s"), {"s": sha256}
                ).first()
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise ImageStoreError(f"image {sha256[:12]}: the floor database: {reason}") from None
        return bytes(row[0]) if row is not None else None

    def check(self, sha256: str) -> str | None:
        try:
            relpath(sha256)
        except ImageStoreError as exc:
            return str(exc)
        data = self._pending.get(sha256)
        if data is None:
            try:
                data = self._fetch(sha256)
            except ImageStoreError as exc:
                return str(exc)
        if data is None:
            return self.missing
        return changed(sha256, data)

    def problems(self, session: Session, shas: list[str]) -> dict[str, str | None]:
        """Every frame's bytes read and hashed here, never by the server: a server that is
        itself under audit is not asked whether its frames are intact."""
        from sqlalchemy import select

        from qa_station.store.models import ImageData

        found: dict[str, str | None] = dict.fromkeys(shas, self.missing)
        for i in range(0, len(shas), 200):
            chunk = shas[i : i + 200]
            rows = session.execute(
                select(ImageData.sha256, ImageData.data).where(ImageData.sha256.in_(chunk))
            )
            for sha, data in rows:
                found[sha] = changed(sha, bytes(data))
        return found

    def stray(self, session: Session, known: set[str]) -> int:
        from sqlalchemy import text

        # Bytes without their row (never written so: they share its transaction).
        unnamed = session.execute(
            text(
                "SELECT d.sha256 FROM image_data d WHERE NOT EXISTS "
                "(SELECT 1 FROM images i WHERE i.sha256 = d.sha256)"
            )
        ).scalars()
        return sum(1 for sha in unnamed if sha not in known)

    def remove(self, sha256: str) -> None:
        raise ImageStoreError(
            "frames in the floor database are kept there (its audit tables are insert-only): "
            "retention takes frames off a bench's own folder only"
        )


# A bench's folder or the floor database: the same interface.
ImageStore = ImageFolder | DatabaseImages
