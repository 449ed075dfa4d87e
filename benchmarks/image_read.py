"""Speed of reading frame files, on one core: the station's reader against the alternative.

    python -m benchmarks.image_read [--repeat 100] [--out benchmarks/results/image_read.json]

The station reads files with Pillow (``hardware/imagefile.py``): a lazy open reads
the header, the pixel limit is checked, then Pillow decodes (a colour JPEG straight
to its luma), which is what tells a file cut short from a whole one. The alternative
would validate with Pillow and decode with OpenCV, which fills a cut file with grey
(or, depending on its version, refuses it while its libraries print to stderr).
Both end in the same grey frame.
Both are timed here on a rendered 1280x960 8-bit PNG (grey and colour) and a
720x576 JPEG (plain and padded to 64 KB blocks, as capture software writes it).
The readers and a reference (a 5x5 Gaussian blur plus Otsu threshold of the
1280x960 frame) run in turn, round after round, so other work on the machine
slows them alike; each time comes with its ratio to the reference.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import io  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import PIL  # noqa: E402
from PIL import Image  # noqa: E402

from benchmarks.figures import write_figures  # noqa: E402
from benchmarks.speed import one_core  # noqa: E402
from hardware.imagefile import MAX_PIXELS, decode_frame_file  # noqa: E402
from hardware.optics.render import render  # noqa: E402
from hardware.optics.scene import View, scene_from_layout  # noqa: E402


def frames() -> dict[str, bytes]:
    from grading.geometry import connector

    grey = render(scene_from_layout(connector("lc-upc"), "sm", (), 7), View(), seed=1).image
    small = cv2.resize(grey, (720, 576), interpolation=cv2.INTER_AREA)
    jpeg = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_GRAY2BGR))[1].tobytes()
    return {
        "png_1280x960_grey": cv2.imencode(".png", grey)[1].tobytes(),
        "png_1280x960_colour": cv2.imencode(".png", cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))[
            1
        ].tobytes(),
        "jpeg_720x576": jpeg,
        "jpeg_720x576_padded_64k": jpeg + b"\0" * (-len(jpeg) % 65536),
    }


def pillow_checks_opencv_decodes(data: bytes) -> np.ndarray:
    """The alternative: header and pixel limit from Pillow, pixels from OpenCV, brought
    to the same grey frame of the file's depth the station's reader gives."""
    with Image.open(io.BytesIO(data)) as im:
        w, h = im.size
        if w * h > MAX_PIXELS:
            raise ValueError("too large")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2GRAY if img.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
    return img


def reference(img: np.ndarray) -> None:
    cv2.threshold(cv2.GaussianBlur(img, (5, 5), 0), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)


def interleaved(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, dict]:
    """Time each function once a round, in turn, so a machine busy with other work slows
    them all alike (this machine is shared); the order alternates between rounds."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()  # warm caches and lazy imports
    names = list(fns)
    for k in range(repeat):
        for name in names if k % 2 == 0 else reversed(names):
            t0 = time.perf_counter()
            fns[name]()
            times[name].append((time.perf_counter() - t0) * 1000.0)
    return {
        name: {
            "median_ms": float(np.median(t)),
            "p90_ms": float(np.percentile(t, 90)),
            "min_ms": float(np.min(t)),
            "runs": repeat,
        }
        for name, t in times.items()
    }


def run(repeat: int) -> dict:
    one_core()
    files = frames()
    ref_img = cv2.imdecode(np.frombuffer(files["png_1280x960_grey"], np.uint8), 0)
    out: dict = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "pillow": PIL.__version__,
        "opencv": cv2.__version__,
        "cases": {},
    }
    refs = []
    for name, data in files.items():
        got = interleaved(
            {
                "station_reader_pillow": lambda data=data: decode_frame_file(data),
                "pillow_header_opencv_decode": lambda data=data: pillow_checks_opencv_decodes(data),
                "reference": lambda: reference(ref_img),
            },
            repeat,
        )
        ref = got.pop("reference")
        refs.append(ref["median_ms"])
        for how, t in got.items():
            t["ratio_to_reference"] = t["median_ms"] / ref["median_ms"]
            out["cases"][f"{name}/{how}"] = t
    out["reference_blur_otsu_1280x960_median_ms"] = float(np.median(refs))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=100)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/image_read.json"))
    args = ap.parse_args()
    result = run(args.repeat)
    write_figures(args.out, result)
    for name, t in result["cases"].items():
        print(
            f"{name:52s} {t['median_ms']:6.2f} ms median {t['min_ms']:6.2f} min "
            f"x{t['ratio_to_reference']:.2f}"
        )
    ref = result["reference_blur_otsu_1280x960_median_ms"]
    print(f"reference (blur + Otsu, 1280x960): {ref:.2f} ms median")


if __name__ == "__main__":
    main()
