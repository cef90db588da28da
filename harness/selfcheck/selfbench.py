"""``nox -s perf``: gilbench measures itself.

1. harness overhead: the serial backend's batch against a bare loop over the same tasks;
2. dispatch floor: a no-op task through each backend against the raw equivalent written
   with concurrent.futures or asyncio, as a ratio and in µs per task;
3. the quick profile's wall time and points, on the pipeline issue's matrix and on the
   full catalogue, and the default profile's (skipped with ``--no-default``);
   and the share of each quick run's wall time spent measuring (backend batches, their
   serial partners and latency points' open-loop schedules: the run's ``timed_s``);
4. stability: headline speedups of two back-to-back quick runs: the largest difference,
   the median one, and the runs' own spread over pairs (or rounds), which bounds what to
   expect; then the issue's acceptance rows: the paired speedups (at least 90 % within
   5 %, none more than 10 % apart), the capacity efficiencies (at least 90 % within
   5 %), and the points either run marks ``suspect`` (beyond physics: none expected);
   and the A/A rows (gilbench.selfcheck.aa_check: points compare marks, intervals' coverage);
5. report time for a folder of 3 machines x 3 interpreters (made from the quick run's
   results, relabelled, since one machine cannot be three).

It prints a table and writes it as markdown under ``reports/``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import multiprocessing
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import psutil
import pyperf

from gilbench.analysis.store import load_results
from gilbench.analysis.tidy import tidy
from gilbench.benchmarks import get_workload
from gilbench.measure.backends import get_backend
from gilbench.measure.batch import Batch
from gilbench.run.command import RunOptions, plan_run, run_plan
from gilbench.selfcheck.aa_check import aa_rows
from gilbench.selfcheck.detection import DETECT_10, detection_row, quiet_detection_row
from gilbench.selfcheck.stability import AGREE, APART, stability, suspect_count

REPEATS = 31
TARGETS = {"overhead": 1.02, "dispatch": 1.10, "pipeline_s": 3 * 60, "quick_s": 8 * 60,
           "default_s": 20 * 60, "stability": AGREE, "report_s": 10.0, "timed_share": 0.60,
           "apart": APART, "detect_10": DETECT_10}  # fmt: skip
# The pipeline issue's matrix: one CPU-bound and one I/O-bound workload.
PIPELINE_WORKLOADS = ("cpu.fib", "io.sleep")


def _alternating(first: Callable[[], float], second: Callable[[], float]) -> tuple[float, float]:
    """``REPEATS`` timings of each, in pairs whose order alternates (ABBA), so neither
    side always runs first or just after the other; the medians of each, scaled so that
    their ratio is the median of the per-pair ratios (robust to a disturbed pair)."""
    a, b = [], []
    for repeat in range(REPEATS):
        if repeat % 2:
            b.append(second())
            a.append(first())
        else:
            a.append(first())
            b.append(second())
    ratio = statistics.median(x / y for x, y in zip(a, b, strict=True))
    theirs = statistics.median(b)
    return theirs * ratio, theirs


def _timed(call: Callable[[], Any]) -> Callable[[], float]:
    def run() -> float:
        start = time.perf_counter()
        call()
        return time.perf_counter() - start

    return run


def harness_overhead() -> dict[str, Any]:
    """Serial backend vs a bare loop over cpu.fib's default tasks, in this process."""
    wl = get_workload("cpu.fib")
    params = wl.default_params
    batch = Batch(wl, params, wl.tasks)
    backend = get_backend("serial")(1)
    backend.start(batch)
    func = wl.func
    ours, bare = _alternating(
        _timed(lambda: backend.run(batch)),
        _timed(lambda: [func(**params) for _ in range(batch.size)]),
    )
    return {"what": f"serial backend vs bare loop (cpu.fib, {batch.size} tasks)",
            "ratio": ours / bare, "ours_ms": ours * 1e3, "raw_ms": bare * 1e3}  # fmt: skip


def _raw_executor(kind: str, workers: int) -> Executor:
    if kind == "threads":
        return ThreadPoolExecutor(workers)
    context = multiprocessing.get_context("forkserver")
    return ProcessPoolExecutor(workers, mp_context=context)


