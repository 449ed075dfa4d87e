"""What the certificate tests share: a demo-made record, running the CLI, reading PDFs."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from qa_station.catalog import load_catalog
from qa_station.cli import main
from qa_station.config import load_config
from qa_station.demo import run_demo
from qa_station.record import load_record
from qa_station.store.store import open_store

JUMPER = "jumper-lc-duplex-sm-upc"  # four single-fibre ends: quick assemblies
JUMPER_ENDS = ("A1", "A2", "B1", "B2")

needs_poppler = pytest.mark.skipif(
    not (shutil.which("pdftotext") and shutil.which("pdfsig")),
    reason="poppler-utils (pdftotext, pdfsig) not installed",
)


@dataclass(frozen=True)
class World:
    home: Path
    accepted: tuple[str, ...]
    rejected: tuple[str, ...]


def make_world(home: Path, accepted: int = 2, damaged: int = 2) -> World:
    """Demo assemblies in a station home of their own: clean ones (accepted) and damaged ones."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QA_STATION_HOME", str(home))
        config = load_config()
        store = open_store(config)
        try:
            catalog = load_catalog()
            serials = []
            if accepted:
                serials += run_demo(store, catalog, config, accepted, JUMPER, "clean").serials
            if damaged:
                serials += run_demo(store, catalog, config, damaged, JUMPER, "damaged").serials
            status = {s: load_record(store, s).status for s in serials}
        finally:
            store.close()
    return World(
        home,
        tuple(s for s in serials if status[s] == "accepted"),
        tuple(s for s in serials if status[s] == "rejected"),
    )


def qa(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def pdftotext(path: Path) -> str:
    proc = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return proc.stdout


def pdfsig(path: Path) -> str:
    proc = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    return proc.stdout + proc.stderr


def signed_ranges(data: bytes) -> list[int]:
    m = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data)
    assert m, "no /ByteRange in the file"
    return [int(x) for x in m.groups()]


def flip(data: bytes, at: int) -> bytes:
    b = bytearray(data)
    b[at] ^= 0x01
    return bytes(b)
