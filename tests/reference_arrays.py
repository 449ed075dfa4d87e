"""Reference pictures as arrays, in the spirit of pyqtgraph's image tests (no Qt here).

``assert_array_looks_like(rgb, folder, name, out_dir)`` compares an RGB array
with ``<folder>/<name>.png``. Pixels may differ a little (anti-aliasing, font
hinting, sensor noise in simulated frames); the check fails when more than
``max_share`` of them differ by more than ``threshold`` levels, and leaves the
picture it got and a difference image (changed pixels in magenta) in
``out_dir``. ``QA_UPDATE_REFERENCES=1`` writes new references (then look at
them before committing).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np


def compare(got: np.ndarray, want: np.ndarray, threshold: int) -> tuple[float, np.ndarray]:
    """The share of pixels that differ by more than ``threshold``, and where."""
    if got.shape != want.shape:
        return 1.0, np.ones(got.shape[:2], bool)
    differ = np.abs(got.astype(np.int16) - want.astype(np.int16)).max(axis=2) > threshold
    return float(differ.mean()), differ


def _write(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def assert_array_looks_like(
    rgb: np.ndarray,
    folder: Path,
    name: str,
    out_dir: Path,
    threshold: int = 48,
    max_share: float = 0.0005,
) -> None:
    ref = folder / f"{name}.png"
    if os.environ.get("QA_UPDATE_REFERENCES") == "1":
        _write(ref, rgb)
        return
    assert ref.exists(), f"no reference image {ref}: run with QA_UPDATE_REFERENCES=1, look, commit"
    want = cv2.cvtColor(cv2.imread(str(ref), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    share, differ = compare(rgb, want, threshold)
    if share > max_share:
        _write(out_dir / f"{name}.got.png", rgb)
        diff = want.copy()
        if differ.shape == diff.shape[:2]:
            diff[differ] = (255, 0, 255)
        _write(out_dir / f"{name}.diff.png", diff)
        raise AssertionError(
            f"{name}: {share:.3%} of pixels differ by more than {threshold} "
            f"(at most {max_share:.3%} may); see {out_dir}"
        )
