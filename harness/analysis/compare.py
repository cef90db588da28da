"""``gilbench compare A B``: two result sets side by side, point by point.

A side is a result file, a machine folder, or a name (an interpreter tag such as
``cpython3.14t``, or a machine name) looked up in the results folder.  Whatever differs
between the two sides (the machine, the interpreter, or the run) is what is compared;
whatever they share is matched point by point.  Throughputs and speedups are both
compared (speedups are the figure that stays meaningful between machines whose absolute
speeds differ), each as a ratio B/A with its 95 % interval, tested on the points' worker
processes (gilbench.analysis.significance: Welch on log unit figures, a paired t-test for
the throughputs of an interleaved run's sides, Benjamini-Hochberg over every test of the
comparison, marked only beyond a noise floor).  Between the sides of an interleaved run
a workload also gets a **serial (quiet)** row, its single-thread speed from every process
that ran it serially (gilbench.analysis.compare_units).  A latency point is
compared on its p90 (p50 where too few requests support a p90): each process's
percentile is a unit.

The noise floor depends on how the sides were measured.  Two separate runs were measured
minutes or days apart on a machine whose speed drifts, which no test on one run's
processes can see, so a difference must also exceed the runs' own intervals.  Two sides
of an interleaved A/B run (``gilbench run --python A,B``: both measured in the same
minutes, round by round) share that drift: only :data:`MIN_CHANGE` is asked of them.

Every compared point also says what it could have found (gilbench.analysis.power): the
smallest change its test would flag with 80 % power after the correction, or the floor
where that is larger (``detectable_pct``; the header gives the median point's).
"""

from __future__ import annotations

import io
import math
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gilbench.analysis.compare_units import (
    NO_UNITS,
    Units,
    process_units,
    quiet_row,
    serial_groups,
)
from gilbench.analysis.power import detectable_change, paired_log_sd, pooled_log_sd
from gilbench.analysis.significance import (
    ALPHA,
    Difference,
    adjust,
    log_paired,
    log_welch,
    marked,
    noise_floor,
)
from gilbench.analysis.store import load_results
from gilbench.analysis.tidy import tidy_report
from gilbench.vocabulary import CONTEXT_KEY, POINT_KEY, backend_label, top_cores

# A point's coordinates within its context: what two sides are matched on.  Not the
# batch size: a pool's grows with the profile's tasks per worker, and throughputs are
# rates (tasks per second), comparable across batch sizes.
COORDINATES = [column for column in POINT_KEY if column not in (*CONTEXT_KEY, "tasks")]
#: Columns of the comparison for latency points: where their CPU load ran, how many workers.
LOAD_COLUMNS = {"load_in": "CPU work in", "load_workers": "CPU workers"}
SIDE_DIMENSIONS = ("machine", "interpreter")
#: The smallest change named between two interleaved sides (they share the machine's
#: drift; below this a difference is too small to act on).
MIN_CHANGE = 0.02
#: The benchmark metadata that ties the two sides of an interleaved A/B run together.
AB_KEY = "ab_run"


class CompareError(ValueError):
    """The two sides cannot be compared; the message says why and what to give instead."""


@dataclass(frozen=True)
class Side:
    """One side of a comparison: its rows (tidy) and every point's pyperf values."""

    label: str
    frame: pd.DataFrame
    # (machine, interpreter, name) -> per-process figures: median batch times, speedups
    # and, for a latency point, each process's p90 latency (seconds)
    units: dict[tuple[str, str, str], Units]
    skipped: list[tuple[Path, str]]  # files the loader could not use, and why
    #: The interleaved A/B runs the side's files belong to (benchmark metadata ab_run).
    ab_runs: frozenset[str] = frozenset()


