"""A zip for a support ticket: the station's logs and config, without its secrets.

What goes in: every file of ``<data>/logs`` (the rotating log and its older
parts), the station config and the house product catalog, and a short
``about.txt`` (versions, platform, station id). What never goes in: the keys
folder (signing key, accounts key), the database, the image store. Text is
scrubbed on the way in: the value of any key that names a password, secret,
token or private key becomes ``***``, and so does the password of any URL
(``postgresql://user:***@host/db``, ``?password=***``), in the config and in
the logs alike. Written whole or not at all (a temp file, then a rename).
"""

from __future__ import annotations

import datetime as dt
import io
import platform
import re
import sys
import zipfile
from pathlib import Path

from qa_station import __version__
from qa_station.paths import StationPaths, ensure_dir, station_paths, write_whole

HIDDEN = "***"
SECRET_KEY = re.compile(
    r"^(\s*[\"']?[\w.-]*(?:password|passwd|passphrase|secret|token|private[_-]?key|api[_-]?key)"
    r"[\w.-]*[\"']?\s*=\s*)(.*)$",
    re.IGNORECASE | re.MULTILINE,
)
URL_PASSWORD = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^\s:/@'\"]*:)([^\s@/'\"]+)(@)")
QUERY_PASSWORD = re.compile(r"([?&](?:password|passwd|secret|token)=)([^&\s'\"]+)", re.IGNORECASE)


class DiagnosticsError(OSError):
    """The zip cannot be written (the message says where and why)."""


def scrubbed(text: str) -> str:
    """``text`` with every password, secret and URL password replaced by ``***``."""
    text = SECRET_KEY.sub(lambda m: m.group(1) + _hidden_value(m.group(2)), text)
    text = URL_PASSWORD.sub(lambda m: m.group(1) + HIDDEN + m.group(3), text)
    return QUERY_PASSWORD.sub(lambda m: m.group(1) + HIDDEN, text)


def _hidden_value(value: str) -> str:
    """A TOML value hidden, keeping a trailing comment (which says what the key is)."""
    comment = ""
    if "#" in value and not value.strip().startswith(("'", '"')):
        value, comment = value.split("#", 1)
        comment = " #" + comment
    return f'"{HIDDEN}"{comment}'


def default_name(paths: StationPaths | None = None, now: dt.datetime | None = None) -> Path:
    p = paths or station_paths()
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return p.data_dir / "diagnostics" / f"qa-station-diagnostics-{stamp}.zip"


def save_diagnostics(out: Path | None = None, paths: StationPaths | None = None) -> Path:
    """Write the zip (to ``out``, else ``<data>/diagnostics/``) and return its path."""
    p = paths or station_paths()
    target = (out or default_name(p)).expanduser()
    if target.is_dir():
        target = target / default_name(p).name
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("about.txt", _about())
        if p.logs_dir.is_dir():
            for f in sorted(p.logs_dir.iterdir()):
                if f.is_file():
                    z.writestr(f"logs/{f.name}", scrubbed(_text(f)))
        for f in (p.config_file, p.config_dir / "products.toml"):
            if f.is_file():
                z.writestr(f"config/{f.name}", scrubbed(_text(f)))
    try:
        ensure_dir(target.parent)
        write_whole(target, buf.getvalue(), 0o600)
    except OSError as exc:
        raise DiagnosticsError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target.resolve()


def _text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        return f"(could not be read: {exc.strerror or exc})\n"


def _about() -> str:
    return (
        f"qa-station {__version__}\n"
        f"python {sys.version.split()[0]} on {platform.platform()}\n"
        f"written {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}\n"
    )
