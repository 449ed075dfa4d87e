"""The real-frame benchmark, run on rendered frames whose labels are their exact truth.

The real frames cannot be in the repository, so the benchmark's matching,
measuring and summing are checked on frames the renderer made: a classic view
today's grader locates (its errors must come out near zero, which a mix-up of
axes, scales or units would not give), a dark-fibre view, and a file that has
no label.
"""

from __future__ import annotations

import hashlib
import json

import cv2
import pytest

from benchmarks.real_frames.run import label_extent, main
from grading.geometry import connector
from hardware.optics.render import render
from hardware.optics.scene import View, scene_from_layout


def _label(path, frame, call: str) -> dict:
    f = frame.truth.fibers[0]
    return {
        "folder": "synthetic",
        "name": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "size_px": [frame.truth.width_px, frame.truth.height_px],
        "whole_fibre": True,
        "fiber": "sm",
        "cladding": {
            "center_px": list(f.center_px),
            "diameter_px": f.diameter_px,
            "axes_px": [f.diameter_px, f.diameter_px_y],
            "angle_deg": 0.0,
        },
        "core": {"diameter_px": f.core_diameter_um / frame.truth.um_per_px},
        "call": call,
        "notes": "",
    }


def test_the_benchmark_measures_rendered_frames_against_their_truth(tmp_path, capsys):
    folder = tmp_path / "frames"
    folder.mkdir()
    labels = []
    for name, look in (("classic.png", "classic"), ("dark.png", "zirconia-dark")):
        frame = render(
            scene_from_layout(connector("lc-upc"), "sm", texture_seed=4),
            View(appearance=look, center_um=(6.0, -4.0), um_per_px=0.3125),
            seed=2,
        )
        cv2.imwrite(str(folder / name), frame.image)
        labels.append(_label(folder / name, frame, "clean"))
    (folder / "notes.txt").write_text("not a frame")
    doc = {"schema": 1, "assumed_cladding_um": 125.0, "frames": labels}
    (tmp_path / "labels.json").write_text(json.dumps(doc))
    out = tmp_path / "out.json"
    code = main([str(folder), "--labels", str(tmp_path / "labels.json"), "--out", str(out)])
    assert code == 0
    figures = json.loads(out.read_text())["estimated"]
    assert figures["unlabelled_files"] == 1
    everything = figures["all"]
    assert everything["frames"] == 2 and everything["decode_rate"] == 1.0
    assert set(figures["by_folder"]) == {"synthetic"}
    classic = next(r for r in figures["frames"] if r["name"] == "classic.png")
    assert classic["found"] and classic["fibre_verdict"] == "pass"
    assert classic["centre_error_um"] < 0.3
    assert classic["diameter_error"] < 0.005
    assert classic["scale_error"] < 0.005
    assert classic["on_ferrule"] == 0
    assert everything["found"] >= 1 and everything["dirty_calls_graded_pass"] == 0
    assert "synthetic" in capsys.readouterr().out


def test_a_labels_file_of_another_shape_is_refused(tmp_path, capsys):
    (tmp_path / "labels.json").write_text(json.dumps({"frames": []}))
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path), "--labels", str(tmp_path / "labels.json")])
    assert exc.value.code == 2
    assert "not a labels file of schema 1" in capsys.readouterr().err


def test_a_labelled_ellipse_spans_its_axes_along_x_and_y():
    lab = {"cladding": {"axes_px": [110.0, 100.0], "angle_deg": 90.0}}
    assert label_extent(lab) == pytest.approx((100.0, 110.0))
    lab["cladding"]["angle_deg"] = 0.0
    assert label_extent(lab) == pytest.approx((110.0, 100.0))
