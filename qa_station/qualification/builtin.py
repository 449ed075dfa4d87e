"""The built-in reference set: about 60 rendered faces with exact truth, shipped as data.

``builtin/reference.toml`` is a labels file like a factory's, written once by
``python -m benchmarks.reference_set`` and versioned with the package. Each
face carries its truth (verdict, every defect's zone and size, computed from
the scene's exact geometry when the set was made, so a later change to the
grader cannot move it) and, instead of an image, the recipe the renderer
draws it from. Frames are rendered when the set is used: 60 PNGs would weigh
16 MB in the repository, and drawing them takes a second or two. Each recipe
records the sha256 of the frame as the set was made, so a renderer that now
draws a pixel differently is reported, and the set's sha256 on the record
covers the labels file and every frame actually graded.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import TypedDict

import numpy as np

from grading.geometry import connector
from hardware.optics.looks import look
from hardware.optics.render import render
from hardware.optics.scene import Feature, Scene, View, scene_from_layout
from qa_station.qualification.labels import Face, Recipe, ReferenceSet, parse_labels

PACKAGE = "qa_station.qualification"
FILE = "builtin/reference.toml"


class ProbeLighting(TypedDict):
    """How the simulated probe lights the face (``View`` fields)."""

    light_gradient: float
    light_angle_deg: float
    vignetting: float


SIMULATED_PROBE_VIEW: ProbeLighting = {
    "light_gradient": 0.12,
    "light_angle_deg": 35.0,
    "vignetting": 0.12,
}


def builtin_labels() -> bytes:
    return resources.files(PACKAGE).joinpath(FILE).read_bytes()


def load_builtin() -> ReferenceSet:
    data = builtin_labels()
    return parse_labels(data, Path(f"built-in:{FILE}"), source="built-in")


def face_scene(recipe: Recipe, connector_name: str) -> tuple[Scene, View]:
    """The scene of a face and the simulated probe's view of it, as its recipe says.

    Both the frame (``render_face``) and the set's exact truth (``benchmarks.reference_set``)
    come from this one scene and view.
    """
    geometry = connector(connector_name)
    fx, fy = geometry.fiber_positions_um[recipe.target - 1]
    features = tuple(
        Feature(
            f.kind,
            (fx + f.at_um[0], fy + f.at_um[1]),
            f.size_um,
            contrast=f.contrast,
            length_um=f.length_um,
            angle_deg=f.angle_deg,
            seed=f.seed,
            loose=f.kind in ("particle", "residue"),
        )
        for f in recipe.features
    )
    scene = scene_from_layout(geometry, recipe.fibre, features, texture_seed=recipe.texture_seed)
    view = View(
        center_um=(fx + recipe.offset_um[0], fy + recipe.offset_um[1]),
        um_per_px=recipe.um_per_px,
        width_px=recipe.size_px[0],
        height_px=recipe.size_px[1],
        blur_um=recipe.blur_um,
        noise=recipe.noise,
        appearance=look(recipe.look),
        **SIMULATED_PROBE_VIEW,
    )
    return scene, view


def render_face(recipe: Recipe, connector_name: str) -> np.ndarray:
    """The face's frame as the simulated 400x probe shows it (uint8 grey)."""
    scene, view = face_scene(recipe, connector_name)
    return render(scene, view, seed=recipe.noise_seed).image


def frame_sha256(image: np.ndarray) -> str:
    """A frame's identity: its pixels and their shape (not a file's bytes)."""
    h = hashlib.sha256(f"{image.dtype.str}:{'x'.join(map(str, image.shape))}:".encode())
    h.update(np.ascontiguousarray(image).tobytes())
    return h.hexdigest()


def face_frame(face: Face) -> np.ndarray:
    if face.recipe is None:
        raise ValueError(f"face {face.id} has no render recipe")
    return render_face(face.recipe, face.connector)


def export_builtin(folder: Path) -> Path:
    """The built-in set as a factory's folder: PNG frames and ``labels.toml`` (to look at,
    to qualify with ``--set``, or to start a set of one's own from)."""
    import cv2

    from qa_station.paths import write_whole
    from qa_station.qualification.labels import LABELS_FILE, render_labels

    rs = load_builtin()
    folder.mkdir(parents=True, exist_ok=True)
    names = {}
    for face in rs.faces:
        ok, buf = cv2.imencode(".png", face_frame(face))
        if not ok:
            raise OSError(f"cannot encode the frame of {face.id}")
        names[face.id] = f"{face.id}.png"
        write_whole(folder / names[face.id], buf.tobytes(), 0o644)
    text = render_labels(
        rs.name,
        rs.faces,
        images=names,
        header=("The built-in reference set, exported as a folder (qa-station qualify export).",),
        focus_check=False,
    )
    write_whole(folder / LABELS_FILE, text.encode("utf-8"), 0o644)
    return folder / LABELS_FILE
