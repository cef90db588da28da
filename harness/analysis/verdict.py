"""The verdict: per workload, machine and interpreter, which backend wins at the highest
core count, and what limits threads, with the evidence (and the speedups' intervals).

The rule (:data:`RULE_TABLE`, shown in the report; tested in tests/test_verdict.py) is
applied at the highest core count k measured, to one point per backend chosen by a rule
fixed before looking at the numbers: among its points with at least k workers (fewer
could not use every core; a backend without one is not judged on scaling), the one with
the **fewest workers that reach the plateau**, i.e. whose speedup interval reaches the
highest speedup any of them shows (without intervals: within
:data:`PLATEAU_TOLERANCE`).  Picking the highest of several noisy estimates would pick
the luckiest (the winner's curse) and report its interval as if it had been chosen
blind; the plateau point is chosen for being *enough*, and is what a user should run.
Suspect points (gilbench.analysis.physics: faster than physics allows) are left out and
the evidence names them.
Thresholds scale with k: "few cores busy" is at most max(1.2, 0.35 k) effective cores
(1.2 of 2, 2.8 of 8, 5.6 of 16: a partly held GIL still lets threads overlap a little).
"Another backend beats threads" needs that backend above 1x and ahead of the threads
by more than both 95 % intervals (gilbench.analysis.intervals); where either has no
interval (too few processes), it needs the older factors instead: an efficiency of at
least 0.8, 1.5 times the threads' speedup, or 0.75 k effective cores with 1.2 times it.

- Efficiency in the rule is speedup / k, the cores, whatever the workers: a point with
  fewer workers than cores has not shown that the work uses them all.
- CPU work (every headline kind but io), k >= 2: threads **scale** at an efficiency
  (speedup / k; the low end of its interval where it has one) of at least 0.6.
  Otherwise, with the GIL on, they are **GIL-bound** when few cores are busy and
  another backend beats them; **unclear (no other backend to compare)** when few cores
  are busy but no other backend was measured with at least k workers (a slice such as
  ``--backend threads``: nothing shows the work could scale); else **limited (not the
  GIL)**.  With the GIL off
  (free-threaded), threads below 0.6 are **limited by locks or contention**: there is
  no GIL to blame.
- io work, any k: threads **scale** at an efficiency of at least 0.6 (waiting overlaps,
  so io threads can pass k); otherwise they are **GIL-bound** (the GIL in the dispatch
  path) when the GIL is on and asyncio beats them; **CPU-bound** when they keep at
  least 0.75 k cores busy; else **limited (not the GIL)**.
- CPU work with k = 1: nothing can run in parallel; the verdict only names the fastest.
- Threads measured only with fewer than k workers: **unclear (fewer workers than
  cores)**.  A "limited" threads point whose pool left more than
  gilbench.analysis.noise.TAIL_SHARE_ABOVE of its workers idle waiting for a batch's
  last tasks is **limited by the batch's tail**: the harness's batch, not the work
  (measure it with more tasks per worker); the evidence names the tail share and, where
  the pinned CPUs ran at unequal speeds, that too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from gilbench.analysis.intervals import beyond_mark, interval_text
from gilbench.analysis.noise import TAIL_SHARE_ABOVE
from gilbench.analysis.physics import UNEQUAL_SPEEDS, suspect_mask
from gilbench.vocabulary import CONTEXT_KEY, HEADLINE_KINDS, WORKLOAD_KEY, backend_label

GIL_EFFICIENCY_BELOW = 0.6
BUSY_CORES_AT_MOST = 1.2  # ... or BUSY_SHARE_AT_MOST x k, whichever is more
BUSY_SHARE_AT_MOST = 0.35
OTHER_EFFICIENCY_AT_LEAST = 0.8
OTHER_SPEEDUP_FACTOR = 1.5
OTHER_BUSY_CORES_SHARE = 0.75
OTHER_BUSY_SPEEDUP_FACTOR = 1.2
CPU_BOUND_SHARE = 0.75
#: Without an interval, a point within this share of a backend's highest speedup has
#: reached its plateau.
PLATEAU_TOLERANCE = 0.05

GIL_BOUND = "GIL-bound"
SCALES = "scales"
LIMITED = "limited (not the GIL)"
LOCKS = "limited by locks or contention (GIL off)"
CPU_BOUND = "CPU-bound"
UNCLEAR = "unclear (intervals too wide)"
NOTHING_TO_COMPARE = "unclear (no other backend to compare)"
TOO_FEW_WORKERS = "unclear (fewer workers than cores)"
TAIL_BOUND = "limited by the batch's tail (too few tasks per worker)"

#: The rule as a table of conditions, in the order they are tried (shown in the report's
#: "How to read"; each row is tested in tests/test_verdict.py).  The point judged and
#: "beats" are defined in :data:`RULE_TERMS`.
RULE_TABLE: tuple[tuple[str, str], ...] = (
    ("threads measured only with fewer than k workers", TOO_FEW_WORKERS),
    ("k = 1, CPU work: nothing runs in parallel (the best backend is named)", "1 core"),
    (f"efficiency (speedup / k; the low end of its interval) ≥ {GIL_EFFICIENCY_BELOW}",
     SCALES),
    ("io work, GIL on: asyncio beats threads (the GIL in the dispatch path)", GIL_BOUND),
    (f"io work: threads keep at least {CPU_BOUND_SHARE} k cores busy", CPU_BOUND),
    ("io work, otherwise", LIMITED),
    ("CPU work, GIL off (free-threaded)", LOCKS),
    (f"CPU work: few cores busy (≤ max({BUSY_CORES_AT_MOST}, {BUSY_SHARE_AT_MOST} k) "
     "effective cores) and another backend beats threads", GIL_BOUND),
    ("CPU work: few cores busy, no other backend measured with at least k workers",
     NOTHING_TO_COMPARE),
    (f"CPU work: the workers sat idle more than {TAIL_SHARE_ABOVE:.0%} of a batch waiting "
     "for its last tasks", TAIL_BOUND),
    ("otherwise", LIMITED),
    ("... but the estimates alone say more than 'limited' and the intervals cannot tell",
     UNCLEAR),
)  # fmt: skip
#: The words :data:`RULE_TABLE` uses, defined once.
RULE_TERMS: tuple[tuple[str, str], ...] = (
    ("k", "the highest core count measured"),
    ("the point judged", "per backend, among its points with at least k workers, the fewest "
     "workers whose 95 % interval reaches its highest speedup (the plateau; without "
     f"intervals, within {PLATEAU_TOLERANCE:.0%}); suspect points are left out"),
    ("beats threads", "above 1x and ahead by more than both 95 % intervals; without "
     f"intervals, an efficiency of at least {OTHER_EFFICIENCY_AT_LEAST}, "
     f"{OTHER_SPEEDUP_FACTOR} times the threads' speedup, or {OTHER_BUSY_CORES_SHARE} k "
     f"effective cores with {OTHER_BUSY_SPEEDUP_FACTOR} times it"),
)  # fmt: skip


def busy_limit(cores: int) -> float:
    """The most effective cores threads may keep busy and still count as held by one lock."""
    return max(BUSY_CORES_AT_MOST, BUSY_SHARE_AT_MOST * cores)


@dataclass(frozen=True)
class Verdict:
    """The verdict for one workload on one machine and interpreter."""

    machine: str
    interpreter: str
    workload: str
    params: str
    kind: str
    cores: int
    best_backend: str
    best_speedup: float
    best_workers: int
    threads: str  # GIL_BOUND, SCALES, LIMITED, LOCKS, CPU_BOUND, UNCLEAR, "1 core", ...
    evidence: str
    best_ci_low: float = float("nan")
    best_ci_high: float = float("nan")


def karp_flatt(speedup: float, parallelism: float) -> float:
    """The experimentally determined serial fraction e = (1/S - 1/p) / (1 - 1/p).

    NaN when p <= 1 (undefined) or the speedup is unknown.
    """
    if parallelism <= 1 or not speedup or math.isnan(speedup) or speedup <= 0:
        return float("nan")
    return (1 / speedup - 1 / parallelism) / (1 - 1 / parallelism)


def _best(rows: pd.DataFrame) -> pd.Series | None:
    rows = rows.dropna(subset=["speedup"])
    if rows.empty:
        return None
    best: pd.Series = rows.iloc[int(rows["speedup"].to_numpy().argmax())]
    return best


def point_label(row: pd.Series) -> str:
    return backend_label(str(row["backend"]), row.get("start_method"))


def _efficiency(row: pd.Series, cores: int) -> float:
    """Speedup over the cores k (not min(workers, k)): what the rule asks of a point is
    that it uses the machine, and fewer workers than cores cannot show that."""
    return float(row["speedup"]) / max(1, cores)


def plateau(rows: pd.DataFrame) -> pd.Series | None:
    """Of one backend's points, the fewest workers whose speedup interval reaches the
    highest speedup among them (without an interval: within :data:`PLATEAU_TOLERANCE`
    of it); None where none has a speedup.  See the module docstring."""
    rows = rows.dropna(subset=["speedup"])
    if rows.empty:
        return None
    top = float(rows["speedup"].max())
    for _, row in rows.sort_values("workers", kind="stable").iterrows():
        high = speedup_ci(row)[1]
        reach = float(row["speedup"]) * (1 + PLATEAU_TOLERANCE) if math.isnan(high) else high
        if reach >= top:
            return row
    return _best(rows)  # unreachable: the top point reaches itself


def _using_all_cores(rows: pd.DataFrame, cores: int) -> pd.Series | None:
    """The plateau point among those with at least ``cores`` workers, or None."""
    return plateau(rows[rows["workers"] >= cores])


def backend_plateaus(rows: pd.DataFrame, cores: int) -> list[pd.Series]:
    """Each backend's plateau point (:func:`plateau`) among its points with at least
    ``cores`` workers (where no backend has one: among all its points), fastest first:
    the candidates the verdict and the decision (gilbench.analysis.decision) compare."""
    keys = ["backend", "start_method"] if "start_method" in rows.columns else ["backend"]
    wide = rows[rows["workers"] >= cores]
    pool = wide if not wide.empty else rows
    chosen = [plateau(group) for _, group in pool.groupby(keys, sort=True, dropna=False)]
    found = [row for row in chosen if row is not None]
    return sorted(found, key=lambda row: -float(row["speedup"]))


def _best_of_backends(rows: pd.DataFrame, cores: int) -> pd.Series | None:
    """The fastest of :func:`backend_plateaus`, or None."""
    found = backend_plateaus(rows, cores)
    return found[0] if found else None


def _left_out(rows: pd.DataFrame) -> str:
    """The evidence's note on suspect points left out of the verdict ("" for none)."""
    if rows.empty:
        return ""
    names = ", ".join(
        f"{point_label(row)} workers={row['workers']} cores={row['cores']}"
        for _, row in rows.iterrows()
    )
    return f"; left out as suspect (beyond physics): {names}"


