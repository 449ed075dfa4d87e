"""Reference-image checks per widget, as pyqtgraph's own tests do: a widget drawn at a fixed
size, compared with ``tests/ui/reference/<name>.png`` with a tolerance.

Each reference is one widget, not the window, so a font change breaks the
pictures of the widgets that show text in that font and no others. The live
view is drawn through its scene into a fixed-size image (``view_picture``),
whatever size the window gave it. The comparison itself is
``tests/reference_arrays.py`` (``QA_UPDATE_REFERENCES=1`` writes new ones).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui

from tests.reference_arrays import assert_array_looks_like, compare

HERE = Path(__file__).parent / "reference"
VIEW_SIZE = (640, 480)
__all__ = ["HERE", "assert_looks_like", "compare", "to_array", "view_picture"]


def to_array(image: QtGui.QImage) -> np.ndarray:
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return raw[:, : w * 3].reshape(h, w, 3).copy()


def view_picture(view, size: tuple[int, int] = VIEW_SIZE) -> QtGui.QImage:
    """The live view's picture (the frame and everything drawn on it) at a fixed size."""
    image = QtGui.QImage(*size, QtGui.QImage.Format.Format_RGB32)
    image.fill(QtGui.QColor("#000000"))
    painter = QtGui.QPainter(image)
    try:
        source = view.image.sceneBoundingRect()
        view.scene().render(
            painter,
            QtCore.QRectF(0, 0, *size),
            source,
            QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
        )
    finally:
        painter.end()
    return image


def assert_looks_like(
    image: QtGui.QImage,
    name: str,
    out_dir: Path,
    threshold: int = 48,
    max_share: float = 0.0005,
) -> None:
    assert_array_looks_like(to_array(image), HERE, name, out_dir, threshold, max_share)
