"""The task runner outlives nothing: a task that ends after its window is gone is dropped."""

from __future__ import annotations

import threading

import shiboken6

from qa_station.ui.workers import Runner


def test_a_task_finishing_after_its_runner_was_deleted_raises_nothing(qtbot):
    release = threading.Event()
    started = threading.Event()
    runner = Runner()
    pool = runner.pool
    seen: list[object] = []

    def work(report):
        started.set()
        release.wait(10)
        return "late"

    runner.start(work, done=seen.append)
    assert started.wait(10)
    pool.setParent(None)  # keep the pool (and its thread) alive past the runner
    shiboken6.delete(runner)  # the window closed while the task ran
    release.set()
    assert pool.waitForDone(10000)
    qtbot.wait(50)  # deliver the queued "done": pytest-qt fails the test on a raised slot
    assert seen == ["late"]
