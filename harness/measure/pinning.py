"""Pinned means checked (docs/design.md, rule 13): the CPUs a point runs on, set and read back.

On Linux, CPU affinity belongs to a *thread*: ``os.sched_setaffinity(0, ...)`` pins the
calling thread, and threads and processes inherit the affinity of the thread that
created them.  So the worker pins its main thread before any pool exists, and the check
reads the affinity back where the work runs: in each pool thread, each pool process and
each subinterpreter (a subinterpreter runs on a thread of its own), not in the parent.
pyperf's worker start-up pins the main thread too (to ``--affinity``, or to the isolated
CPUs of a tuned host when none is given): the bridge hands pyperf the point's list, and
pins again before the pool starts, so neither can move a point off its CPUs unseen.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Sequence

from gilbench.vocabulary import format_cpu_list


def affinity_supported() -> bool:
    """Whether this OS lets each thread set and read its CPU affinity (Linux does)."""
    return hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity")


class AffinityError(RuntimeError):
    """The point's process or pool workers do not run on the CPUs the point was given."""


def thread_cpus() -> frozenset[int]:
    """The CPUs the calling thread may run on (empty where the OS has no affinity API)."""
    if not affinity_supported():
        return frozenset()
    return frozenset(os.sched_getaffinity(0))


def pin(cpus: Sequence[int]) -> None:
    """Pin the calling thread (and what it starts from now on) to ``cpus``, and check the
    kernel agreed: a cpuset that does not allow some of them gives fewer, silently."""
    if not cpus or not affinity_supported():
        return
    os.sched_setaffinity(0, cpus)
    got = thread_cpus()
    if got != frozenset(cpus):
        raise AffinityError(
            f"pinned to CPUs {format_cpu_list(list(cpus))} but the kernel gave "
            f"{format_cpu_list(sorted(got))} (a cpuset or container allows fewer CPUs)"
        )


def report_affinity(hold_s: float) -> tuple[int, int, frozenset[int]]:
    """Run in a pool worker: (process id, thread id, the CPUs this worker may run on).

    Held briefly so that every idle worker takes one of the tasks submitted together:
    distinct (process, thread) pairs count the distinct workers reached.  Module-level,
    so that process pools and subinterpreters find it by reference.
    """
    time.sleep(hold_s)
    return os.getpid(), threading.get_ident(), thread_cpus()


def worker_cpus(workers: int, cpus: Sequence[int]) -> list[int]:
    """The CPUs a pool's workers are pinned to, one each: the highest ``workers`` of
    ``cpus`` (CPU 0, which takes most interrupts, last) when there are fewer workers
    than CPUs, else none ([]: every worker may run on every CPU, and the kernel
    balances them).

    With fewer workers than CPUs the kernel places them where it likes, and on CPUs of
    unequal speed (a VM's vCPUs, one of them slowed by its host) a one-worker speedup
    would then depend on where the worker landed; pinned, the serial partner runs on the
    same CPUs (gilbench.measure.pairs) and the ratio compares like with like."""
    return sorted(cpus)[-workers:] if 0 < workers < len(cpus) else []


def pin_workers(threads: Sequence[tuple[int, int]], cpus: Sequence[int]) -> None:
    """Pin each pool worker (``(process id, thread id)``, as Backend.worker_threads gives
    them) to one CPU of ``cpus``, in order; Linux pins a thread by its id."""
    if not cpus or not affinity_supported():
        return
    for (_, tid), cpu in zip(threads, cpus, strict=False):
        os.sched_setaffinity(tid, {cpu})


def check_workers(
    backend: str,
    affinities: Iterable[frozenset[int]],
    cpus: Sequence[int],
    one_each: Sequence[int] = (),
) -> None:
    """Raise AffinityError, naming the backend and the CPUs, unless every pool worker may
    run on exactly ``cpus`` or, given ``one_each`` (:func:`worker_cpus`), each runs on
    its own one of those (nothing to check where the OS has no affinity API)."""
    wanted = frozenset(cpus)
    if not wanted or not affinity_supported():
        return
    found = list(affinities)
    if one_each:
        singles = sorted(next(iter(a)) for a in found if len(a) == 1)
        if singles == sorted(one_each) and len(found) == len(one_each):
            return
        wrong = sorted({format_cpu_list(sorted(a)) for a in found})
    else:
        wrong = sorted({format_cpu_list(sorted(a)) for a in found if a != wanted})
    if wrong:
        raise AffinityError(
            f"the {backend} pool's workers run on CPUs {', '.join(wrong)}, not on the "
            f"point's CPUs {format_cpu_list(sorted(wanted))}: something re-pinned the "
            f"process after gilbench did; the point is not measured where it says"
        )
