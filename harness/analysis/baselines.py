"""Which serial point a speedup divides: the baseline of the point's own run, or none.

A speedup is serial time / backend time for the same context, workload, batch and cores
(vocabulary.BASELINE_KEY), and both sides must come from the **same run**: a later slice
(``gilbench run --workload <name> --backend threads``) or a patch upgrade under the same
interpreter tag is measured minutes or days after another run's serial point, on a
machine whose speed has moved since, so dividing by that baseline would mix two
moments.  A run measures its own serial baselines (gilbench.run.matrix adds them to a
slice); a point whose run has none gets no speedup, and a reason says why
(``speedup_note``), never another run's number.

Files that carry no run id (written by hand or by something else) count as one run each:
their points pair within their file.

Pure lookups on the tidy table, before its repeated points are dropped (the newest run of
a point wins there, and an older point must still find its own run's serial point).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from gilbench.vocabulary import BASELINE_KEY

RUN_COLUMN = "run_id"


def runs_of(frame: pd.DataFrame) -> pd.Series:
    """Each row's run for pairing: its run id, else (no run id recorded) its file, else ""
    (a frame without either column is one run)."""
    empty = pd.Series("", index=frame.index, dtype=object)
    run_ids = frame[RUN_COLUMN].fillna("").astype(str) if RUN_COLUMN in frame else empty
    files = frame["file"].fillna("").astype(str) if "file" in frame else empty
    return run_ids.where(run_ids != "", files)


def run_label(run: str) -> str:
    """A run as a reader knows it: its id, or the name of the file that stands for it."""
    return Path(run).name if "/" in run or run.endswith(".json") else run


def _keys(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    keyed = frame.assign(**{RUN_COLUMN: runs_of(frame)})
    return list(keyed[BASELINE_KEY].itertuples(index=False, name=None))


def find_baselines(frame: pd.DataFrame) -> list[Mapping[Hashable, Any] | None]:
    """For each row of ``frame``, in order, the serial row of its own run that shares its
    :data:`~gilbench.vocabulary.BASELINE_KEY` (as a record), or None where its run has none."""
    records = frame.to_dict("records")
    keys = _keys(frame)
    pairs = zip(keys, records, strict=True)
    serial = {key: row for key, row in pairs if row["backend"] == "serial"}
    return [serial.get(key) for key in keys]


# Why a row has no speedup: the text after "no speedup: " in the reports.
LATENCY_NOTE = "a latency point: its figures are latency percentiles, not a speedup"
NO_COMMON_ROUND_NOTE = "its run's serial baseline was measured in no round it was measured in"
PAIRS_ONLY = "; the speedup comes from its time-paired batches alone, without that cross-check"


def speedup_notes(
    frame: pd.DataFrame, baselines: Sequence[Mapping[Hashable, Any] | None], speedups: pd.Series
) -> list[str]:
    """Why a row's speedup, or its estimate from the serial point (``baseline_speedup``,
    where the frame has it), is empty; "" where neither is.  A latency point; no serial
    baseline in its own run (naming the run); or a baseline it shares no round with.  A
    point with time-paired batches keeps their speedup and says what it lacks."""
    notes = []
    divided = frame.get("baseline_speedup", speedups)
    empty = pd.Series("", index=frame.index)
    load_in = frame["load_in"].fillna("") if "load_in" in frame else empty
    for base, run, speedup, estimate, load in zip(
        baselines, runs_of(frame), speedups, divided, load_in, strict=True
    ):
        if pd.notna(speedup) and pd.notna(estimate):
            notes.append("")
        elif load:
            notes.append(LATENCY_NOTE)
        else:
            where = f"run {run_label(run)}" if run else "its run"
            note = f"no serial baseline in {where}" if base is None else NO_COMMON_ROUND_NOTE
            notes.append(note + (PAIRS_ONLY if pd.notna(speedup) else ""))
    return notes
