"""Warm-up task shared by pool backends whose workers start one per submitted task."""

from __future__ import annotations

import importlib
import os
import threading
import time


def hold_worker(module: str, hold_s: float) -> tuple[int, int]:
    """Import the workload's module and hold this worker briefly, so that the pool, which
    starts a worker per submit while none is idle, starts all of them.

    Returns (process id, thread id): distinct pairs count the distinct workers.
    """
    importlib.import_module(module)
    time.sleep(hold_s)
    return os.getpid(), threading.get_ident()
