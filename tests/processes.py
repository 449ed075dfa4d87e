"""Child processes that start in step: each prints "ready", then all are told "go" at once.

Concurrency tests need their writers to race for real, not one after the other: a
process that imports and connects first would otherwise finish before the next began.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest


@contextmanager
def started_together(
    argvs: Sequence[Sequence[str]], what: str, **popen: Any
) -> Iterator[list[subprocess.Popen[str]]]:
    """Start one process per argv, wait until each is ready, then let them all go.

    Any still running when the block ends (a failed assertion) is killed.
    """
    procs = [
        subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **popen,
        )
        for argv in argvs
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline().strip()
            if line != "ready":
                pytest.fail(f"a {what} process did not start: {line!r} {p.communicate()[1]}")
        for p in procs:  # all go at once
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def all_done(procs: Sequence[subprocess.Popen[str]], timeout: float) -> None:
    """Each process exits 0 having printed "done"."""
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        assert p.returncode == 0, err
        assert out.strip() == "done"


def python_child_succeeds(code: str) -> None:
    """``code`` run by a fresh interpreter (nothing imported yet) exits 0."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def imports_load_none_of(imports: str, packages: Sequence[str]) -> None:
    """In a fresh interpreter, ``imports`` loads no module of ``packages`` (top-level names)."""
    python_child_succeeds(
        f"import sys\n{imports}\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {tuple(packages)!r}]\n"
        "print(bad); sys.exit(1 if bad else 0)"
    )
