"""Colours and words the bench uses everywhere, so a state looks the same on every view.

Pictures of the end face (zones, verdicts, fibre states) take reports' palette, the
one the certificates are drawn with.
"""

from reports import palette

VIEW_BACKGROUND = "#15181c"
TEXT_ON_IMAGE = "#f0f0f0"
ZONE = palette.ZONE
VERDICT = palette.VERDICT
FIBRE_STATE = palette.FIBRE_STATE
FIBRE_STATE_WORDS = palette.FIBRE_STATE_WORDS
INK = "#34495e"  # plain words on a banner
REFUSAL = "#c0392b"
ADVICE = "#d68910"
OK = "#1e8449"
