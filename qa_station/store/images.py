"""Content-addressed image files: the name is the sha256 of the bytes.

A file is written to a temporary name, flushed to disk and renamed into place
before the database row naming it is committed, so a crash can leave an extra
file but never a row without its image. Frames are kept lossless (PNG).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from qa_station.paths import write_whole

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


class ImageFolder:
    def __init__(self, root: Path, full_frames: str = "never") -> None:
        self.root = Path(root)
        self.full_frames = full_frames  # the station's policy: never, failing or always

    def relpath(self, sha256: str) -> str:
        # Names come back from the database and the outbox: only a sha256 is ever a path
        # here, so an altered row cannot make the station read or write outside the folder.
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise ImageStoreError(f"not an image name (a sha256 in hex): {sha256!r:.80}")
        return f"{sha256[:2]}/{sha256}.png"

    def path(self, sha256: str) -> Path:
        return self.root / self.relpath(sha256)

    def put(self, image: np.ndarray) -> StoredImage:
        ok, buf = cv2.imencode(".png", image, PNG)
        if not ok:
            raise ImageStoreError(f"could not encode a {image.shape} {image.dtype} image as PNG")
        data = buf.tobytes()
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        h, w = image.shape[:2]
        stored = StoredImage(sha, self.relpath(sha), w, h, len(data))
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

    def read(self, sha256: str) -> np.ndarray:
        data = self.read_bytes(sha256)
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise ImageStoreError(f"image {sha256[:12]} is not a readable PNG")
        return img

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
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            return f"contents changed (now hashes to {actual[:12]})"
        return None
