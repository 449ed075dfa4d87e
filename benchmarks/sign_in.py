"""How long a refused sign-in takes: a real user with a wrong password against an unknown name.

    python -m benchmarks.sign_in [--tries 15] [--out benchmarks/results/sign_in.json]

Issue 12: a wrong password for a real user took 135 ms and an unknown user 13 ms, so
user names could be found by timing. Both now cost the same scrypt work; this measures
the medians side by side (interleaved, each from a place of its own so no sign-in delay
is reached), and the ratio, which should be close to 1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.figures import write_figures
from qa_station.accounts import Accounts, AuthError
from qa_station.store.store import Store, sqlite_url


def measure(tries: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="qa-sign-in-") as tmp:
        root = Path(tmp)
        store = Store(sqlite_url(root / "s.sqlite3"), root / "images")
        store.migrate()
        accounts = Accounts(store, keys_dir=root / "keys")
        accounts.add("olga", "admin", None, "Olga", "the real password 1")
        times: dict[str, list[float]] = {"known user, wrong password": [], "unknown user": []}
        for i in range(tries):
            for label, user in (("known user, wrong password", "olga"), ("unknown user", "oleg")):
                t0 = time.perf_counter()
                with contextlib.suppress(AuthError):
                    accounts.sign_in(user, "a wrong guess", source=f"bench-{i}-{user}")
                times[label].append((time.perf_counter() - t0) * 1000)
        store.close()
    medians = {k: round(statistics.median(v), 1) for k, v in times.items()}
    ratio = medians["unknown user"] / medians["known user, wrong password"]
    return {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "tries": tries,
        "median_ms": medians,
        "unknown_over_known": round(ratio, 2),
        "before (issue 12)": {"known user, wrong password": 135.0, "unknown user": 13.0},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tries", type=int, default=15)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/sign_in.json"))
    args = ap.parse_args(argv)
    result = measure(args.tries)
    write_figures(args.out, result)
    print(json.dumps(result["median_ms"]), "ratio", result["unknown_over_known"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
