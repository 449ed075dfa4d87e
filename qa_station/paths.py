"""Where the station keeps what it writes.

``QA_STATION_HOME`` moves everything (config, store, images, keys, logs) under
one folder: a test, a demo or a second bench on one PC gets its own world.
Without it, the platform's user folders are used (platformdirs).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import platformdirs

APP = "qa-station"
ENV_HOME = "QA_STATION_HOME"
DEMO_FOLDER = "demo"  # the demo's own station home, inside the station's data folder


class _Inside:
    """One file or folder of the station: a name inside its config or its data folder,
    read as an attribute of StationPaths."""

    def __init__(self, folder: Literal["config", "data"], name: str) -> None:
        self.folder = folder
        self.name = name

    def __get__(self, paths: StationPaths, owner: object = None) -> Path:
        return (paths.config_dir if self.folder == "config" else paths.data_dir) / self.name


@dataclass(frozen=True)
class StationPaths:
    config_dir: Path
    data_dir: Path

    config_file = _Inside("config", "station.toml")
    # The factory's own products (same shape as the built-in ``catalog/products.toml``).
    products_file = _Inside("config", "products.toml")
    database_file = _Inside("data", "station.sqlite3")
    images_dir = _Inside("data", "images")
    keys_dir = _Inside("config", "keys")
    logs_dir = _Inside("data", "logs")
    # Where the bench writes each accepted assembly's certificate as it is accepted.
    certificates_dir = _Inside("data", "certificates")
    # Where the station's own reports go: qualifications, studies, re-grades.
    reports_dir = _Inside("data", "reports")
    # The bench's witness of the record: its signed checkpoints, outside the database.
    witness_dir = _Inside("data", "witness")
    # What a bench on a floor database did while it was down (kept locally).
    outbox_file = _Inside("data", "outbox.sqlite3")


def station_paths() -> StationPaths:
    home = os.environ.get(ENV_HOME)
    if home:
        root = Path(home).expanduser().resolve()
        return StationPaths(config_dir=root / "config", data_dir=root / "data")
    return StationPaths(
        config_dir=Path(platformdirs.user_config_dir(APP, appauthor=False)),
        data_dir=Path(platformdirs.user_data_dir(APP, appauthor=False)),
    )


_demo_depth = 0


@contextmanager
def demo_home() -> Iterator[Path]:
    """Run what is inside in the demo's own station home (``<data>/demo``): its own store,
    images, keys and config, so the demo never touches the station's record or accounts."""
    global _demo_depth
    if _demo_depth:  # already there
        yield station_paths().config_dir.parent
        return
    root = station_paths().data_dir / DEMO_FOLDER
    before = os.environ.get(ENV_HOME)
    os.environ[ENV_HOME] = str(root)
    _demo_depth += 1
    try:
        yield root
    finally:
        _demo_depth -= 1
        if before is None:
            os.environ.pop(ENV_HOME, None)
        else:
            os.environ[ENV_HOME] = before


def ensure_dir(path: Path, private: bool = False) -> Path:
    """Create a folder (and parents); ``private`` ones are readable by the owner only."""
    path.mkdir(parents=True, exist_ok=True)
    if private:
        path.chmod(0o700)
    return path


# -- names from data ------------------------------------------------------------------------
# Serials, product ids, lot names come from labels and catalog files: never file paths.
# Every file name the station builds from them goes through safe_name, and every file it
# writes into a folder through inside.

SAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 80


class UnsafeName(ValueError):
    """A file name that is not one plain name inside its folder."""


def safe_name(text: str) -> str:
    """A file-name part from a serial, a product id...: only [A-Za-z0-9._-], never '..',
    never empty or hidden, at most MAX_NAME characters plus a tag.

    A text that had to be changed gets a short hash of the original appended, so two
    texts that clean up alike (``A/B`` and ``A_B``) still get different names.
    """
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    s = SAFE_CHARS.sub("_", ascii_)
    s = re.sub(r"\.{2,}", "_", s).strip("._-")[:MAX_NAME].strip("._-")
    if s != text or not s:
        tag = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        s = f"{s}-{tag}" if s else f"name-{tag}"
    return s


def inside(folder: Path, name: str) -> Path:
    """``folder/name`` resolved, refusing a name that would land anywhere but in ``folder``
    (separators, '.', '..', NUL, a link that points out)."""
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise UnsafeName(f"refusing the file name {name!r:.120}")
    base = folder.resolve()
    target = (base / name).resolve()
    if target.parent != base:
        raise UnsafeName(f"refusing to write {name!r:.120} outside {base}")
    return target


def write_whole(path: Path, data: bytes, mode: int | None = None) -> None:
    """Whole or not at all: a temp file in the same folder, flushed to disk, renamed over
    ``path``, the folder synced; a full disk or a blocked folder leaves nothing half-written.
    ``mode``: the file's permissions (None keeps the temp file's owner-only 0600). Raises
    OSError; callers say what failed in their own words."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
