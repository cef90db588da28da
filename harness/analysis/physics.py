"""Physics as a guard (docs/design.md, rule 14): a number no machine can produce is a bug in the
measurement, flagged as ``suspect`` with the reason and never shown as a result.

- Pure Python (kind ``cpu``) cannot run faster than ``min(workers, cores)`` times serial:
  at most one worker runs per core, and each runs the same bytecode.  A speedup above
  that by more than the point's own uncertainty is suspect: the uncertainty is its
  relative spread (``speedup_spread``) with a floor of :data:`SPREAD_FLOOR` and a cap of
  :data:`SPREAD_CAP` (however wide a point's spread, it cannot buy more allowance than
  that: a speedup that far above the limit is suspect whatever its spread).  Where
  nothing can run in parallel (one core or one worker) the allowance is the floor
  alone: any speedup above 1.1 is suspect.
- No throughput point can keep more cores busy than it was pinned to: effective cores
  (CPU time / wall time) above the pinned CPUs (``cpu_list``, else ``cores``) by more
  than :data:`EFFECTIVE_CORES_TOLERANCE` are suspect, whatever the kind.

Where the point's pinned CPUs ran at unequal speeds (``cpu_speed_ratio`` above
:data:`UNEQUAL_SPEEDS`), the reason says so: a serial partner on a slow CPU and workers
on a fast one give a 1-worker speedup above 1 with nothing wrong in the workload.

Suspect rows stay in the tidy table and the CSV (column ``suspect``, the reasons joined
by "; ", empty otherwise); verdicts leave them out, the terminal and the report list them.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from gilbench.vocabulary import PURE_PYTHON_KIND, THROUGHPUT_KINDS, parse_cpu_list

#: The smallest allowance over the physical limit (and the whole one where nothing runs
#: in parallel: 1.1x on one core).
SPREAD_FLOOR = 0.10
#: The largest allowance a wide spread buys.
SPREAD_CAP = 0.25
#: Effective cores may exceed the pinned CPUs by this share (clock granularity).
EFFECTIVE_CORES_TOLERANCE = 0.10
#: How many suspect points a warning names.
NAMED = 5
#: Pinned CPUs whose speeds (gilbench.measure.capacity: the fastest's rate over the
#: slowest's, each timed alone) are further apart than this are unequal: a speedup against
#: one CPU then depends on which CPU the serial work ran on.  On this project's 2-core VM
#: 300 readings in a quiet minute had a median of 1.01 and a 99th percentile of 1.06
#: (largest 1.27; a point's reading is the median of its processes' medians), and 1.7
#: to 1.8 while the host slowed the second core.
UNEQUAL_SPEEDS = 1.2


def pinned_cpus(cpu_list: object, cores: int) -> int:
    """How many CPUs a point was pinned to: its ``cpu_list`` (``0-1,4``) where recorded,
    else its ``cores``."""
    try:
        cpus = parse_cpu_list(cpu_list) if isinstance(cpu_list, str) else []
    except ValueError:
        cpus = []
    return len(cpus) or cores


def _number(value: Any) -> float:
    """A float, NaN for anything that is not a number (a missing column, None)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def speedup_limit(kind: str, workers: int, cpus: int) -> float:
    """The most a point's speedup can physically be: min(workers, cpus) (at least 1) for
    pure Python, infinity for other kinds."""
    return float(max(1, min(workers, cpus))) if kind == PURE_PYTHON_KIND else math.inf


def speedup_reason(
    kind: str, backend: str, speedup: float, *, workers: int, cpus: int, spread: float
) -> str:
    """Why a pure-Python point's speedup is beyond physics, or "" when it is not."""
    if kind != PURE_PYTHON_KIND or backend == "serial" or math.isnan(speedup):
        return ""
    limit = int(speedup_limit(kind, workers, cpus))
    margin = SPREAD_FLOOR
    if limit > 1 and not math.isnan(spread):
        margin = min(max(spread, SPREAD_FLOOR), SPREAD_CAP)
    if speedup <= limit * (1 + margin):
        return ""
    if cpus <= 1:
        return f"speedup {speedup:.2f}x on 1 core: pure Python cannot beat serial on one core"
    if workers <= 1:
        return (
            f"speedup {speedup:.2f}x with 1 worker: pure Python cannot beat serial with one worker"
        )
    return (
        f"speedup {speedup:.2f}x with {workers} workers on {cpus} cores (allowing ±{margin:.0%}): "
        f"pure Python cannot beat min(workers, cores) = {limit}"
    )


def effective_cores_reason(kind: str, effective: float, cpus: int) -> str:
    """Why a throughput point's effective cores are beyond its pinned CPUs, or ""."""
    if kind not in THROUGHPUT_KINDS or math.isnan(effective):
        return ""
    if effective <= cpus * (1 + EFFECTIVE_CORES_TOLERANCE):
        return ""
    plural = "s" if cpus != 1 else ""
    return (
        f"effective cores {effective:.2f} on {cpus} pinned CPU{plural}: more CPU time than "
        "the pinned CPUs can give"
    )


def unequal_speeds_note(speed_ratio: float) -> str:
    """`` (its pinned CPUs ran at speeds 1.90x apart ...)`` where they were unequal, else ""."""
    if math.isnan(speed_ratio) or speed_ratio <= UNEQUAL_SPEEDS:
        return ""
    return (
        f" (its pinned CPUs ran at speeds {speed_ratio:.2f}x apart: serial work and workers "
        "on CPUs of different speeds)"
    )


def suspect_reasons(frame: pd.DataFrame) -> pd.Series:
    """Per row of the tidy table, why its numbers break physics ("" where they do not)."""
    reasons = []
    for row in frame.to_dict("records"):
        cpus = pinned_cpus(row.get("cpu_list"), row.get("cores", 1))
        kind, workers = str(row.get("kind", "")), int(row.get("workers", 1))
        found = [
            speedup_reason(
                kind,
                str(row.get("backend", "")),
                _number(row.get("speedup")),
                workers=workers,
                cpus=cpus,
                spread=_number(row.get("speedup_spread")),
            ),
            effective_cores_reason(kind, _number(row.get("effective_cores")), cpus),
        ]
        if found[0]:
            found[0] += unequal_speeds_note(_number(row.get("cpu_speed_ratio")))
        reasons.append("; ".join(reason for reason in found if reason))
    return pd.Series(reasons, index=frame.index, dtype=object)


def suspect_mask(frame: pd.DataFrame) -> pd.Series:
    """True for the rows marked suspect (none where the table has no ``suspect`` column)."""
    if "suspect" not in frame.columns:
        return pd.Series(False, index=frame.index)
    return frame["suspect"].fillna("").astype(str) != ""


def suspect_lines(frame: pd.DataFrame) -> list[str]:
    """One line per suspect point: ``<point name> on <interpreter>: <reason>``."""
    rows = frame[suspect_mask(frame)]
    if rows.empty:
        return []
    return [
        f"{name} on {interpreter}: {reason}"
        for name, interpreter, reason in zip(
            rows["name"], rows["interpreter"], rows["suspect"], strict=True
        )
    ]


def physics_warnings(frame: pd.DataFrame) -> list[str]:
    """A warning naming the suspect points (the first :data:`NAMED`), or none."""
    lines = suspect_lines(frame)
    if not lines:
        return []
    more = f"; and {len(lines) - NAMED} more" if len(lines) > NAMED else ""
    return [
        f"{len(lines)} point{'s' if len(lines) != 1 else ''} beyond what physics allows, "
        "marked suspect and left out of verdicts (a bug in the measurement, not a result): "
        + "; ".join(lines[:NAMED])
        + more
    ]
