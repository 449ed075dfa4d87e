"""Driver tests as lists of (command, reply) pairs, replayed through the serial line.

After PyMeasure's ``expected_protocol``: the driver under test gets a port (through its
``serial_factory``, so it runs on the real ``hardware.serial_line.SerialLine``) that checks
every line written against the next expected command and hands back that pair's reply.
``(None, reply)`` is data that arrives unasked (a scan), one pair per arrival; a reply of
``None`` is silence. Leaving the block with pairs unused fails the test, as does a command
the script did not expect. Timing and unplugging stay with the pseudo-terminal tests.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

Pair = tuple[bytes | None, bytes | None]
D = TypeVar("D")
_IDLE_S = 0.002  # how long an empty read takes (a real port waits one poll)


class ReplayPort:
    """The pyserial calls a SerialLine makes, answered from the script."""

    def __init__(self, pairs: Sequence[Pair]) -> None:
        self.pending: deque[Pair] = deque(pairs)
        self.incoming = bytearray()
        self.written = bytearray()

    @property
    def in_waiting(self) -> int:
        if not self.incoming and self.pending and self.pending[0][0] is None:
            self.incoming += self.pending.popleft()[1] or b""
        return len(self.incoming)

    def read(self, size: int = 1) -> bytes:
        if not self.in_waiting:
            time.sleep(_IDLE_S)
            return b""
        out = bytes(self.incoming[:size])
        del self.incoming[:size]
        return out

    def write(self, data: bytes) -> int:
        self.written += data
        while b"\n" in self.written:
            end = self.written.index(b"\n") + 1
            line = bytes(self.written[:end])
            del self.written[:end]
            assert self.pending, f"the driver sent {line!r} after the script ended"
            command, reply = self.pending.popleft()
            assert line == command, f"the driver sent {line!r}; the script expected {command!r}"
            self.incoming += reply or b""
        return len(data)

    def reset_input_buffer(self) -> None:
        self.incoming.clear()

    def close(self) -> None:
        pass


@contextmanager
def expected_protocol(
    driver: Callable[..., D], pairs: Sequence[Pair], **settings: Any
) -> Iterator[D]:
    """An opened ``driver("replay", ...)`` whose port replays ``pairs``; closed after."""
    port = ReplayPort(pairs)
    device: Any = driver("replay", serial_factory=lambda *a, **k: port, **settings)
    device.open()
    try:
        yield device
    finally:
        device.close()
    assert not port.pending, f"the driver never got to {list(port.pending)}"
