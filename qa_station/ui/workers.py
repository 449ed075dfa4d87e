"""Work off the GUI thread: tasks in a thread pool, and the stream of live frames.

Results come back to the GUI thread through queued signals, so a slot never
runs in a worker. The frame thread hands over a frame only when the view took
the last one: a slow screen drops frames instead of queueing them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6 import QtCore

if TYPE_CHECKING:
    from qa_station.controller import StationController

from hardware.focus import focus_score
from hardware.probes.base import ProbeDisconnected, ProbeError
from qa_station.bench_view import EXPECTED

log = logging.getLogger(__name__)

# What a worker's function is given: a callback for progress, delivered on the GUI thread.
Report = Callable[[Any], None]
# A worker's function: it runs off the GUI thread and its return value goes to ``done``.
Work = Callable[[Report], Any]


class _Signals(QtCore.QObject):
    done = QtCore.Signal(object)
    failed = QtCore.Signal(object)
    progress = QtCore.Signal(object)


class Task(QtCore.QRunnable):
    """``fn(report)`` in the pool; ``report(x)`` sends progress to the GUI thread."""

    def __init__(self, fn: Work, label: str = "") -> None:
        super().__init__()
        self.fn = fn
        self.label = label or getattr(fn, "__qualname__", "a task")
        self.signals = _Signals()
        self.setAutoDelete(False)

    def run(self) -> None:
        try:
            result = self.fn(self.signals.progress.emit)
        except Exception as exc:
            if isinstance(exc, EXPECTED):  # said to the operator; the action logged it
                log.info("%s: %s: %s", self.label, type(exc).__name__, exc)
            else:  # a fault: its whole traceback goes to the log
                log.error("%s: unforeseen fault", self.label, exc_info=exc)
            self.signals.failed.emit(exc)
        else:
            self.signals.done.emit(result)


class Runner(QtCore.QObject):
    """Keeps tasks alive until they finish and counts what is running.

    A task started with a ``label`` ("writing the certificate of ...") is announced
    through ``activity`` while it runs (the newest label, "" when none is left), so
    the window can show progress for anything that takes a noticeable time.
    """

    busy_changed = QtCore.Signal(bool)
    activity = QtCore.Signal(str)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QtCore.QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._tasks: set[Task] = set()
        self._labels: dict[Task, str] = {}
        self.completed = 0  # tasks finished, done or failed (the benchmark counts live grades)

    def start(
        self,
        fn: Callable[[Callable[[Any], None]], Any],
        done: Callable[[Any], None] | None = None,
        failed: Callable[[Exception], None] | None = None,
        progress: Callable[[Any], None] | None = None,
        label: str | None = None,
    ) -> Task:
        task = Task(fn, label or "")
        if done:
            task.signals.done.connect(done)
        if failed:
            task.signals.failed.connect(failed)
        if progress:
            task.signals.progress.connect(progress)
        task.signals.done.connect(lambda _=None, t=task: self._finished(t))
        task.signals.failed.connect(lambda _=None, t=task: self._finished(t))
        self._tasks.add(task)
        if label:
            self._labels[task] = label
            self.activity.emit(label)
        self.busy_changed.emit(True)
        self.pool.start(task)
        return task

    def _finished(self, task: Task) -> None:
        if not shiboken6.isValid(self):  # its window closed while the task ran: nobody to tell
            return
        self._tasks.discard(task)
        self.completed += 1
        if self._labels.pop(task, None) is not None:
            self.activity.emit(self.current_activity)
        self.busy_changed.emit(bool(self._tasks))

    @property
    def current_activity(self) -> str:
        """The label of the newest labelled task still running ("" when none)."""
        return next(reversed(self._labels.values()), "")

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def wait(self, ms: int = 30000) -> bool:
        return self.pool.waitForDone(ms)


class FrameThread(QtCore.QThread):
    """Reads live frames from the controller and offers them to the view."""

    frame = QtCore.Signal(object)  # hardware.probes.base.Frame
    focus = QtCore.Signal(float)
    problem = QtCore.Signal(str)

    def __init__(self, controller: StationController, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._stop = threading.Event()
        self._taken = threading.Event()
        self._taken.set()
        self.paused = threading.Event()

    def taken(self) -> None:
        """The view calls this when it has drawn the frame it was given."""
        self._taken.set()

    def stop(self) -> None:
        self._stop.set()
        self._taken.set()
        self.wait(3000)

    def run(self) -> None:
        n = 0
        reported = False
        faulted = False
        while not self._stop.is_set():
            if self.paused.is_set() or self.controller.session is None:
                self._stop.wait(0.05)
                continue
            try:
                frame = self.controller.live_frame(0.5)
            except ProbeDisconnected as exc:
                if not reported:
                    log.warning("live view: device error: probe unplugged: %s", exc)
                    self.problem.emit(f"probe unplugged: {exc}")
                    reported = True
                self._stop.wait(0.5)
                continue
            except ProbeError as exc:
                if not reported:
                    log.warning("live view: device error: %s", exc)
                    self.problem.emit(str(exc))
                    reported = True
                self._stop.wait(0.3)
                continue
            except Exception as exc:
                if not faulted:  # once, not twice a second
                    log.error("live view stopped: unforeseen fault", exc_info=exc)
                    faulted = True
                self.problem.emit(f"live view stopped: {exc}")
                self._stop.wait(0.5)
                continue
            if frame is None:
                self._stop.wait(0.01)
                continue
            faulted = False
            if reported:
                log.info("live view: frames again")
                self.problem.emit("")
                reported = False
            n += 1
            if n % 8 == 0:
                self.focus.emit(focus_score(frame.image))
            if self._taken.wait(0.2):
                self._taken.clear()
                self.frame.emit(frame)
