"""The registry of metadata keys gilbench writes into pyperf benchmarks (like pyperf's own).

Every matrix coordinate and interpreter fact travels as pyperf metadata, so a result file
is a plain pyperf suite and ``python -m pyperf show --metadata`` shows where a number came
from.  pyperf allows only str, int and float values: booleans are stored as 0/1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Version of what gilbench adds to pyperf's format.  History:
#   1 - first version: coordinates, interpreter facts, per-run CPU time, workload facts
#       (run metadata keys starting with "fact_").  A latency (kind "mixed") point carried
#       its CPU load in the throughput coordinates: workers = K CPU workers (0 allowed),
#       backend + start_method = where they ran (start_method "inline"/"executor" for
#       asyncio).
#   2 - latency points carry load_in (threads, processes[<start method>], asyncio[inline],
#       asyncio[executor]) and load_workers (K >= 0); their workers is 1 and their
#       start_method "-", backend stays the load's backend.  Throughput points write
#       load_in "-" and no load_workers.  Version 1 files are converted on read
#       (gilbench.analysis.store); their benchmark names stay as they were.
SCHEMA_VERSION = 2
SCHEMA_KEY = "gilbench_schema"


@dataclass(frozen=True)
class Key:
    """One metadata key: its Python type, unit and meaning."""

    name: str
    kind: Callable[[Any], Any]
    description: str
    unit: str = ""


KEYS: dict[str, Key] = {
    k.name: k
    for k in (
        Key(SCHEMA_KEY, int, "version of gilbench's metadata"),
        Key("machine", str, "machine name (results/<machine>/)"),
        Key("run_id", str, "UTC start time of the run that measured the point"),
        Key("profile", str, "gilbench profile (quick, default, rigorous)"),
        Key("workload", str, "workload name, family.name"),
        Key("params", str, "workload parameters, k=v,k=v"),
        Key("kind", str, "cpu, cpu-released, io, sync, mixed or probe"),
        Key(
            "backend",
            str,
            "how the batch ran: serial, threads, processes, asyncio (for a latency point: "
            "the backend of its load)",
        ),
        Key("start_method", str, "multiprocessing start method ('-' when not a process pool)"),
        Key("workers", int, "concurrency given to the backend (1 for latency points)"),
        Key(
            "load_in",
            str,
            "where a latency point's CPU load runs: threads, processes[<start method>], "
            "asyncio[inline] or asyncio[executor] ('-' on throughput points)",
        ),
        Key(
            "load_workers",
            int,
            "CPU workers beside a latency point's responder, K >= 0 (latency points only)",
        ),
        Key("cores", int, "CPUs the measured process was allowed (affinity)"),
        Key("tasks", int, "tasks per batch; every value is one batch"),
        Key("ops_per_task", int, "operations one task performs (for per-operation costs)"),
        Key("interpreter", str, "interpreter tag, e.g. cpython3.14t"),
        Key("free_threaded", int, "1 on a free-threaded build"),
        Key("gil_enabled", int, "1 if sys._is_gil_enabled() was true in the worker"),
        Key("gil_requested", str, "PYTHON_GIL asked for ('default' when unset)"),
        Key("switch_interval", float, "sys.getswitchinterval() in the worker", "s"),
        Key("logical_cpus", int, "logical CPUs of the machine"),
        Key("physical_cpus", int, "physical cores of the machine"),
        Key("allowed_cpus", str, "CPUs the run was allowed (affinity), e.g. 0-3"),
        Key("cgroup_cpu_quota", str, "CPUs granted by a cgroup quota ('none' if unlimited)"),
        Key("memory_bytes", int, "memory of the machine", "byte"),
        Key("kernel", str, "operating system kernel release"),
        Key("load_before", float, "1-minute load average when the run started"),
        Key("load_after", float, "1-minute load average when the run ended"),
        Key("backends_skipped", str, "backends this interpreter cannot run, with the reason"),
        Key("pyperf_settings", str, "pyperf processes, values, warmups, loops, min_time"),
        Key("blas_threads", int, "OMP/BLAS thread pools were pinned to this many threads"),
        Key("round", int, "which interleaved pass over the matrix measured this run"),
        Key("cpu_time_s", float, "CPU time of process and children over the timed batches", "s"),
        Key("timed_wall_s", float, "wall time of the timed batches", "s"),
        Key("effective_cores", float, "cpu_time_s / timed_wall_s: cores kept busy"),
    )
}


def typed(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """gilbench's keys from ``metadata``, converted to their types; unknown keys dropped.

    Raises ValueError for a value that does not convert (a corrupt or foreign file).
    """
    out: dict[str, Any] = {}
    for name, key in KEYS.items():
        if name in metadata:
            try:
                out[name] = key.kind(metadata[name])
            except (TypeError, ValueError):
                raise ValueError(f"metadata {name}={metadata[name]!r} is not {key.kind}") from None
    return out
