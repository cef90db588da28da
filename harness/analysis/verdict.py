"""The verdict: per workload, machine and interpreter, which backend wins at the highest
core count, and whether the GIL is what limits threads, with the evidence.

The rule (documented in the report, tested in tests/test_verdict.py), applied at the
highest core count k measured, to each backend's best point with at least k workers
(fewer workers could not use every core, so they say nothing about the GIL):

- threads are **GIL-bound** when k >= 2 and their efficiency (speedup / k) is below 0.6,
  their effective cores stay at or below 1.2, and some other backend shows the cores
  were there to use: an efficiency of at least 0.8, a speedup at least 1.5 times the
  threads', or at least 0.75 k effective cores with 1.2 times the threads' speedup (CPU
  time over wall time is measured within one batch, so a machine that drifts between
  points cannot fake it).
- threads **scale** when their efficiency is at least 0.6.
- otherwise threads are **limited, not by the GIL**: nothing else scales either (memory
  bandwidth, a shared resource, too little work per task).
- with k = 1 nothing can run in parallel: the verdict only names the fastest backend.

Points marked suspect (gilbench.analysis.physics: faster than physics allows) are left
out before anything is judged, and the evidence names them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from gilbench.analysis.physics import suspect_mask
from gilbench.vocabulary import CONTEXT_KEY, HEADLINE_KINDS, WORKLOAD_KEY, backend_label

GIL_EFFICIENCY_BELOW = 0.6
GIL_EFFECTIVE_CORES_AT_MOST = 1.2
OTHER_EFFICIENCY_AT_LEAST = 0.8
OTHER_SPEEDUP_FACTOR = 1.5
OTHER_BUSY_CORES_SHARE = 0.75
OTHER_BUSY_SPEEDUP_FACTOR = 1.2

RULE_TEXT = (
    f"At the highest core count k (k >= 2), taking each backend's best point with at least "
    f"k workers, threads are GIL-bound when their efficiency (speedup / k) is below "
    f"{GIL_EFFICIENCY_BELOW}, their "
    f"effective cores stay at or below {GIL_EFFECTIVE_CORES_AT_MOST}, and another backend "
    f"reaches an efficiency of at least {OTHER_EFFICIENCY_AT_LEAST}, {OTHER_SPEEDUP_FACTOR} "
    f"times the threads' speedup, or {OTHER_BUSY_CORES_SHARE} k effective cores with "
    f"{OTHER_BUSY_SPEEDUP_FACTOR} times the threads' speedup. Threads "
    f"scale when their efficiency is at least "
    f"{GIL_EFFICIENCY_BELOW}; otherwise they are limited by something other than the GIL."
)


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
    threads: str  # "GIL-bound", "scales", "limited (not the GIL)", "1 core", "not measured"
    evidence: str


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


def _label(row: pd.Series) -> str:
    return backend_label(str(row["backend"]), row.get("start_method"))


def _efficiency(row: pd.Series, cores: int) -> float:
    return float(row["speedup"]) / max(1, min(int(row["workers"]), cores))


def _best_using_all_cores(rows: pd.DataFrame, cores: int) -> pd.Series | None:
    """The best point with at least ``cores`` workers, else the best point at all."""
    wide = rows[rows["workers"] >= cores]
    return _best(wide) if not wide.empty else _best(rows)


def _left_out(rows: pd.DataFrame) -> str:
    """The evidence's note on suspect points left out of the verdict ("" for none)."""
    if rows.empty:
        return ""
    names = ", ".join(
        f"{_label(row)} workers={row['workers']} cores={row['cores']}" for _, row in rows.iterrows()
    )
    return f"; left out as suspect (beyond physics): {names}"


def judge(rows: pd.DataFrame) -> Verdict | None:
    """The verdict for one workload's rows on one machine and interpreter (any cores),
    judged without its suspect points (the evidence names them)."""
    suspect = suspect_mask(rows)
    left_out, rows = _left_out(rows[suspect]), rows[~suspect]
    if rows.empty:
        return None
    cores = int(rows["cores"].max())
    top = rows[rows["cores"] == cores]
    best = _best(top[top["backend"] != "serial"]) if (top["backend"] != "serial").any() else None
    best = best if best is not None else _best(top)
    if best is None:
        return None
    first = rows.iloc[0]
    threads = _best_using_all_cores(top[top["backend"] == "threads"], cores)
    other = _best_using_all_cores(top[~top["backend"].isin(["threads", "serial"])], cores)
    if threads is None:
        status, evidence = "not measured", "no threads point"
    else:
        t_eff = _efficiency(threads, cores)
        t_cores = float(threads["effective_cores"])
        evidence = (
            f"threads: {threads['speedup']:.2f}x at {cores} cores ({threads['workers']} workers), "
            f"effective cores {t_cores:.2f}"
        )
        if other is not None:
            evidence += f"; {_label(other)}: {other['speedup']:.2f}x"
        if cores < 2:
            status = "1 core"
        elif t_eff >= GIL_EFFICIENCY_BELOW:
            status = "scales"
        elif (
            t_cores <= GIL_EFFECTIVE_CORES_AT_MOST
            and other is not None
            and (
                _efficiency(other, cores) >= OTHER_EFFICIENCY_AT_LEAST
                or other["speedup"] >= OTHER_SPEEDUP_FACTOR * threads["speedup"]
                or (
                    float(other["effective_cores"]) >= OTHER_BUSY_CORES_SHARE * cores
                    and other["speedup"] >= OTHER_BUSY_SPEEDUP_FACTOR * threads["speedup"]
                )
            )
        ):
            status = "GIL-bound"
        else:
            status = "limited (not the GIL)"
    return Verdict(
        machine=str(first["machine"]),
        interpreter=str(first["interpreter"]),
        workload=str(first["workload"]),
        params=str(first["params"]),
        kind=str(first["kind"]),
        cores=cores,
        best_backend=_label(best),
        best_speedup=float(best["speedup"]),
        best_workers=int(best["workers"]),
        threads=status,
        evidence=evidence + left_out,
    )


def judge_all(frame: pd.DataFrame) -> list[Verdict]:
    """One verdict per workload, params and context (the kinds whose speedups are
    headlines: vocabulary.HEADLINE_KINDS)."""
    keys = [*CONTEXT_KEY, *WORKLOAD_KEY]
    subset = frame[frame["kind"].isin(HEADLINE_KINDS)]
    found = (judge(rows) for _, rows in subset.groupby(keys, sort=True))
    return [verdict for verdict in found if verdict is not None]


def verdicts(frame: pd.DataFrame) -> pd.DataFrame:
    """The verdicts of ``judge_all`` as a table."""
    columns = list(Verdict.__dataclass_fields__)
    return pd.DataFrame([v.__dict__ for v in judge_all(frame)], columns=columns)