def speedup_ci(row: pd.Series) -> tuple[float, float]:
    """A point's speedup interval, (NaN, NaN) where it has none."""
    low, high = row.get("speedup_ci_low", math.nan), row.get("speedup_ci_high", math.nan)
    return (math.nan, math.nan) if pd.isna(low) or pd.isna(high) else (float(low), float(high))


def _speedup_text(row: pd.Series) -> str:
    return interval_text(float(row["speedup"]), *speedup_ci(row), unit="x") + beyond_mark(row)


def beats(other: pd.Series | None, threads: pd.Series, cores: int) -> bool:
    """Another backend beats threads: above 1x and ahead by more than both intervals
    (without intervals: the older factors, see the module docstring)."""
    if other is None or not float(other["speedup"]) > 1.0:
        return False
    (o_low, _), (_, t_high) = speedup_ci(other), speedup_ci(threads)
    if not (math.isnan(o_low) or math.isnan(t_high)):
        return o_low > 1.0 and o_low > t_high
    speedup, t_speedup = float(other["speedup"]), float(threads["speedup"])
    return (
        _efficiency(other, cores) >= OTHER_EFFICIENCY_AT_LEAST
        or speedup >= OTHER_SPEEDUP_FACTOR * t_speedup
        or (
            float(other["effective_cores"]) >= OTHER_BUSY_CORES_SHARE * cores
            and speedup >= OTHER_BUSY_SPEEDUP_FACTOR * t_speedup
        )
    )


