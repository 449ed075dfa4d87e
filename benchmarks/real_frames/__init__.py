"""Real scope frames against hand-checked labels (``labels.json``, ``README.md``).

    python -m benchmarks.real_frames FOLDER [FOLDER ...] [--labels FILE] [--out FILE]

The frames themselves are not in the repository (they carry no licence); the
labels hold no pixels, only measurements and calls, matched to files by the
sha256 of their bytes.
"""
