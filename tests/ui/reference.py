"""Reference-image checks in the spirit of pyqtgraph's: a picture, compared with a tolerance.

``assert_looks_like(image, name)`` compares a grabbed widget with
``tests/ui/reference/<name>.png``. Pixels may differ a little (font hinting,
sensor noise in the simulated frames); the test fails when more than
``max_share`` of them differ by more than ``threshold`` grey levels, and
leaves the picture it got and a difference image next to the test's tmp files.
Set ``QA_UPDATE_REFERENCES=1`` to write new references (then look at them).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6 import QtGui

HERE = Path(__file__).parent / "reference"


def to_array(image: QtGui.QImage) -> np.ndarray:
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return raw[:, : w * 3].reshape(h, w, 3).copy()


def compare(got: np.ndarray, want: np.ndarray, threshold: int) -> tuple[float, np.ndarray]:
    """The share of pixels that differ by more than ``threshold``, and where."""
    if got.shape != want.shape:
        return 1.0, np.ones(got.shape[:2], bool)
    differ = np.abs(got.astype(np.int16) - want.astype(np.int16)).max(axis=2) > threshold
    return float(differ.mean()), differ


def assert_looks_like(
    image: QtGui.QImage,
    name: str,
    out_dir: Path,
    threshold: int = 48,
    max_share: float = 0.0005,
) -> None:
    got = to_array(image)
    ref = HERE / f"{name}.png"
    if os.environ.get("QA_UPDATE_REFERENCES") == "1":
        HERE.mkdir(exist_ok=True)
        image.save(str(ref))
        return
    assert ref.exists(), f"no reference image {ref}: run with QA_UPDATE_REFERENCES=1, look, commit"
    want = to_array(QtGui.QImage(str(ref)))
    share, differ = compare(got, want, threshold)
    if share > max_share:
        out_dir.mkdir(parents=True, exist_ok=True)
        image.save(str(out_dir / f"{name}.got.png"))
        diff = want.copy()
        if differ.shape == diff.shape[:2]:
            diff[differ] = (255, 0, 255)
        QtGui.QImage(
            diff.data,
            diff.shape[1],
            diff.shape[0],
            diff.shape[1] * 3,
            QtGui.QImage.Format.Format_RGB888,
        ).save(str(out_dir / f"{name}.diff.png"))
        raise AssertionError(
            f"{name}: {share:.3%} of pixels differ by more than {threshold} "
            f"(at most {max_share:.3%} may); see {out_dir}"
        )
