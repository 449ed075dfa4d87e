"""The station's log: one rotating file in ``<data>/logs``, configured once per process.

What goes in: one line per operator action (done, refused, or stopped by a
device), each device error, and the full traceback of anything unforeseen
(a worker's task, a command's fault). Our own packages log from INFO, other
libraries only their warnings. Nothing is written to the terminal: the
command line's contract is one line on stderr, never a log record. Secrets
are never logged (passwords are not passed to the log; a store URL is logged
only with its password hidden). A log that cannot be opened (a read-only
disk) never stops the station: its records are then dropped.
"""

from __future__ import annotations

import logging
import logging.handlers
from io import TextIOWrapper
from pathlib import Path

from qa_station.paths import StationPaths, ensure_dir, station_paths

LOG_FILE = "qa-station.log"
MAX_BYTES = 1_000_000  # a file; five of them are a few weeks of a busy bench
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
OUR_PACKAGES = ("qa_station", "grading", "hardware", "reports")


class _StationLog(logging.handlers.RotatingFileHandler):
    """The station's handler (told apart from others on the root logger). Its folder and
    file are made at the first record, not before: a command that logs nothing leaves no
    trace in a station home it only read."""

    def _open(self) -> TextIOWrapper:
        ensure_dir(Path(self.baseFilename).parent)
        return super()._open()

    def handleError(self, record: logging.LogRecord) -> None:
        """A log that cannot be written (a full or read-only disk) never stops the station."""


class _OneLine(logging.Formatter):
    """A record's message on one line (a serial or a name with a line break in it cannot
    forge a line of the log); a traceback, added after it, keeps its lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return super().formatMessage(record).replace("\r", "\\r").replace("\n", "\\n")


def configure(paths: StationPaths | None = None) -> Path:
    """Log to ``<data>/logs/qa-station.log`` (the file's path).

    Called again with the same station home it does nothing; with another (a test,
    the demo's home) the log moves there.
    """
    p = paths or station_paths()
    target = p.logs_dir / LOG_FILE
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, _StationLog)]
    if any(Path(h.baseFilename) == target.resolve() for h in ours):
        return target
    for h in ours:
        root.removeHandler(h)
        h.close()
    handler = _StationLog(
        target, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
    )
    handler.setFormatter(_OneLine(FORMAT))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    for name in OUR_PACKAGES:
        logging.getLogger(name).setLevel(logging.INFO)
    return target
