"""Colours and words the bench uses everywhere, so a state looks the same on every view."""

VIEW_BACKGROUND = "#15181c"
TEXT_ON_IMAGE = "#f0f0f0"
ZONE = "#4fc3f7"
VERDICT = {"pass": "#2ecc71", "fail": "#ff4d4d", "error": "#ffa726"}
FIBRE_STATE = {
    "new": "#7f8c8d",
    "pass": "#27ae60",
    "fail": "#e74c3c",
    "error": "#f39c12",
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
REFUSAL = "#c0392b"
ADVICE = "#d68910"
OK = "#1e8449"
