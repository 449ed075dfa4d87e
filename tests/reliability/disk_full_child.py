"""One station action run under a file-size limit: what a full disk does to the writer.

``python -m tests.reliability.disk_full_child ACTION PARAMS_JSON`` (from the repository root)
prepares the action, then lowers RLIMIT_FSIZE to ``limit`` bytes with SIGXFSZ ignored, so any
write past that size fails with EFBIG exactly as a full disk fails with ENOSPC, and runs it.
Prints one JSON line: {"ok": true} or {"ok": false, "type", "bases", "message"}.

Only the action runs under the limit: the store, keys and modules are opened and imported
before it, so the fault lands on the write under test and nowhere else.
"""

from __future__ import annotations

import json
import resource
import signal
import sys
from pathlib import Path


def noisy_scan(serial: str, end: str, seed: int):
    """gate_kit's scan of ``end`` with frames of noise (seeded): files no other scan wrote,
    so every frame is a new write; about 3 kB each as PNG."""
    import dataclasses

    import numpy as np

    from tests.qa_station.gate_kit import scan

    result = scan(serial, end)
    rng = np.random.default_rng(seed)
    for n, frame in result.frames.items():
        noise = rng.integers(0, 256, frame.image.shape, dtype=np.uint8)
        result.frames[n] = dataclasses.replace(frame, image=noise)
    return result


def main() -> int:
    action, params = sys.argv[1], json.loads(sys.argv[2])
    from qa_station.accounts import Session
    from qa_station.catalog import load_catalog
    from qa_station.certificates import build_certificate, issue
    from qa_station.gate import Gate
    from qa_station.store import Store

    now = float(params["now"])  # the parent's (fake) clock: its sessions are valid then
    store = Store(params["url"], Path(params["images"]), "bench-t", clock=lambda: now)
    store.ping()  # the database file is open before the limit
    serial = params["serial"]
    if action == "inspect":
        gate = Gate(store, load_catalog())
        frames = noisy_scan(serial, params["end"], int(params["seed"]))
        operator = Session(**params["session"])  # the token the parent's sign-in issued

        def run() -> object:
            return gate.record_inspection(serial, params["end"], frames, operator, "sim-400x")

    elif action == "certificate":
        keys = Path(params["keys"])
        build_certificate(store, serial, None)  # fonts and the renderer loaded, nothing written

        def run() -> object:
            return issue(store, serial, Path(params["out"]), keys_dir=keys)

    else:
        raise SystemExit(f"unknown action {action!r}")

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, EFBIG
    _soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(params["limit"]), hard))
    try:
        run()
    except Exception as exc:  # reported to the test, which judges the type
        outcome = {
            "ok": False,
            "type": type(exc).__name__,
            "bases": [c.__name__ for c in type(exc).__mro__],
            "message": str(exc),
        }
    else:
        outcome = {"ok": True}
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
        store.close()
    print(json.dumps(outcome))  # a pipe: not a file, so not limited
    return 0


if __name__ == "__main__":
    sys.exit(main())
