"""``qa-station grade``: grade images without the GUI (DESIGN.md section 5).

Exit status: 0 when every image passes, 1 when any fails, 2 on bad usage or
when any input could not be judged (unreadable, too coarse, out of focus...).
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from datafiles import shown
from grading import GradingUsageError, grade
from grading.geometry import CONNECTORS
from grading.grade import resolve
from grading.results import ERROR, FAIL, EndFaceResult

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


DESCRIPTION = (
    "Grade end-face images. With --json, stdout is one JSON list, one object "
    "per image. Exit 0: all pass; 1: any fail; 2: bad usage or an input that "
    "could not be judged."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, TIFF, BMP)")
    p.add_argument(
        "--connector",
        required=True,
        choices=sorted(CONNECTORS),
        metavar="TYPE",
        help="connector type: " + ", ".join(CONNECTORS),
    )
    p.add_argument(
        "--rules",
        required=True,
        metavar="RULES",
        help="built-in rule set (e.g. iec-61300-3-35-ed2/sm-pc) or a TOML rule file",
    )
    p.add_argument(
        "--um-per-px",
        type=_positive_float,
        metavar="X",
        help="image scale; estimated from the 125 um cladding when omitted",
    )
    p.add_argument(
        "--um-per-px-y",
        type=_positive_float,
        metavar="Y",
        help="vertical scale, when the pixels are not square (analog video); needs --um-per-px",
    )
    p.add_argument("--json", action="store_true", help="print one JSON list on stdout")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(
            f"must be a positive number of micrometres per pixel: {text}"
        )
    return value


def run(args: argparse.Namespace) -> int:
    quiet_decoders()
    try:
        geometry, ruleset = resolve(args.connector, args.rules)
    except GradingUsageError as exc:
        print(f"qa-station grade: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.um_per_px_y is not None and args.um_per_px is None:
        print("qa-station grade: error: --um-per-px-y needs --um-per-px", file=sys.stderr)
        return EXIT_USAGE
    scale = args.um_per_px if args.um_per_px_y is None else (args.um_per_px, args.um_per_px_y)
    results = [
        grade(path, connector=geometry.name, rules=ruleset, um_per_px=scale, image_name=path)
        for path in args.images
    ]
    if args.json:
        json.dump([r.to_dict() for r in results], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for r in results:
            sys.stdout.write(format_result(r))
    for r in results:  # stdout keeps its form; each image that could not be judged, on stderr
        if r.verdict == ERROR:
            print(f"qa-station grade: error: {shown(str(r.image))}: {r.error}", file=sys.stderr)
    return exit_status(results)


def quiet_decoders() -> None:
    """Keep OpenCV's own log lines (C++ file names, internal asserts) off the terminal:
    every image it cannot decode is already reported, in words, as that image's error."""
    try:
        from cv2.utils import logging as cv_logging

        cv_logging.setLogLevel(cv_logging.LOG_LEVEL_SILENT)
    except (ImportError, AttributeError):  # pragma: no cover - an OpenCV without it
        pass


def exit_status(results: list[EndFaceResult]) -> int:
    if any(r.verdict == ERROR for r in results):
        return EXIT_USAGE
    if any(r.verdict == FAIL for r in results):
        return EXIT_FAIL
    return EXIT_PASS


def format_result(r: EndFaceResult) -> str:
    """A readable block per image: verdict, scale, then one line per fibre."""
    lines = [f"{shown(str(r.image))}: {r.verdict.upper()}"]  # a file name may hold a line break
    if r.um_per_px and r.scale_source:
        scale = f"{r.um_per_px:.4g} um/px"
        if r.um_per_px_y:
            scale = f"{r.um_per_px:.4g} x {r.um_per_px_y:.4g} um/px"
        lines[0] += f"  ({r.connector}, {r.rules}, {scale} {r.scale_source})"
    else:
        lines[0] += f"  ({r.connector}, {r.rules})"
    if r.error and not r.fibers:
        lines.append(f"  {r.error}")
    if r.fibers:
        lines.append(
            f"  {'fibre':>5}  {'centre px':>15}  {'verdict':7}  {'defects':>7}  {'scratches':>9}"
        )
        for f in r.fibers:
            n_def = sum(1 for d in f.defects if d.kind == "defect")
            n_scr = sum(1 for d in f.defects if d.kind == "scratch")
            centre = f"{f.center_px[0]:.1f}, {f.center_px[1]:.1f}"
            lines.append(f"  {f.index:>5}  {centre:>15}  {f.verdict:7}  {n_def:>7}  {n_scr:>9}")
            if any(share < 1.0 for share in f.coverage.values()):
                shares = ", ".join(f"{z} {math.floor(v * 100)}%" for z, v in f.coverage.items())
                lines.append(f"  {'':>5}  zones in view: {shares}")
            for why in f.failures:
                lines.append(f"  {'':>5}  {why}")
            if f.error and f.error != r.error:
                lines.append(f"  {'':>5}  {f.error}")
        if r.error:
            lines.append(f"  {r.error}")
    return "\n".join(lines) + "\n\n"
