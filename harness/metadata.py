"""The registry of metadata keys gilbench writes into pyperf benchmarks (like pyperf's own).

Every matrix coordinate and interpreter fact travels as pyperf metadata, so a result file
is a plain pyperf suite and ``python -m pyperf show --metadata`` shows where a number came
from.  pyperf allows only str, int and float values: booleans are stored as 0/1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Version of what gilbench adds to pyperf's format; its history, and what each version's
# files carry, is docs/schema.md.  One upgrade function per step reads older files
# (gilbench.analysis.store).
SCHEMA_VERSION = 4
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
        Key("serial_tasks", int, "tasks the serial partner times: a fixed sample (rates)"),
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
        Key("budget_s", float, "the time the run was given (--budget or the profile's)", "s"),
        Key("blas_threads", int, "OMP/BLAS thread pools were pinned to this many threads"),
        Key("round", int, "which interleaved pass over the matrix measured this run"),
        Key("values_per_process", int, "timed values asked of each of the point's processes"),
        Key("cpu_time_s", float, "CPU time of process and children over the timed batches", "s"),
        Key("timed_wall_s", float, "wall time of the timed batches", "s"),
        Key("effective_cores", float, "cpu_time_s / timed_wall_s: cores kept busy"),
        # Schema 3, pairs, capacity and shares (gilbench.measure.pairs, .capacity, .shares):
        Key(
            "paired_serial_s",
            str,
            "each timed value's serial partner, in value order, space-separated seconds "
            "per batch (throughput points other than serial)",
        ),
        Key("capacity", float, "cores' worth of work the pinned CPUs delivered (median)"),
        Key(
            "cpu_speed_ratio",
            float,
            "pure Python on the fastest pinned CPU over the slowest, each alone (median)",
        ),
        Key(
            "capacity_python",
            float,
            "average pinned CPUs' worth of pure-Python work they delivered at once (median)",
        ),
        Key(
            "serial_quiet_s",
            float,
            "seconds per task of the process's serial work at its quietest: the 10th "
            "percentile over its timed parts (serial batches or partners)",
            "s",
        ),
        Key("share_running", float, "share of the workers' time in timed batches on a CPU"),
        Key("share_runqueue", float, "share of the workers' time waiting for a CPU"),
        Key("share_blocked", float, "share of the workers' time blocked (GIL, locks, I/O)"),
        Key("shares_excess", float, "how far running + runqueue exceeded the time (clipped)"),
        Key(
            "share_tail",
            float,
            "share of the usable pool workers idle while a batch's last tasks finished",
        ),
        Key("memory_uss_mib", float, "unique memory of the process and its pool's children", "MiB"),
        Key("memory_pss_mib", float, "proportional memory of the process and its pool", "MiB"),
        Key(
            "worker_cpus",
            str,
            "CPUs a pool with fewer workers than CPUs was pinned to, one worker each",
        ),
        # Schema 4, interleaved A/B runs (gilbench.run.sides), on every benchmark:
        Key("ab_run", str, "the interleaved A/B run (its id) both sides' files belong to"),
        Key("ab_side", str, "A or B: this file's side of an interleaved A/B run"),
        Key("ab_partner", str, "the other side's interpreter tag in an interleaved A/B run"),
        Key("timed_s", float, "seconds measuring: batches, partners or a latency schedule", "s"),
        # Schema 3, pinning and the GIL (gilbench.measure.pinning, gilbench.measure.gil_watch):
        Key("cpu_list", str, "CPUs the point ran on, read back in its pool's workers, e.g. 0-1"),
        Key("cpu_choice", str, "CPUs the run chose per core count, e.g. '1:1 2:0-1'"),
        Key("cores_cap_reason", str, "why the core sweep stops below the allowed CPUs"),
        Key(
            "gil_reenabled_by",
            str,
            "the start-up step (and extension modules) that turned the GIL on in a "
            "free-threaded worker with PYTHON_GIL unset",
        ),
        # Schema 3, open-loop latency points (gilbench.measure.latency), per run:
        Key(
            "fact_latency_rate_per_s",
            float,
            "requests per second the open-loop schedule offered (Poisson arrivals, the rate "
            "calibrated for the responder to be busy half the time, at most 500/s)",
            "1/s",
        ),
        Key(
            "fact_latency_utilisation",
            float,
            "share of the timed requests' span the responder was busy answering one (above "
            "1: requests came faster than it answered, a queue)",
        ),
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
