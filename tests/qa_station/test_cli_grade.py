"""`qa-station grade`: the public contract of DESIGN.md section 5."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import pytest

from hardware.optics.scene import Feature
from qa_station.cli import main
from tests.grading.renders import SCALE, face

RULES = "iec-61300-3-35-ed2/sm-pc"
LC_UPC = ("--connector", "lc-upc", "--rules", RULES)  # the faces here are LC/UPC, single-mode


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faces")
    clean = folder / "clean.png"
    dirty = folder / "dirty.png"
    cv2.imwrite(str(clean), face("lc-upc").image)
    cv2.imwrite(
        str(dirty), face("lc-upc", (Feature("particle", (0.0, 30.0), 8.0, -0.5, seed=1),)).image
    )
    corrupt = folder / "corrupt.png"
    corrupt.write_bytes(clean.read_bytes()[:5000])
    return {"clean": str(clean), "dirty": str(dirty), "corrupt": str(corrupt)}


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(["grade", *args])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *args) -> tuple[int, list[dict]]:
    """``grade ARGS`` of LC/UPC faces with ``--json``: exit status, one object per image."""
    code, out, _ = run(capsys, *args, *LC_UPC, "--json")
    return code, json.loads(out)


def test_json_is_one_list_one_object_per_image(capsys, images):
    code, data = run_json(capsys, images["clean"], images["dirty"], "--um-per-px", str(SCALE))
    assert isinstance(data, list) and len(data) == 2
    assert [d["image"] for d in data] == [images["clean"], images["dirty"]]
    assert [d["verdict"] for d in data] == ["pass", "fail"]
    assert code == 1
    fibre = data[1]["fibers"][0]
    assert fibre["index"] == 1 and len(fibre["center_px"]) == 2
    (defect,) = fibre["defects"]
    assert defect["kind"] == "defect" and defect["zone"] == "B"
    assert abs(defect["size_um"] - 8.0) < 1.0
    assert data[0]["um_per_px"] == SCALE and data[0]["rules"] == RULES


def test_all_pass_exits_zero(capsys, images):
    code, (d,) = run_json(capsys, images["clean"])
    assert code == 0
    assert d["scale_source"] == "cladding"


def test_a_corrupt_file_is_an_error_entry_and_the_others_are_still_graded(capsys, images):
    code, data = run_json(capsys, images["corrupt"], images["dirty"])
    assert data[0]["verdict"] == "error" and "truncated PNG" in data[0]["error"]
    assert data[1]["verdict"] == "fail"
    assert code == 2


@pytest.mark.parametrize(
    "args,message",
    [
        (["--connector", "lc-pc", "--rules", RULES], "invalid choice"),
        (["--connector", "lc-upc", "--rules", "no/such-rules"], "neither a built-in rule set"),
        (["--connector", "lc-apc", "--rules", RULES], "APC-polished"),
        (["--connector", "lc-upc", "--rules", RULES, "--um-per-px", "-2"], "positive number"),
        (["--connector", "lc-upc", "--rules", RULES, "--um-per-px", "abc"], "not a number"),
    ],
)
def test_bad_usage_exits_two_with_a_reason(capsys, images, args, message):
    try:
        code = main(["grade", images["clean"], *args])
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    _, err = capsys.readouterr()
    assert code == 2
    assert message in err


def test_a_malformed_rule_file_is_refused_with_its_key(capsys, images, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        "schema = 1\nname = 'x'\nmax_um_per_px = 'coarse'\n"
        "[[zones]]\nname = 'A'\ninner_diameter_um = 0\nouter_diameter_um = 25\n"
    )
    code, out, err = run(
        capsys, images["clean"], "--connector", "lc-upc", "--rules", str(bad), "--json"
    )
    assert code == 2 and out == ""
    assert str(bad) in err and "max_um_per_px" in err


def test_the_readable_table_names_fibres_and_broken_limits(capsys, images):
    code, out, _ = run(capsys, images["dirty"], *LC_UPC)
    assert code == 1
    assert "FAIL" in out and "zone B (cladding): 1 defect > 5 um" in out


def test_stdout_holds_only_json_even_for_odd_inputs(tmp_path, images):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "qa_station",
            "grade",
            str(empty),
            images["corrupt"],
            images["clean"],
            *LC_UPC,
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    data = json.loads(proc.stdout)
    assert [d["verdict"] for d in data] == ["error", "error", "pass"]
    assert proc.returncode == 2
