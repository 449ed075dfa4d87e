"""Where a benchmark's figures go: a JSON file under benchmarks/results (or ``--out``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_figures(
    path: Path, figures: Any, indent: int = 2, default: Callable[[Any], Any] | None = None
) -> None:
    """Write ``figures`` as JSON ending in a newline, making the folder first.

    Every benchmark keeps its last run this way, so runs compare by file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(figures, indent=indent, default=default) + "\n"
    path.write_text(text, encoding="utf-8")
