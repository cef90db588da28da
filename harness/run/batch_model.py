"""A model of a pool batch, to plan tasks per worker past the machine at hand.

A pool hands ``tasks`` identical tasks to ``workers`` workers from one queue; each
worker takes the next task when it finishes one.  Three things keep its efficiency
(the work done over ``workers`` times the batch's span) below 1:

- **the tail**: once the queue is empty, workers that finish stay idle while the last
  tasks run.  With one task per worker and task times that vary, every worker but the
  slowest idles; with many tasks per worker the idle end is a small share.
- **task-time spread** (``spread``: the standard deviation of a task's time over its
  mean): tasks that take different times, or CPUs that run at different speeds (a VM's
  vCPUs), make the tail longer.
- **dispatch** (``dispatch``: the parent's cost to hand out one task, over a task's
  mean time): the parent hands tasks out one at a time, so no task starts before the
  ones before it were handed out; with many workers and short tasks that, not the
  tail, is the limit.
- **wake-up** (``wake``: the time from a batch's start until its workers run, over a
  task's mean time): a pool's idle workers are woken for every batch, which on a VM can
  take a millisecond or more; a batch of few tasks per worker pays it in full.

:func:`simulate` draws batches (task times lognormal with mean 1 and the given spread)
and schedules them greedily, as an executor does; :func:`efficiency_table` gives the
table in docs/method.md ("Tasks per worker"), which sets the profiles' tasks per worker
(gilbench.run.profiles) and is checked against 2-core measurements there.  Run it as
``python -m gilbench.run.batch_model``.
"""

from __future__ import annotations

import argparse
import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Worker counts the table plans for: this machine's, a workstation's, servers'.
WORKERS = (2, 16, 64, 128)
#: Tasks per worker: 1 to 32 (the profiles take 2, 8, 16 and 32).
TASKS_PER_WORKER = (1, 2, 4, 8, 16, 32)


@dataclass(frozen=True)
class Simulated:
    """A model's mean over its trials: efficiency and the tail share."""

    efficiency: float
    share_tail: float


def schedule(
    times: Sequence[float], workers: int, dispatch: float = 0.0, wake: float = 0.0
) -> tuple[float, float]:
    """(span, idle slot time after the queue emptied) of one batch: tasks in order, each
    to the first free worker, none starting before it was handed out (``dispatch`` per
    task, one after another) or before the workers woke (``wake``)."""
    free = [wake] * workers
    ends = []
    for index, task in enumerate(times):
        start = max(heapq.heappop(free), (index + 1) * dispatch)
        end = start + task
        heapq.heappush(free, end)
        ends.append(end)
    span = max(ends)
    last = sorted(ends)[-workers:]  # each worker's last task (gilbench.measure.tail)
    idle = sum(span - end for end in last) + max(0, workers - len(ends)) * span
    return span, idle


def simulate(
    workers: int,
    tasks_per_worker: int,
    spread: float,
    dispatch: float = 0.0,
    *,
    wake: float = 0.0,
    trials: int = 200,
    seed: int = 1,
) -> Simulated:
    """The mean efficiency and tail share of ``trials`` batches of ``tasks_per_worker x
    workers`` tasks (lognormal times, mean 1, ``spread`` their coefficient of variation)."""
    rng = np.random.default_rng(seed)
    sigma = math.sqrt(math.log(1 + spread**2))
    tasks = tasks_per_worker * workers
    efficiency = tail = 0.0
    for _ in range(trials):
        times = rng.lognormal(-(sigma**2) / 2, sigma, tasks) if spread > 0 else np.ones(tasks)
        span, idle = schedule(times.tolist(), workers, dispatch, wake)
        efficiency += float(times.sum()) / (workers * span)
        tail += idle / (workers * span)
    return Simulated(efficiency / trials, tail / trials)


def efficiency_table(
    spread: float,
    dispatch: float = 0.0,
    workers: Sequence[int] = WORKERS,
    per_worker: Sequence[int] = TASKS_PER_WORKER,
    trials: int = 100,
) -> list[list[float]]:
    """Rows by tasks per worker, columns by workers: the model's mean efficiency."""
    return [
        [simulate(w, t, spread, dispatch, trials=trials).efficiency for w in workers]
        for t in per_worker
    ]


def markdown(spread: float, dispatch: float, trials: int = 100) -> str:
    """The efficiency table as Markdown (docs/method.md)."""
    table = efficiency_table(spread, dispatch, trials=trials)
    head = "| tasks per worker | " + " | ".join(f"{w} workers" for w in WORKERS) + " |"
    rule = "|---|" + "---|" * len(WORKERS)
    rows = [
        f"| {t} | " + " | ".join(f"{e:.2f}" for e in row) + " |"
        for t, row in zip(TASKS_PER_WORKER, table, strict=True)
    ]
    return "\n".join([head, rule, *rows])


def main(argv: list[str] | None = None) -> None:
    """Print the model's efficiency table for a task-time spread and a dispatch cost."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spread", type=float, default=0.1, help="task time sd / mean")
    parser.add_argument("--dispatch", type=float, default=0.0, help="dispatch / task time")
    parser.add_argument("--trials", type=int, default=100)
    args = parser.parse_args(argv)
    print(f"spread {args.spread}, dispatch {args.dispatch} of a task's time")
    print(markdown(args.spread, args.dispatch, args.trials))


if __name__ == "__main__":
    main()
