"""Memory per backend and per worker: the tidy table's memory columns.

From each run's largest reading of the process tree's unique memory (gilbench.measure.
memory: the measuring process and its pool's children):

- ``memory_uss_mib``, ``memory_pss_mib``: the median over the point's runs;
- ``memory_mib``: the point's unique memory beyond its serial point's (same run, cores,
  workload and parameters): what running the work under this backend adds;
- ``memory_per_worker_mib``: what each extra worker adds, the least-squares slope of
  unique memory against workers over the backend's points at that core count (with a
  single worker count: ``memory_mib`` over the workers).  A process pool's workers each
  hold an interpreter; a thread pool's share one.

Files written before memory was recorded give NaN.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyperf

from gilbench.vocabulary import CONTEXT_KEY, WORKLOAD_KEY

MEMORY_COLUMNS = ["memory_uss_mib", "memory_pss_mib", "memory_mib", "memory_per_worker_mib"]
NAN = float("nan")


def _median(runs: list[dict[str, Any]], key: str) -> float:
    found = [float(m[key]) for m in runs if isinstance(m.get(key), int | float)]
    return statistics.median(found) if found else NAN


def memory_facts(bench: pyperf.Benchmark) -> dict[str, float]:
    """The per-benchmark memory columns (the median over its runs)."""
    runs = [run.get_metadata() for run in bench.get_runs() if run.values]
    return {"memory_uss_mib": _median(runs, "memory_uss_mib"),
            "memory_pss_mib": _median(runs, "memory_pss_mib")}  # fmt: skip


def slope(workers: Sequence[float], memory: Sequence[float]) -> float:
    """The least-squares slope of memory against workers (NaN for fewer than two distinct
    worker counts)."""
    if len(set(workers)) < 2:
        return NAN
    return float(np.polyfit(np.asarray(workers, float), np.asarray(memory, float), 1)[0])


def add_memory(
    out: pd.DataFrame, baselines: Sequence[Mapping[Hashable, Any] | None]
) -> pd.DataFrame:
    """Add ``memory_mib`` and ``memory_per_worker_mib`` (the module docstring); in place."""
    for column in ("memory_uss_mib", "memory_pss_mib"):
        if column not in out:
            out[column] = NAN
    base = [NAN if b is None else float(b.get("memory_uss_mib", NAN)) for b in baselines]
    out["memory_mib"] = out["memory_uss_mib"] - pd.Series(base, index=out.index)
    out.loc[out["backend"] == "serial", "memory_mib"] = 0.0
    per_worker = pd.Series(NAN, index=out.index)
    keys = [*CONTEXT_KEY, *WORKLOAD_KEY, "backend", "start_method", "cores", "run_id"]
    pools = out[(out["backend"] != "serial") & out["memory_uss_mib"].notna()]
    for _, rows in pools.groupby([k for k in keys if k in pools.columns], dropna=False):
        fitted = slope(rows["workers"].tolist(), rows["memory_uss_mib"].tolist())
        if math.isnan(fitted):
            fitted = float((rows["memory_mib"] / rows["workers"]).median())
        per_worker[rows.index] = fitted
    out["memory_per_worker_mib"] = per_worker
    return out