def load_side(spec: str, results_dir: Path) -> Side:
    """The rows ``spec`` names: a file or folder, else a tag or machine in ``results_dir``."""
    path = Path(spec)
    source = path if path.exists() else results_dir
    found = load_results(source)
    tidied = tidy_report(found)
    loaded, frame = tidied.report_with_skipped(found), tidied.frame
    units = {
        (str(b.get_metadata().get("machine", s.machine)),
         str(b.get_metadata().get("interpreter", "")), b.get_name()): process_units(b)
        for s in loaded.suites for b in s.suite.get_benchmarks()
    }  # fmt: skip
    ab_runs = frozenset(
        str(b.get_metadata()[AB_KEY])
        for s in loaded.suites for b in s.suite.get_benchmarks() if AB_KEY in b.get_metadata()
    )  # fmt: skip
    if not path.exists():
        frame = frame[(frame["interpreter"] == spec) | (frame["machine"] == spec)]
        if frame.empty:
            everything = tidied.frame
            raise CompareError(
                f"{spec!r} is neither a file or folder nor an interpreter or machine in "
                f"{results_dir} (interpreters: {', '.join(sorted(set(everything['interpreter'])))}"
                f"; machines: {', '.join(sorted(set(everything['machine'])))})"
            )
    if frame.empty:
        raise CompareError(f"{spec}: no usable results")
    return Side(spec, frame, units, loaded.skipped, ab_runs)