def _raw_batch(name: str, size: int, workers: int) -> tuple[Callable[[], Any], Callable[[], None]]:
    """The raw equivalent of a backend's batch of no-ops, and how to clean it up."""
    from gilbench.selfcheck.noop_workloads import _noop_async, raw_noop

    if name == "serial":
        return (lambda: [raw_noop(i) for i in range(size)]), (lambda: None)
    if name == "asyncio":
        loop = asyncio.new_event_loop()

        async def everything() -> Any:
            return await asyncio.gather(*(_noop_async() for _ in range(size)))

        return (lambda: loop.run_until_complete(everything())), loop.close
    if name == "interpreters":
        from concurrent.futures import InterpreterPoolExecutor  # type: ignore[attr-defined]

        pool: Executor = InterpreterPoolExecutor(workers)
    else:
        pool = _raw_executor(name, workers)
    list(pool.map(raw_noop, range(size)))  # start and warm it, as the backends do
    return (lambda: list(pool.map(raw_noop, range(size)))), (lambda: pool.shutdown(wait=True))


def dispatch_floor(workers: int = 2) -> list[dict[str, Any]]:
    """A batch of no-op tasks through each backend against the raw equivalent."""
    importlib.import_module(
        "gilbench.selfcheck.noop_workloads"
    )  # registers self.noop (not catalogued)

    wl = get_workload("self.noop")
    batch = Batch(wl, {}, wl.tasks)
    rows = []
    for name in ("serial", "threads", "processes", "asyncio", "interpreters"):
        backend_cls = get_backend(name)
        if backend_cls.unavailable_reason():
            continue
        backend = backend_cls(1 if backend_cls.single_worker else workers)
        backend.start(batch)
        raw, cleanup = _raw_batch(name, batch.size, workers)
        try:
            ours, theirs = _alternating(_timed(partial(backend.run, batch)), _timed(raw))
        finally:
            cleanup()
            backend.close()
        rows.append({"backend": name, "ratio": ours / theirs,
                     "ours_us_per_task": ours / batch.size * 1e6,
                     "raw_us_per_task": theirs / batch.size * 1e6})  # fmt: skip
    return rows


def timed_share(results: Path, seconds: float) -> float:
    """The share of a run's ``seconds`` spent measuring (backend batches, their serial
    partners and latency schedules: the ``timed_s`` of every point in ``results``); NaN
    for files that do not record it."""
    frame = tidy(load_results(results))
    timed = frame["timed_s"].sum(min_count=1) if "timed_s" in frame else float("nan")
    return float(timed) / seconds if seconds > 0 else float("nan")


def run_suite(
    profile: str, results: Path, machine: str, workloads: tuple[str, ...] = ()
) -> tuple[float, int, str]:
    """Run the ``profile`` suite (on ``workloads``, else the catalogue) as ``gilbench run
    --no-report`` would, in this process; return its wall time, the points it measured
    and what failed ("" when nothing did: a failed point still leaves the time and the
    other points worth reporting).  An interrupted run raises."""
    start = time.perf_counter()
    options = RunOptions(profile=profile, workloads=workloads, machine=machine,
                         results=str(results))  # fmt: skip
    outcome = run_plan(plan_run(options))
    elapsed = time.perf_counter() - start
    if outcome.interrupted:
        raise RuntimeError(f"the {profile} run was interrupted ({outcome.summary()})")
    failed = "; ".join(f"{f.point.name}: {f.reason}" for f in outcome.failures[:3])
    if len(outcome.failures) > 3:
        failed += f"; and {len(outcome.failures) - 3} more"
    return elapsed, len(outcome.measured), failed


