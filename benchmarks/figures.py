"""Where a benchmark's figures go: a JSON file under benchmarks/results (or ``--out``)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path("benchmarks/results")


def write_figures(
    path: Path, figures: Any, indent: int = 2, default: Callable[[Any], Any] | None = None
) -> None:
    """Write ``figures`` as JSON ending in a newline, making the folder first.

    Every benchmark keeps its last run this way, so runs compare by file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(figures, indent=indent, default=default) + "\n"
    path.write_text(text, encoding="utf-8")


def repeat_parser(doc: str | None, name: str, repeat: int) -> argparse.ArgumentParser:
    """The command line of a benchmark that times a thing ``--repeat`` times (default
    ``repeat``) and writes its figures to ``--out`` (default benchmarks/results/NAME.json)."""
    ap = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeat", type=int, default=repeat)
    ap.add_argument("--out", type=Path, default=RESULTS / f"{name}.json")
    return ap
