"""``qa-station grade`` on bad inputs, as an operator runs it: a non-zero exit and one line per
problem on stderr, never a traceback, never OpenCV's own log lines.

A handful of subprocess runs (each starts Python, NumPy and OpenCV), not a fuzz.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.grading.renders import face

RULES = "iec-61300-3-35-ed2/sm-pc"
SCRIPT = Path(sys.executable).with_name("qa-station")


def qa_station(*args: str | os.PathLike, home: Path) -> subprocess.CompletedProcess:
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "qa_station"]
    env = {**os.environ, "QA_STATION_HOME": str(home), "PYTHONWARNINGS": "default"}
    return subprocess.run(
        [*command, *map(os.fsdecode, args)],
        capture_output=True,
        text=True,
        errors="replace",
        env=env,
        timeout=120,
        check=False,
    )


def assert_plain_stderr(err: str, lines: int) -> list[str]:
    got = err.splitlines()
    assert "Traceback" not in err, err
    assert "[ERROR:" not in err and "OpenCV(" not in err, err  # no decoder log lines
    assert len(got) == lines, err
    for line in got:
        assert line.startswith("qa-station grade: error: "), line
    return got


@pytest.fixture(scope="module")
def good_png(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "good.png"
    assert cv2.imwrite(str(path), face("lc-upc").image)
    return path


def test_corrupt_image_files_exit_2_with_one_line_each_on_stderr(station_home, tmp_path, good_png):
    png = good_png.read_bytes()
    ihdr = struct.pack(">IIBBBBB", 90_000, 90_000, 8, 0, 0, 0, 0)
    bomb = (
        png[:8]
        + struct.pack(">I", 13)
        + b"IHDR"
        + ihdr
        + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
        + png[-12:]
    )
    _, webp = cv2.imencode(".webp", np.zeros((8000, 8000), np.uint8))
    bmp_header = struct.pack("<IiiHHIIiiII", 40, 640, 480, 1, 24, 0, 0, 2835, 2835, 0, 0)
    files = {
        "empty.png": b"",
        "random.png": os.urandom(3000),
        "cut.png": png[: len(png) // 3],
        "cut.jpg": cv2.imencode(".jpg", face("lc-upc").image)[1].tobytes()[:5000],
        "bomb.png": bomb,
        "bomb.webp": webp.tobytes(),
        "short.bmp": b"BM" + struct.pack("<IHHI", 84, 0, 0, 54) + bmp_header + b"\0" * 30,
        "text.tif": b"II*\x00 this is not a TIFF at all",
    }
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    odd_name = tmp_path / os.fsdecode(b"odd-\xff-name\n.png")  # not UTF-8, and a line break
    odd_name.write_bytes(b"\x89PNG\r\n\x1a\n")
    paths += [odd_name, tmp_path / "missing.png", tmp_path]
    proc = qa_station("grade", *paths, "--connector", "lc-upc", "--rules", RULES, home=station_home)
    assert proc.returncode == 2, proc.stderr
    lines = assert_plain_stderr(proc.stderr, len(paths))
    for line, path in zip(lines, paths, strict=True):
        assert path.name.split("-")[0] in line, (line, path)  # in order, each by name
    assert "too large" in lines[4] and "too large" in lines[5]


def test_the_good_image_among_bad_ones_is_still_graded_with_json(station_home, tmp_path, good_png):
    bad = tmp_path / "random.png"
    bad.write_bytes(os.urandom(500))
    proc = qa_station(
        "grade",
        bad,
        good_png,
        "--connector",
        "lc-upc",
        "--rules",
        RULES,
        "--json",
        home=station_home,
    )
    assert proc.returncode == 2
    assert proc.stdout.lstrip().startswith("[")
    import json

    verdicts = [d["verdict"] for d in json.loads(proc.stdout)]
    assert verdicts == ["error", "pass"]
    assert_plain_stderr(proc.stderr, 1)


MALFORMED_RULES = {
    "not-toml": b"schema = 1\nname = [\n",
    "huge-integer": b"schema = 1\nname = 'x'\nmax_um_per_px = " + b"9" * 5000 + b"\n",
    "deep-arrays": b"schema = 1\nname = 'x'\nzones = " + b"[" * 5000 + b"]" * 5000 + b"\n",
    "key-with-newline": b'"bad\\nkey" = 1\nschema = 1\n',
}


@pytest.mark.parametrize("case", sorted(MALFORMED_RULES))
def test_a_malformed_rule_file_exits_2_with_one_line(station_home, tmp_path, good_png, case):
    rules = tmp_path / f"{case}.toml"
    rules.write_bytes(MALFORMED_RULES[case])
    proc = qa_station(
        "grade", good_png, "--connector", "lc-upc", "--rules", rules, home=station_home
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    (line,) = assert_plain_stderr(proc.stderr, 1)
    assert str(rules) in line


@pytest.mark.parametrize(
    "rules",
    ["x" * 5000, "folder"],
    ids=["name-too-long", "a-folder"],
)
def test_a_rules_name_that_is_no_rule_file_exits_2_with_one_line(
    station_home, tmp_path, good_png, rules
):
    if rules == "folder":
        rules = str(tmp_path)
    proc = qa_station(
        "grade", good_png, "--connector", "lc-upc", "--rules", rules, home=station_home
    )
    assert proc.returncode == 2
    (line,) = assert_plain_stderr(proc.stderr, 1)
    assert "neither a built-in rule set" in line
