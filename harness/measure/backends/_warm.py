"""Worker-side helpers for pool backends whose workers are other processes or
interpreters: the warm-up task, and the batch's task installed once per worker."""

from __future__ import annotations

import importlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any

_installed: Callable[[int], Any] | None = None


def install_task(call: Callable[[int], Any]) -> None:
    """Pool initializer: keep the batch's task in this worker, so that each submitted
    task pickles only a reference to ``run_installed`` and an index, as a raw pool would,
    not the task's function and arguments every time."""
    global _installed  # noqa: PLW0603 - one task per worker process, set once at start
    _installed = call


def run_installed(index: int) -> Any:
    """Run task ``index`` of the batch installed by ``install_task``."""
    assert _installed is not None, "the pool was created without install_task"
    return _installed(index)


def hold_worker(module: str, hold_s: float) -> tuple[int, int]:
    """Import the workload's module and hold this worker briefly, so that the pool, which
    starts a worker per submit while none is idle, starts all of them.

    Returns (process id, thread id): distinct pairs count the distinct workers.
    """
    importlib.import_module(module)
    time.sleep(hold_s)
    return os.getpid(), threading.get_ident()
