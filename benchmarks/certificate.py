"""Time and size of the acceptance certificate of an MPO-24 two-end assembly.

    python -m benchmarks.certificate [--repeat 7] [--out benchmarks/results/certificate.json]

Targets (issue 6): the certificate of an MPO-24 trunk (two ends, 48 fibres, each
with its picture and overlay, two ferrule overviews and fibre maps) builds and is
signed in <= 1 s and weighs <= 3 MB.

One simulated MPO-24 trunk (``trunk-mpo24-mm``, scenario clean) is run through
the gate by the demo in a throwaway station home. The time measured is the whole
certificate from the record: reading the record and the 50 lossless frames from
the store, drawing the overlays, laying out the PDF, embedding the data and
signing it (``build_certificate`` + ``render_signed``), median of ``--repeat``
runs after one warm-up (the first run, with font loading, is reported too). The
builder draws pictures on up to four threads; the machine's core count is
recorded, and the same figure on one core is reported for comparison.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.figures import repeat_parser, write_figures

TARGETS = {"build_and_sign_s": 1.0, "size_mb": 3.0}


def _timed(fn, repeat: int) -> tuple[float, list[float]]:
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return first, times


def main(argv: list[str] | None = None) -> int:
    args = repeat_parser(__doc__, "certificate", repeat=7).parse_args(argv)
    with tempfile.TemporaryDirectory() as home:
        os.environ["QA_STATION_HOME"] = home
        from qa_station.catalog import load_catalog
        from qa_station.certificates import build_certificate, issue, render_signed
        from qa_station.config import load_config
        from qa_station.demo import run_demo
        from qa_station.store.store import open_store

        config = load_config()
        store = open_store(config)
        try:
            summary = run_demo(
                store, load_catalog(), config, 1, product_id="trunk-mpo24-mm", scenario="clean"
            )
            if summary.accepted != 1:
                raise SystemExit("the simulated MPO-24 trunk was not accepted: nothing to certify")
            serial = summary.serials[0]
            sizes: list[int] = []

            def build() -> None:
                cert = build_certificate(store, serial, config)
                sizes.append(len(render_signed(cert)))

            first, times = _timed(build, args.repeat)
            cores = (
                len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
            )
            one_core_times: list[float] = []
            if hasattr(os, "sched_setaffinity"):
                mask = os.sched_getaffinity(0)
                os.sched_setaffinity(0, {sorted(mask)[0]})
                try:
                    _, one_core_times = _timed(build, max(3, args.repeat // 2))
                finally:
                    os.sched_setaffinity(0, mask)
            t0 = time.perf_counter()
            path = issue(store, serial, Path(home) / "certificates", config)
            issue_s = time.perf_counter() - t0
            size = path.stat().st_size
        finally:
            store.close()
    median = float(np.median(times))
    out = {
        "machine": platform.platform(),
        "cores": cores,
        "assembly": {"product": "trunk-mpo24-mm", "ends": 2, "fibres": 48, "serial": serial},
        "build_and_sign_s": {
            "median": median,
            "max": float(np.max(times)),
            "first_run": first,
            "runs": args.repeat,
            "one_core_median": float(np.median(one_core_times)) if one_core_times else None,
        },
        "issue_s": issue_s,
        "size_bytes": size,
        "figures": {"build_and_sign_s": median, "size_mb": size / 1e6},
        "targets": TARGETS,
    }
    out["met"] = {
        "build_and_sign_s": median <= TARGETS["build_and_sign_s"],
        "size_mb": size / 1e6 <= TARGETS["size_mb"],
    }
    write_figures(args.out, out)
    print(json.dumps(out, indent=2))
    return 0 if all(out["met"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