def _without_interval(row: pd.Series | None) -> pd.Series | None:
    if row is None:
        return None
    bare = row.copy()
    bare["speedup_ci_low"] = bare["speedup_ci_high"] = math.nan
    return bare


def threads_status(
    threads: pd.Series, other: pd.Series | None, asyncio: pd.Series | None, cores: int, io: bool
) -> str:
    """The rule of the module docstring for one workload's threads point; "unclear" where
    it says "limited" only because the intervals are too wide to claim what the point
    estimates say (a limit claimed from uncertainty is not a finding)."""
    status = _status(threads, other, asyncio, cores, io)
    if status != LIMITED:
        return status
    bare = _without_interval(threads)
    assert bare is not None
    estimates = _status(bare, _without_interval(other), _without_interval(asyncio), cores, io)
    return UNCLEAR if estimates != LIMITED else LIMITED


def _status(
    threads: pd.Series, other: pd.Series | None, asyncio: pd.Series | None, cores: int, io: bool
) -> str:
    """The rule of the module docstring, intervals as the row carries them."""
    gil_on = bool(threads.get("gil_enabled", True))
    busy = float(threads["effective_cores"])
    low = speedup_ci(threads)[0]  # scaling is claimed on the interval's low end where there is one
    sure = threads.copy()
    if not math.isnan(low):
        sure["speedup"] = low
    if _efficiency(sure, cores) >= GIL_EFFICIENCY_BELOW:
        return SCALES
    if io:
        if gil_on and beats(asyncio, threads, cores):
            return GIL_BOUND
        return CPU_BOUND if busy >= CPU_BOUND_SHARE * cores else LIMITED
    if not gil_on:
        return LOCKS
    if busy <= busy_limit(cores) and beats(other, threads, cores):
        return GIL_BOUND
    if busy <= busy_limit(cores) and other is None:
        return NOTHING_TO_COMPARE
    return TAIL_BOUND if _tail(threads) > TAIL_SHARE_ABOVE else LIMITED


