"""The decision: per workload, which backend and how many workers to use on this machine,
what it costs, and why the others lose.

The rule (:data:`DECISION_TABLE`, shown in the report's "How to read"; tested on synthetic
tables in tests/test_decision.py), at the highest core count k measured:

1. Each backend is represented by its plateau point (gilbench.analysis.verdict.plateau:
   the fewest workers, at least k, whose interval reaches its best speedup).
2. The fastest of them is **recommended** when its speedup's interval lies above 1.
   Another backend whose speedup lies inside the fastest one's interval is **about
   equal**, and of those the one that costs less is recommended (threads, then asyncio,
   then subinterpreters, then processes: memory per worker and start-up grow that way),
   the row saying so.  Where the fastest one's interval reaches down to 1, the decision
   is **serial** when it cannot be much better than serial either (its interval's top
   below :data:`SERIAL_AT_MOST`), else **unclear (intervals too wide)**.
3. Where the fastest has no interval (fewer than 3 processes), the decision is
   **unclear (too few processes)**; where no backend was measured with at least k
   workers (a ``--workers 1`` slice), **unclear (fewer workers than cores)**.

Beside it: the recommended backend's memory per extra worker (gilbench.analysis.memory)
and its pool's start-up time (the ``startup`` family, where measured); why each other
backend loses (its plateau speedup, and for threads the share of their time blocked);
and, where the frame holds a free-threaded interpreter with the GIL off for the same
workload, what its threads reach.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from gilbench.analysis.physics import suspect_mask
from gilbench.analysis.verdict import backend_plateaus, plateau, point_label, speedup_ci
from gilbench.benchmarks import UnknownWorkloadError, format_params, get_workload
from gilbench.benchmarks.startup import startup_workload
from gilbench.vocabulary import CONTEXT_KEY, HEADLINE_KINDS, WORKLOAD_KEY

#: Cheapest first: what a tie between backends is decided by.
COST_ORDER = ("threads", "asyncio", "interpreters", "processes")
#: Below this, a backend whose interval reaches 1 cannot be much better than serial.
SERIAL_AT_MOST = 1.1

#: The rule as a table of conditions, in the order they are tried (shown in the report's
#: "How to read"; tested in tests/test_decision.py).
DECISION_TABLE: tuple[tuple[str, str], ...] = (
    ("no backend measured with at least k workers", "unclear (fewer workers than cores)"),
    ("the fastest plateau point has no interval (fewer than 3 processes)",
     "unclear (too few processes)"),
    (f"the fastest one's interval reaches down to 1 and its top is below {SERIAL_AT_MOST}x",
     "serial"),
    ("the fastest one's interval reaches down to 1, its top does not",
     "unclear (intervals too wide)"),
    ("other backends' speedups lie inside the fastest one's interval (about equal)",
     "the cheapest of them: threads, asyncio, subinterpreters, processes"),
    ("otherwise", "the fastest, at its plateau point's worker count"),
)  # fmt: skip


@dataclass(frozen=True)
class Decision:
    """The decision for one workload on one machine and interpreter."""

    machine: str
    interpreter: str
    workload: str
    params: str
    cores: int
    choice: str  # a backend label, "serial", or "unclear (...)"
    workers: int
    speedup: float
    ci_low: float
    ci_high: float
    note: str  # "the cheapest of equals" (the alternatives mark the equals with ≈), or ""
    memory_per_worker_mib: float
    startup_ms: float
    alternatives: str  # "processes 1.71x; threads 1.00x (blocked 49 %)"
    free_threaded: str  # "cpython3.14t threads 1.93x", or ""


def _cost_rank(row: pd.Series) -> int:
    name = str(row["backend"])
    return COST_ORDER.index(name) if name in COST_ORDER else len(COST_ORDER)


def choose(found: list[pd.Series]) -> tuple[pd.Series | None, str, str]:
    """(the recommended point or None for serial, the choice's text, a note) by the rule."""
    if not found:
        return None, "unclear (no backend measured)", ""
    best = found[0]
    low, _ = speedup_ci(best)
    if math.isnan(low):
        return best, "unclear (too few processes)", ""
    if low <= 1.0:
        if speedup_ci(best)[1] < SERIAL_AT_MOST:
            return None, "serial", "no backend beats it"
        return best, "unclear (intervals too wide)", ""
    # About equal: each one's estimate inside the other's interval.
    top = float(best["speedup"])
    tied = [
        row
        for row in found[1:]
        if float(row["speedup"]) >= low
        and (math.isnan(speedup_ci(row)[1]) or speedup_ci(row)[1] >= top)
    ]
    if not tied:
        return best, point_label(best), ""
    cheapest = min([best, *tied], key=_cost_rank)
    note = "the cheapest of equals" if cheapest is not best else ""
    return cheapest, point_label(cheapest), note


def _why(row: pd.Series) -> str:
    text = f"{point_label(row)} {float(row['speedup']):.2f}x"
    blocked = row.get("share_blocked", math.nan)
    if str(row["backend"]) == "threads" and pd.notna(blocked) and float(blocked) >= 0.2:
        text += f" (blocked {float(blocked):.0%})"
    return text


def startup_ms(frame: pd.DataFrame, context: tuple[object, ...], row: pd.Series | None) -> float:
    """The chosen backend's pool start-up in ms, from the startup family in the same
    context (NaN where not measured)."""
    if row is None:
        return math.nan
    name = startup_workload(str(row["backend"]), row.get("start_method") or None)
    if name is None:
        return math.nan
    same = frame[(frame["workload"] == name) & (frame["backend"] == "serial")]
    for column, value in zip(CONTEXT_KEY, context, strict=True):
        same = same[same[column] == value]
    if same.empty:
        return math.nan
    first = same.iloc[0]
    return float(first["median_s"]) / float(first["tasks"]) * 1e3


def _free_threaded(frame: pd.DataFrame, workload: str, params: str, machine: str) -> str:
    same = (frame["workload"] == workload) & (frame["params"] == params)
    gil_off = frame["free_threaded"].astype(bool) & ~frame["gil_enabled"].astype(bool)
    rows = frame[same & gil_off & (frame["machine"] == machine) & (frame["backend"] == "threads")]
    if rows.empty:
        return ""
    top = rows[rows["cores"] == rows["cores"].max()]
    best = plateau(top[top["workers"] >= int(top["cores"].max())])
    best = best if best is not None else plateau(top)
    if best is None:
        return ""
    return f"{best['interpreter']} threads {float(best['speedup']):.2f}x"


def decide(frame: pd.DataFrame, rows: pd.DataFrame) -> Decision | None:
    """The decision for one workload's rows in one context (suspect points left out)."""
    rows = rows[~suspect_mask(rows)]
    if rows.empty:
        return None
    cores = int(rows["cores"].max())
    top = rows[(rows["cores"] == cores) & (rows["backend"] != "serial")]
    found = backend_plateaus(top, cores)
    chosen, choice, note = choose(found)
    if found and cores > 1 and all(int(r["workers"]) < cores for r in found):
        choice, note = "unclear (fewer workers than cores)", ""
    first = rows.iloc[0]
    context = tuple(first[c] for c in CONTEXT_KEY)
    others = [r for r in found if chosen is None or r is not chosen]
    equal = {id(r) for r in others if note and float(r["speedup"]) >= (speedup_ci(chosen)[0]
             if chosen is not None else math.inf)}  # fmt: skip
    low, high = speedup_ci(chosen) if chosen is not None else (math.nan, math.nan)
    return Decision(
        machine=str(first["machine"]),
        interpreter=str(first["interpreter"]),
        workload=str(first["workload"]),
        params=str(first["params"]),
        cores=cores,
        choice=choice,
        workers=int(chosen["workers"]) if chosen is not None else 1,
        speedup=float(chosen["speedup"]) if chosen is not None else 1.0,
        ci_low=low,
        ci_high=high,
        note=note,
        memory_per_worker_mib=float(chosen.get("memory_per_worker_mib", math.nan))
        if chosen is not None else math.nan,
        startup_ms=startup_ms(frame, context, chosen),
        alternatives="; ".join(("≈ " if id(r) in equal else "") + _why(r) for r in others),
        free_threaded=""
        if bool(first.get("free_threaded", False)) and not bool(first.get("gil_enabled", True))
        else _free_threaded(frame, str(first["workload"]), str(first["params"]),
                            str(first["machine"])),
    )  # fmt: skip


def _swept_beyond_default(workload: str, params: str) -> bool:
    """Whether ``params`` is a value of a workload that sweeps its parameters other than
    its default: the task-size figure answers for the sweep, its default gets the row."""
    try:
        wl = get_workload(workload)
    except (UnknownWorkloadError, ImportError):  # a result file's workload not here
        return False
    return wl.sweep_params and params != format_params(wl.default_params)


def decisions(frame: pd.DataFrame) -> list[Decision]:
    """One decision per workload, parameters and context (the kinds whose speedups are
    headlines: catalogue and user workloads alike; a swept workload at its default)."""
    if frame.empty:
        return []
    subset = frame[frame["kind"].isin(HEADLINE_KINDS)]
    pairs = subset[["workload", "params"]].drop_duplicates()
    hidden = {(w, p) for w, p in zip(pairs["workload"], pairs["params"], strict=True)
              if _swept_beyond_default(str(w), str(p))}  # fmt: skip
    if hidden:
        keep = [(w, p) not in hidden for w, p in zip(subset["workload"], subset["params"],
                                                     strict=True)]  # fmt: skip
        subset = subset[keep]
    found = (decide(frame, rows) for _, rows in subset.groupby([*CONTEXT_KEY, *WORKLOAD_KEY],
                                                                sort=True))  # fmt: skip
    return [d for d in found if d is not None]
