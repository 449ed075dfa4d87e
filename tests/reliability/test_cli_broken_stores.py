"""Every command on a broken store and on hostile input: one line on stderr, never a traceback,
and the store is never written to.

Hole 11 of the adversarial review: the demo went on writing into a file that failed
``PRAGMA integrity_check``; a missing ``chain_head`` row, random bytes as the database and a
``mysql://`` URL each ended in a traceback. Hole 9: a 100,000-character serial was echoed in
full, and control characters in a station id went into every event.
"""

from __future__ import annotations

import hashlib
import io
import sqlite3
import sys
from pathlib import Path

import pytest

from qa_station.cli import main
from qa_station.config import ConfigError, load_config
from qa_station.store import Store, StoreError
from qa_station.store.kinds import Kind
from qa_station.store.store import sqlite_url

UNFORESEEN = "QA_STATION_DEBUG"  # what the last-resort handler says: a fault nobody handled


def run(capsys, monkeypatch, *args: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("qa-station "), lines[0]
    assert UNFORESEEN not in lines[0], f"an unforeseen fault: {lines[0]}"
    assert lines[0].isprintable() and len(lines[0]) <= 600, lines[0][:200]
    return lines[0]


def _store_with_events(path: Path, n: int = 300) -> None:
    store = Store(sqlite_url(path), path.parent / "images")
    store.migrate()
    for i in range(0, n, 50):
        with store.write() as w:
            for j in range(50):
                w.event(Kind.STATION_CONFIGURED, {"n": i + j, "text": "x" * 200})
    store.close()


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("broken")
    junk = root / "junk.sqlite3"
    junk.write_bytes(hashlib.sha256(b"seed").digest() * 2000)  # 64 kB of random-looking bytes
    headless = root / "headless.sqlite3"
    _store_with_events(headless, 50)
    con = sqlite3.connect(headless)
    con.execute("DELETE FROM chain_head")
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    damaged = root / "damaged.sqlite3"
    _store_with_events(damaged)
    con = sqlite3.connect(damaged)
    page = con.execute("PRAGMA page_size").fetchone()[0]
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.close()
    with open(damaged, "r+b") as f:  # scribble over pages in the middle of the events
        for n in range(pages // 3, 2 * pages // 3):
            f.seek(page * n)
            f.write(b"\x0d\xff\xff" * 8)  # a page header with impossible counts
    foreign = root / "foreign.sqlite3"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    con.commit()
    con.close()
    return {
        "random bytes": sqlite_url(junk),
        "no chain head": sqlite_url(headless),
        "damaged": sqlite_url(damaged),
        "someone else's": sqlite_url(foreign),
        "mysql": "mysql://qa@127.0.0.1/floor",
        "nonsense": "not a url at all",
    }


def _files(stores: dict[str, str]) -> dict[str, str]:
    """The bytes of each store: the database file and whatever its write-ahead log holds."""
    out = {}
    for name, url in stores.items():
        if url.startswith("sqlite:///"):
            path = Path(url[len("sqlite:///") :])
            wal = Path(str(path) + "-wal")
            data = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
            out[name] = hashlib.sha256(data).hexdigest()
    return out


COMMANDS = [
    ("history", "T12B-000001"),
    ("audit", "verify"),
    ("audit", "verify", "--json"),
    ("audit", "checkpoint"),
    ("user", "list"),
    ("user", "add", "root", "--password-stdin"),
    ("user", "passwd", "root", "--password-stdin"),
    ("user", "disable", "olga", "--admin", "root", "--password-stdin"),
    ("user", "unlock", "--all", "--by", "root", "--password-stdin"),
    ("certificate", "T12B-000001"),
    ("report", "rejection", "T12B-000001"),
    ("report", "lot"),
    ("export", "--since", "2026-01-01", "--format", "json"),
    ("demo", "--assemblies", "1", "--product", "jumper-lc-duplex-sm-upc"),
    ("images", "archive", "--before", "2026-01-01"),
    ("images", "remove", "archive.tar", "--admin", "root", "--password-stdin"),
    ("images", "verify", "archive.tar"),
]


@pytest.mark.parametrize("broken", ["random bytes", "no chain head", "damaged", "someone else's",
                                    "mysql", "nonsense"])  # fmt: skip
def test_every_command_refuses_a_broken_store_in_one_line_and_writes_nothing(
    capsys, monkeypatch, stores, broken, tmp_path
):
    before = _files(stores)
    monkeypatch.chdir(tmp_path)
    seen = []
    for command in COMMANDS:
        code, out, err = run(capsys, monkeypatch, *command, "--db", stores[broken],
                             stdin="pw-12345678\n" * 4)  # fmt: skip
        assert code == 2, (command, out, err)
        seen.append(one_line(err))
    assert _files(stores) == before, "a broken store was written to"
    assert not list(tmp_path.iterdir()), "a command left a file behind"
    words = {
        "random bytes": "not a database",
        "no chain head": "chain head is missing",
        "damaged": "is damaged (",
        "someone else's": "not a qa-station store",
        "mysql": "unsupported store URL (scheme mysql)",
        "nonsense": "unsupported store URL",
    }[broken]
    assert all(words in line for line in seen), seen


def test_verify_with_a_broken_store_checks_the_file_and_says_the_record_was_not(
    capsys, monkeypatch, stores, tmp_path
):
    pdf = tmp_path / "c.pdf"
    pdf.write_bytes(b"%PDF-1.7\nnot much of a certificate\n")
    for url in stores.values():
        code, out, err = run(capsys, monkeypatch, "verify", str(pdf), "--db", url)
        assert code == 1 and err == "" and "Traceback" not in out
        assert "NOT VALID" in out


def test_a_store_that_is_refused_was_not_written_by_the_station_either(stores, tmp_path):
    for name in ("random bytes", "no chain head", "damaged", "someone else's"):
        store = Store(stores[name], tmp_path / "images")
        with pytest.raises(StoreError) as exc:
            store.migrate()
        store.close()
        assert "\n" not in str(exc.value) and "refused" in str(exc.value)


# -- hostile input ----------------------------------------------------------------------------


def test_a_huge_serial_is_refused_without_being_echoed(capsys, monkeypatch):
    serial = "T" * 100_000
    for command in (
        ("history", serial),
        ("certificate", serial),
        ("report", "rejection", serial),
        ("scan", "--serial", serial, "--end", "A"),
        ("fixture-emulator", "--serial", serial),
    ):
        code, out, err = run(capsys, monkeypatch, *command)
        assert code == 2 and out == "", command
        line = one_line(err) if "error:" in err else err
        assert len(err) < 600, (command, len(err))
        assert "T" * 200 not in line


def test_control_characters_in_a_serial_are_escaped_not_sent_to_the_terminal(capsys, monkeypatch):
    code, _, err = run(capsys, monkeypatch, "history", "T12B-\x1b[2J\x1b]0;owned\x07")
    assert code == 2 and "\x1b" not in err and "\x07" not in err
    assert "\\x1b[2J" in one_line(err)


@pytest.mark.parametrize(
    "value",
    ['""', '"' + "b" * 300 + '"', '"bench\\u001b[31m-3"', '"bench\\n3"', '"bench 3"', "7"],
)
def test_a_station_id_must_be_short_and_printable(station_home, value):
    """It goes into every event and into the signing certificate's name."""
    config = station_home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "station.toml").write_text(f"[station]\nid = {value}\n")
    with pytest.raises(ConfigError, match=r"key 'station\.id': expected 1-32 letters") as exc:
        load_config()
    assert "\n" not in str(exc.value) and "\x1b" not in str(exc.value)


def test_a_station_id_given_in_code_is_checked_too(tmp_path):
    with pytest.raises(StoreError, match="station id"):
        Store(sqlite_url(tmp_path / "s.sqlite3"), tmp_path / "images", station_id="bench\x1b")