def _tail(row: pd.Series) -> float:
    """A point's tail share (NaN where unknown)."""
    value = row.get("share_tail", math.nan)
    return math.nan if pd.isna(value) else float(value)


def _explained(row: pd.Series) -> str:
    """What the evidence adds about a point's tail and CPU speeds where they matter."""
    notes = []
    if _tail(row) > TAIL_SHARE_ABOVE:
        notes.append(f"workers idle {_tail(row):.0%} of a batch waiting for its last tasks")
    ratio = row.get("cpu_speed_ratio", math.nan)
    if pd.notna(ratio) and float(ratio) > UNEQUAL_SPEEDS:
        notes.append(f"its CPUs ran at speeds {float(ratio):.2f}x apart")
    return f" ({'; '.join(notes)})" if notes else ""


def judge(rows: pd.DataFrame) -> Verdict | None:
    """The verdict for one workload's rows on one machine and interpreter (any cores),
    judged without its suspect points (the evidence names them)."""
    suspect = suspect_mask(rows)
    left_out, rows = _left_out(rows[suspect]), rows[~suspect]
    if rows.empty:
        return None
    cores = int(rows["cores"].max())
    top = rows[rows["cores"] == cores]
    best = _best_of_backends(top[top["backend"] != "serial"], cores)
    best = best if best is not None else _best(top)
    if best is None:
        return None
    first = rows.iloc[0]
    io = str(first["kind"]) == "io"
    all_threads = top[top["backend"] == "threads"]
    threads = _using_all_cores(all_threads, cores)
    others = top[~top["backend"].isin(["threads", "serial"])]
    other = _best_of_backends(others, cores)
    asyncio = _using_all_cores(top[top["backend"] == "asyncio"], cores)
    if threads is None and not all_threads.empty:
        widest = int(all_threads["workers"].max())
        status = TOO_FEW_WORKERS
        plural = "s" if widest != 1 else ""
        evidence = f"threads measured with at most {widest} worker{plural} on {cores} cores"
    elif threads is None:
        status, evidence = "not measured", "no threads point"
    else:
        t_cores = float(threads["effective_cores"])
        evidence = (
            f"threads: {_speedup_text(threads)} at {cores} cores ({threads['workers']} "
            f"workers), effective cores {t_cores:.2f}{_explained(threads)}"
        )
        if other is not None:
            evidence += f"; {point_label(other)}: {_speedup_text(other)}{_explained(other)}"
        if cores < 2 and not io:
            status = "1 core"
        else:
            status = threads_status(threads, other, asyncio, cores, io)
    return Verdict(
        machine=str(first["machine"]),
        interpreter=str(first["interpreter"]),
        workload=str(first["workload"]),
        params=str(first["params"]),
        kind=str(first["kind"]),
        cores=cores,
        best_backend=point_label(best),
        best_speedup=float(best["speedup"]),
        best_workers=int(best["workers"]),
        threads=status,
        evidence=evidence + left_out,
        best_ci_low=speedup_ci(best)[0],
        best_ci_high=speedup_ci(best)[1],
    )


#: The columns a verdict reads.  Judging a narrow copy of the table: every row
#: selection of the full tidy table (about 90 columns) copies all of them, which was a
#: tenth of a report's time over 1,872 points.
VERDICT_COLUMNS = [
    *CONTEXT_KEY, *WORKLOAD_KEY, "kind", "backend", "start_method", "workers", "cores",
    "speedup", "speedup_ci_low", "speedup_ci_high", "effective_cores", "suspect",
    "speedup_ci_beyond_limit", "share_tail", "cpu_speed_ratio",
]  # fmt: skip


def judge_all(frame: pd.DataFrame) -> list[Verdict]:
    """One verdict per workload, params and context (the kinds whose speedups are
    headlines: vocabulary.HEADLINE_KINDS)."""
    keys = [*CONTEXT_KEY, *WORKLOAD_KEY]
    narrow = frame[[c for c in VERDICT_COLUMNS if c in frame.columns]]
    subset = narrow[narrow["kind"].isin(HEADLINE_KINDS)]
    found = (judge(rows) for _, rows in subset.groupby(keys, sort=True))
    return [verdict for verdict in found if verdict is not None]


def verdicts(frame: pd.DataFrame) -> pd.DataFrame:
    """The verdicts of ``judge_all`` as a table."""
    columns = list(Verdict.__dataclass_fields__)
    return pd.DataFrame([v.__dict__ for v in judge_all(frame)], columns=columns)
