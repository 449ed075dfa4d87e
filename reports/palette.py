"""One palette for every picture of an end face: the bench window and the PDFs share it.

Zone circles, verdict colours and the fibre states of the map are defined
here once. ``reports`` draws with them (OpenCV, RGB tuples); the window's
``qa_station/ui/theme.py`` takes the same hex strings for Qt. The colours are
mid-tones that read on the dark live view and on white paper alike.
"""

from __future__ import annotations

ZONE = "#4fc3f7"  # zone circles: a cyan no verdict uses
VERDICT = {"pass": "#27ae60", "fail": "#e74c3c", "error": "#f39c12"}
UNKNOWN = "#95a5a6"  # not inspected
FIBRE_STATE = {
    "new": UNKNOWN,
    "pass": VERDICT["pass"],
    "fail": VERDICT["fail"],
    "error": VERDICT["error"],
    "cleaned": "#3498db",
    "escalated": "#8e44ad",
    "connected": "#16a085",
}
FIBRE_STATE_WORDS = {
    "new": "not inspected",
    "pass": "pass",
    "fail": "fail",
    "error": "not judged",
    "cleaned": "cleaned, to inspect again",
    "escalated": "escalated",
    "connected": "released",
}


def rgb(colour: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` as an (r, g, b) tuple."""
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
