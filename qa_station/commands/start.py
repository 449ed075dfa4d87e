"""``qa-station`` with no command: start the station on the simulated bench.

Until the bench GUI lands this is a headless tour: it renders a few end faces
on the simulated probe's optics, writes them under the station's data folder,
grades each against the rule set its connector calls for, and prints the result.
"""

from __future__ import annotations

import argparse
import sys

import cv2

from grading import grade
from grading.geometry import connector
from hardware.optics.render import render
from hardware.optics.scene import Feature, View, scene_from_layout
from qa_station.commands.grade import exit_status, format_result
from qa_station.paths import ensure_dir, station_paths

TOUR = [
    ("clean-lc-upc", "lc-upc", "iec-61300-3-35-ed2/sm-pc", "sm", ()),
    (
        "dusty-lc-upc",
        "lc-upc",
        "iec-61300-3-35-ed2/sm-pc",
        "sm",
        (
            Feature("particle", (18.0, -30.0), 3.5, -0.5, seed=1),
            Feature("particle", (-25.0, 20.0), 7.0, -0.55, seed=2),
            Feature("residue", (-80.0, 50.0), 25.0, -0.15, seed=3),
        ),
    ),
    (
        "scratched-mpo12-fibre-5",
        "mpo12",
        "iec-61300-3-35-ed2/sm-apc",
        "sm",
        (Feature("scratch", (-375.0, 10.0), 4.0, -0.3, length_um=70.0, angle_deg=25.0, seed=4),),
    ),
]


def run(args: argparse.Namespace) -> int:
    folder = ensure_dir(station_paths().data_dir / "tour")
    results = []
    for name, conn, rules, fiber, features in TOUR:
        geometry = connector(conn)
        scene = scene_from_layout(geometry, fiber, features, texture_seed=7)
        centre = geometry.fiber_positions_um[4] if geometry.is_multi_fiber else (0.0, 0.0)
        frame = render(scene, View(center_um=centre, light_gradient=0.2), seed=1)
        path = folder / f"{name}.png"
        cv2.imwrite(str(path), frame.image)
        result = grade(str(path), connector=conn, rules=rules, um_per_px=frame.truth.um_per_px)
        results.append(result)
        sys.stdout.write(format_result(result))
    print(f"Rendered end faces are in {folder}; grade your own with `qa-station grade --help`.")
    return 0 if exit_status(results) in (0, 1) else 2