def _compared_dimensions(a: pd.DataFrame, b: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(dimensions that differ between the sides, dimensions both share and match on)."""
    differ: list[str] = []
    shared: list[str] = []
    for column in SIDE_DIMENSIONS:
        (differ if set(a[column]) != set(b[column]) else shared).append(column)
    return differ, shared


def _whole_machine(frame: pd.DataFrame) -> pd.DataFrame:
    """Each workload's rows at the highest core count measured for it."""
    return frame[frame["cores"] == top_cores(frame)]


def _units(side: Side, row: dict[Hashable, Any], suffix: str) -> Units:
    """The units behind one side of a merged row (shared columns lack a suffix)."""
    machine, interpreter = (str(row.get(c + suffix, row.get(c))) for c in SIDE_DIMENSIONS)
    return side.units.get((machine, interpreter, str(row["name" + suffix])), NO_UNITS)


def interleaved(a: Side, b: Side) -> bool:
    """Whether the two sides were measured in one interleaved A/B run."""
    return bool(a.ab_runs) and a.ab_runs == b.ab_runs


def _interval(row: dict[Hashable, Any], figure: str, suffix: str) -> tuple[float, float, float]:
    return tuple(  # type: ignore[return-value]
        float(row.get(f"{figure}{end}{suffix}", math.nan)) for end in ("", "_ci_low", "_ci_high")
    )


def _latency_figure(row: dict[Hashable, Any]) -> str:
    """What a latency row is compared on: its p90 where both sides have enough requests
    for one, else its p50, else the median of what requests there are."""
    for figure in ("p90_ms", "p50_ms"):
        if all(pd.notna(row.get(f"{figure}{s}")) for s in ("_a", "_b")):
            return figure
    return "median_s"


def _tests(a: Side, b: Side, row: dict[Hashable, Any], together: bool) -> dict[str, Any]:
    """Both figures' ratios B/A with intervals and raw p-values (throughput: the
    inverse of the median batch times' ratio; a latency point: its percentile's ratio),
    each figure's noise floor, and the pooled spread of the units behind each test."""
    ua, ub = _units(a, row, "_a"), _units(b, row, "_b")
    latency = bool(row.get("load_in"))
    figure = _latency_figure(row) if latency else "throughput"
    # Tested as B's time over A's; shown inverted, so that above 1 means B is faster (a
    # higher throughput, a shorter latency).
    if latency:  # each process's p90 (p50: its median request)
        units_a, units_b = (ua.p90s, ub.p90s) if figure == "p90_ms" else (ua.times, ub.times)
        shown = float(row[f"{figure}_a"]) / float(row[f"{figure}_b"])
    else:
        units_a, units_b = ua.times, ub.times
        shown = row["throughput_b"] / row["throughput_a"]
    slower = _test(units_a, units_b, together)
    low, high = 1 / slower.high, 1 / slower.low
    if slower.ratio > 0:  # the ratio the test estimates, so that it lies in its interval
        shown = 1 / slower.ratio
    # Speedups are compared unpaired even between interleaved sides: each is already a
    # ratio of batches timed back to back in one process, so the drift that pairing the
    # sides' processes cancels is not in it, and pairing would halve the degrees of
    # freedom (docs/statistics.md, "What a comparison can find", measured it).
    speed = log_welch(ua.speedups, ub.speedups)
    floor = {
        f: MIN_CHANGE if together else noise_floor(_interval(row, f, "_a"), _interval(row, f, "_b"))
        for f in (figure, "speedup")
    }
    return {
        "compared": {"p90_ms": "p90 latency", "p50_ms": "p50 latency",
                     "median_s": "median latency"}.get(figure, "throughput"),
        "B/A": shown, "B/A low": low, "B/A high": high, "p": slower.p,
        "speedup B/A low": speed.low, "speedup B/A high": speed.high, "speedup p": speed.p,
        "_floor": floor[figure], "_speedup_floor": floor["speedup"],
        "_sd": _spread(units_a, units_b, together), "_units": (len(units_a), len(units_b)),
        "_speedup_sd": _spread(ua.speedups, ub.speedups, False),
        "_speedup_units": (len(ua.speedups), len(ub.speedups)),
        "_paired": together and _pairable(units_a, units_b),
    }  # fmt: skip


def _pairable(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and len(a) >= 2


def _test(a: list[float], b: list[float], together: bool) -> Difference:
    """Interleaved sides pair their processes in the order they ran (round by round, the
    i-th of A beside the i-th of B: gilbench.run.orchestrator.run_points_ab); separate
    runs are two independent samples."""
    return log_paired(a, b) if together and _pairable(a, b) else log_welch(a, b)


def _spread(a: list[float], b: list[float], together: bool) -> float:
    return paired_log_sd(a, b) if together and _pairable(a, b) else pooled_log_sd(a, b)


def _detectable(
    sd: float, units: tuple[int, int], level: float, floor: float, paired: bool
) -> float:
    """The smallest change one test could flag, in percent: its power's (see
    gilbench.analysis.power) or its floor's, whichever is larger."""
    change = detectable_change(units[0], units[1], sd, level, paired=paired)
    if math.isnan(change):
        return math.nan
    return 100 * max(change, floor if not math.isnan(floor) else 0.0)


def _mark(out: pd.DataFrame) -> pd.DataFrame:
    """Adjust every p-value of the comparison together (Benjamini-Hochberg) and mark
    the differences that are significant after it and beyond the noise floor; say what
    each test could have found (at the level one changed point among them must reach)."""
    adjusted = adjust([*out["p"], *out["speedup p"]])
    out["p adj"], out["speedup p adj"] = adjusted[: len(out)], adjusted[len(out) :]
    tests = int(pd.notna(out["p"]).sum() + pd.notna(out["speedup p"]).sum())
    level = ALPHA / max(1, tests)
    out["detectable_pct"] = [
        _detectable(sd, n, level, f, paired)
        for sd, n, f, paired in zip(out["_sd"], out["_units"], out["_floor"], out["_paired"],
                                    strict=True)
    ]  # fmt: skip
    out["speedup_detectable_pct"] = [
        _detectable(sd, n, level, f, paired)
        for sd, n, f, paired in zip(out["_speedup_sd"], out["_speedup_units"],
                                    out["_speedup_floor"], [False] * len(out),  # Welch
                                    strict=True)
    ]  # fmt: skip
    for prefix, floor, name in (
        ("", "_floor", "throughput significant"),
        ("speedup ", "_speedup_floor", "speedup significant"),
    ):
        out[name] = [
            marked(p, r, f)
            for p, r, f in zip(out[f"{prefix}p adj"], out[f"{prefix}B/A"], out[floor], strict=True)
        ]
    # The point's verdict in one column (the last): either figure marked.
    out["significant"] = out["throughput significant"] | out["speedup significant"]
    hidden = ["_floor", "_speedup_floor", "_sd", "_units", "_speedup_sd", "_speedup_units",
              "_paired"]  # fmt: skip
    return out.drop(columns=hidden)


def compare(a: Side, b: Side) -> pd.DataFrame:
    """One row per point measured on both sides: throughputs, their ratio and its
    significance, speedups and their ratio."""
    differ, shared = _compared_dimensions(a.frame, b.frame)
    for column in differ:
        for side in (a, b):
            if side.frame[column].nunique() > 1:
                found = ", ".join(sorted(side.frame[column].astype(str).unique()))
                raise CompareError(
                    f"{side.label} holds several values of {column} ({found}); name one "
                    f"result file or {column} per side"
                )
    frame_a, frame_b, key = a.frame, b.frame, COORDINATES + shared
    if "machine" in differ:
        # Machines have different CPU counts: compare each at its whole machine (its
        # highest core count per workload), where scaling is what users get.
        frame_a, frame_b = _whole_machine(frame_a), _whole_machine(frame_b)
        key = [c for c in key if c != "cores"]
    merged = frame_a.merge(frame_b, on=key, suffixes=("_a", "_b"))
    if merged.empty:
        raise CompareError(f"{a.label} and {b.label} have no point in common")
    rows = []
    # Latency points (a load_in) say where their CPU load ran and how many workers it had.
    loads = LOAD_COLUMNS if merged["load_in"].astype(bool).any() else {}
    together = interleaved(a, b)
    for row in merged.to_dict("records"):
        tests = _tests(a, b, row, together)
        rows.append({
            "workload": f"{row['workload']}({row['params']})",
            "backend": backend_label(str(row["backend"]), row["start_method"]),
            "workers": row["workers"],
            **{title: row[column] for column, title in loads.items()},
            **({"cores": row["cores"]} if "cores" in row
               else {"A cores": row["cores_a"], "B cores": row["cores_b"]}),
            **{column: row[column] for column in shared},
            "A tasks/s": row["throughput_a"], "B tasks/s": row["throughput_b"],
            "compared": tests["compared"], "B/A": tests["B/A"],
            "B/A low": tests["B/A low"], "B/A high": tests["B/A high"], "p": tests["p"],
            "A speedup": row["speedup_a"], "B speedup": row["speedup_b"],
            "speedup B/A": row["speedup_b"] / row["speedup_a"],
            **{k: v for k, v in tests.items() if k.startswith(("speedup", "_"))},
        })  # fmt: skip
    # One workload's single-thread speed from every process that ran it serially, at
    # every core count: both sides pool the same points, so the same mix of CPUs
    # (gilbench.analysis.compare_units).
    # Not for separate runs, whose drift between them no test on one run's processes
    # can see.
    group = ["workload", "params", *(c for c in key if c in shared)]
    for point_rows in serial_groups(merged.to_dict("records") if together else [], group).values():
        units = [(_units(a, row, "_a"), _units(b, row, "_b")) for row in point_rows]
        serial = quiet_row(units, point_rows[0])
        if serial:
            rows.append({**{c: math.nan for c in rows[0]}, **serial, "_floor": MIN_CHANGE})
    out = _mark(pd.DataFrame(rows))
    out.attrs["interleaved"] = together
    if "cores" in out:  # whole numbers, with a gap where a row pools every core count
        out["cores"] = out["cores"].astype("Int64")
    if loads:  # counts stay whole numbers, with gaps for throughput points
        out[LOAD_COLUMNS["load_workers"]] = out[LOAD_COLUMNS["load_workers"]].astype("Int64")
    order = ["workload", "backend", "workers", *loads.values()]
    return out.sort_values(order).reset_index(drop=True)


#: What the marks mean, printed under the header of the text and Markdown tables.
LEGEND = (
    "B/A: B's throughput over A's, or for a latency point A's p90 over B's (above 1: B is "
    "faster), as the test estimates it over the processes, with its 95 % interval; speedup "
    "B/A compares scaling, not speed.  Each is tested on the points' worker processes "
    "(Welch on log per-process figures; throughputs paired between interleaved sides); p adj: "
    "Benjamini-Hochberg over every test here. significant (*): p adj < 0.05 and the ratio "
    "further from 1 than the noise floor; detectable: the smallest change the point's test "
    "would have flagged (80 % power); '–': fewer than 3 processes a side, no test."
)


def _floor_text(together: bool) -> str:
    if together:
        return (
            f"interleaved A/B run: both sides measured in the same minutes, round by round; "
            f"a throughput pairs each process of B with the process of A that ran beside it (a "
            f"paired t-test on their log ratios), a speedup (paired inside each process "
            f"already) is tested by Welch; a serial (quiet) row pools every process that ran "
            f"the workload serially, at every core count: its serial time per task on a quiet "
            f"CPU, processes the host slowed set aside, Welch on the rest; noise floor "
            f"{MIN_CHANGE:.0%}"
        )
    return (
        "separate runs: the machine's drift between them is invisible to a test on one "
        "run's processes, so a difference must also exceed the runs' own intervals "
        "(measure both sides in one run, --python A,B, to find smaller ones)"
    )


def summary(table: pd.DataFrame) -> str:
    """One line: what the comparison can detect on its median point."""
    found = table["detectable_pct"].dropna() if "detectable_pct" in table else pd.Series()
    speed = table.get("speedup_detectable_pct", pd.Series(dtype=float)).dropna()
    if found.empty:
        return "this comparison cannot detect anything: fewer than 3 processes a side"
    text = (
        f"this comparison can detect changes of {_detectable_text(found.median())} or more on "
        f"the median point ({_detectable_text(found.min())} at best over its {len(found)} "
        "points)"
    )
    if not speed.empty:
        text += f"; speedups: {_detectable_text(speed.median())} or more"
    return text + f"; {int(table['significant'].sum())} of {len(table)} points differ"


def header(a: Side, b: Side, table: pd.DataFrame | None = None) -> str:
    """What A and B are, in one line each, how they were measured, what the comparison
    can detect (given its ``table``), and what the marks mean."""
    lines = []
    for name, side in (("A", a), ("B", b)):
        machines = ", ".join(sorted(side.frame["machine"].astype(str).unique()))
        interpreters = ", ".join(sorted(side.frame["interpreter"].astype(str).unique()))
        lines.append(f"{name}: {side.label} ({machines}; {interpreters})")
    lines.append(_floor_text(interleaved(a, b)))
    if table is not None:
        lines.append(summary(table))
    return "\n".join([*lines, LEGEND])


#: Beyond this a detectable change reads "> 1000%": the test could find nothing useful.
DETECTABLE_SHOWN = 1000.0


def _detectable_text(value: float) -> str:
    if pd.isna(value):
        return "–"
    return f"> {DETECTABLE_SHOWN:.0f}%" if value > DETECTABLE_SHOWN else f"{value:.0f}%"


def _with_interval(value: float, low: float, high: float) -> str:
    if pd.isna(value):
        return "–"
    if pd.isna(low) or pd.isna(high):
        return f"{value:.2f}"
    return f"{value:.2f} [{low:.2f}, {high:.2f}]"


def render(table: pd.DataFrame, fmt: str) -> str:
    """The comparison as ``text`` (aligned), ``md`` (a Markdown table) or ``csv`` (every
    column, ``significant`` true/false)."""
    if fmt == "csv":
        return table.to_csv(index=False)
    shown = table.copy()
    for column in ("A tasks/s", "B tasks/s"):
        shown[column] = shown[column].map(lambda v: f"{v:,.1f}")
    for column in ("B/A", "speedup B/A"):
        shown[column] = [
            _with_interval(v, lo, hi)
            for v, lo, hi in zip(shown[column], shown[f"{column} low"], shown[f"{column} high"],
                                 strict=True)
        ]  # fmt: skip
    for column in ("A speedup", "B speedup"):
        shown[column] = shown[column].map(lambda v: "–" if pd.isna(v) else f"{v:.2f}")
    for column in ("p adj", "speedup p adj"):
        shown[column] = shown[column].map(lambda v: "–" if pd.isna(v) else f"{v:.3f}")
    shown["detectable"] = shown["detectable_pct"].map(_detectable_text)
    shown["significant"] = shown["significant"].map(lambda v: "*" if v else "")
    hidden = ["B/A low", "B/A high", "speedup B/A low", "speedup B/A high", "p", "speedup p",
              "throughput significant", "speedup significant", "detectable_pct",
              "speedup_detectable_pct"]  # fmt: skip
    shown = shown.drop(columns=hidden)
    if "cores" in shown:  # a serial (quiet) row pools every core count
        shown["cores"] = shown["cores"].map(lambda v: "all" if pd.isna(v) else str(int(v)))
    if "machine" in shown:
        shown["machine"] = shown["machine"].map(lambda v: "–" if pd.isna(v) else str(v))
    for column in LOAD_COLUMNS.values():
        if column in shown:  # throughput points have no CPU load beside them
            shown[column] = shown[column].map(lambda v: "–" if pd.isna(v) or v == "" else str(v))
    if fmt == "md":
        cells = [list(shown.columns), ["---"] * len(shown.columns)]
        cells += shown.astype(str).to_numpy().tolist()
        return "\n".join("| " + " | ".join(r).replace("\n", " ") + " |" for r in cells) + "\n"
    for column in ("workload", "backend"):  # names read best aligned left
        width = int(shown[column].astype(str).str.len().max())
        shown[column] = shown[column].astype(str).str.ljust(width)
    buffer = io.StringIO()
    shown.to_string(buffer, index=False, justify="left")
    return buffer.getvalue() + "\n"