def synthetic_folder(source: Path, target: Path) -> int:
    """3 machines x 3 interpreter tags made from one machine's result files; points."""
    files = [p for p in source.rglob("*-cpython*.json") if ".failures" not in p.name]
    count = 0
    for machine in ("alpha", "beta", "gamma"):
        for tag in ("cpython-a", "cpython-b", "cpython-c"):
            data = json.loads(files[0].read_text())

            def relabel(meta: dict[str, Any] | None, machine: str = machine,
                        tag: str = tag) -> None:  # fmt: skip
                if meta is not None:
                    meta.update({k: v for k, v in (("machine", machine), ("interpreter", tag))
                                 if k in meta})  # fmt: skip

            relabel(data.get("metadata"))
            for bench in data["benchmarks"]:
                relabel(bench.get("metadata"))
                for run in bench["runs"]:
                    relabel(run.get("metadata"))
            out = target / machine / f"20260101T000000Z-{tag}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(data))
            count += len(data["benchmarks"])
    return count


def report_time(folder: Path, out: Path) -> float:
    """Wall time of ``gilbench report`` on ``folder``."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gilbench", "report", str(folder), "-o", str(out)],
                   capture_output=True, check=True)  # fmt: skip
    return time.perf_counter() - start


def _mark(ok: bool) -> str:
    return "meets" if ok else "MISSES"


class PerfTable:
    """The self-benchmark's table: printed row by row and rewritten to its markdown file
    after each row, so a long run that dies keeps what it measured."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.failed = False
        machine = f"{psutil.cpu_count()} CPUs ({platform.processor() or platform.machine()})"
        self.head = [
            "# gilbench self-benchmark",
            "",
            f"{time.strftime('%Y-%m-%d %H:%M %Z')}; {machine}; Python "
            f"{platform.python_version()}; pyperf {pyperf.__version__}",
            "",
            "| measure | value | target | |",
            "|---|---|---|---|",
        ]
        self.rows: list[str] = []

    def add(self, measure: str, value: str, target: str, ok: bool) -> None:
        """One row."""
        self.rows.append(f"| {measure} | {value} | {target} | {_mark(ok)} |")
        print(self.rows[-1], flush=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("\n".join(self.head + self.rows) + "\n", encoding="utf-8")

    def step(self, measure: str, target: str, run: Callable[[], tuple[str, bool]]) -> None:
        """Measure one row; a step that fails is a row saying why, and the rest goes on."""
        try:
            value, ok = run()
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            self.failed = True
            value, ok = f"failed: {exc}".replace("|", "/").replace("\n", " ")[:400], False
        self.add(measure, value, target, ok)


def main(argv: list[str] | None = None) -> int:
    """Run the self-benchmark; print and save the table (exit 1 if a step failed)."""
    parser = argparse.ArgumentParser(
        prog="python -m gilbench.selfcheck.selfbench", description=__doc__
    )
    parser.add_argument("--no-default", action="store_true",
                        help="skip timing the default profile (about 20 minutes)")  # fmt: skip
    parser.add_argument("--reports", default="reports", help="where the markdown goes")
    parser.add_argument("--keep", metavar="DIR",
                        help="keep the runs' result folders under DIR (default: a temporary "
                             "folder, removed at the end)")  # fmt: skip
    args = parser.parse_args(argv)
    table = PerfTable(Path(args.reports) / f"perf-{time.strftime('%Y%m%dT%H%M%S')}.md")

    over = harness_overhead()
    table.add(over["what"],
              f"{over['ratio']:.3f} ({over['ours_ms']:.1f} vs {over['raw_ms']:.1f} ms)",
              "<= 1.02", over["ratio"] <= TARGETS["overhead"])  # fmt: skip
    for row in dispatch_floor():
        table.add(f"dispatch floor, {row['backend']} (no-op task)",
                  f"{row['ratio']:.2f} ({row['ours_us_per_task']:.2f} vs "
                  f"{row['raw_us_per_task']:.2f} µs/task)", "<= 1.10",
                  row["ratio"] <= TARGETS["dispatch"])  # fmt: skip
    with contextlib.ExitStack() as stack:
        if args.keep:
            root = Path(args.keep)
            root.mkdir(parents=True, exist_ok=True)
        else:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gilbench-perf-")))
        walls: dict[str, float] = {}  # wall seconds of each run, by its folder

        def suite(profile: str, folder: str, limit: float, *workloads: str) -> Callable[
                [], tuple[str, bool]]:  # fmt: skip
            def run() -> tuple[str, bool]:
                seconds, points, failed = run_suite(profile, root / folder, "perf", workloads)
                walls[folder] = seconds
                share = timed_share(root / folder, seconds)
                text = f"{seconds / 60:.1f} min, {points} points, {share:.0%} of it measuring"
                if failed:
                    return f"{text}; failed: {failed}", False
                return text, seconds <= limit

            return run

        table.step(
            f"quick profile wall time ({' + '.join(PIPELINE_WORKLOADS)})",
            "<= 3 min",
            suite("quick", "pipeline", TARGETS["pipeline_s"], *PIPELINE_WORKLOADS),
        )
        table.step(
            "quick profile wall time (full catalogue)",
            "<= 8 min",
            suite("quick", "first", TARGETS["quick_s"]),
        )
        table.step("quick profile, again", "<= 8 min", suite("quick", "second", TARGETS["quick_s"]))

        def agreement() -> tuple[str, bool]:
            agree = stability(root / "first", root / "second")
            return agree.text(), agree.worst <= TARGETS["stability"]

        table.step("stability: headline speedups of the two quick runs", "<= 5%", agreement)

        def acceptance(column: str, apart: float | None) -> Callable[[], tuple[str, bool]]:
            def run() -> tuple[str, bool]:
                agree = stability(root / "first", root / "second", column)
                return (f"{agree.within_share:.0%} within 5%; {agree.text()}",
                        agree.meets_acceptance(apart))  # fmt: skip

            return run

        table.step(
            "stability: paired speedups (headline points)",
            ">= 90% within 5%, none > 10% apart",
            acceptance("speedup", TARGETS["apart"]),
        )
        table.step(
            "stability: capacity efficiency (headline points)",
            ">= 90% within 5%",
            acceptance("capacity_efficiency", None),
        )

        def suspects() -> tuple[str, bool]:
            counts = [suspect_count(root / folder) for folder in ("first", "second")]
            return f"{counts[0]} and {counts[1]} suspect rows", not any(counts)

        table.step("suspect points (beyond physics) in the two quick runs", "0", suspects)
        for measure, target, step in aa_rows(root / "first", root / "second"):  # issue 16
            table.step(measure, target, step)
        table.step(
            "compare: one changed point among 100 found (simulated at the quick runs' "
            "process spread; 3 / 12 processes a side; how many find 10 %)",
            "10 % found >= 80 % with at most 96 a side (12 at a 4 % spread)",
            lambda: detection_row(root / "first"),
        )
        table.step(
            "compare: an interpreter's single-thread cost found by a serial (quiet) row "
            "(simulated at the quick run's slowed share and spread, its processes a workload)",
            "10 % found >= 80 %, A/A <= 5 %",
            lambda: quiet_detection_row(root / "first"),
        )

        def timed() -> tuple[str, bool]:
            shares = [timed_share(root / f, walls[f]) for f in ("first", "second") if f in walls]
            if not shares:
                raise RuntimeError("no quick run of the full catalogue completed")
            text = " and ".join(f"{share:.0%}" for share in shares)
            return f"{text} of the wall time spent measuring", min(shares) >= TARGETS[
                "timed_share"]  # fmt: skip

        table.step("timed share of the quick runs (batches, serial partners, latency "
                   "schedules)",
                   ">= 60%", timed)  # fmt: skip
        if not args.no_default:
            table.step(
                "default profile wall time (full catalogue)",
                "<= 20 min",
                suite("default", "default", TARGETS["default_s"]),
            )

        def report_seconds() -> tuple[str, bool]:
            points = synthetic_folder(root / "first", root / "three")
            seconds = report_time(root / "three", root / "report")
            return f"{seconds:.1f} s for {points} points", seconds < TARGETS["report_s"]

        table.step("report time, 3 machines x 3 interpreters", "< 10 s", report_seconds)
    print(f"written: {table.path}")
    return 1 if table.failed else 0


if __name__ == "__main__":
    sys.exit(main())
