"""``nox -s chaos``: a run that loses a worker process and is interrupted, then resumed.

It runs ``gilbench run`` on a slice of the quick profile, SIGKILLs one pyperf worker
while it measures, interrupts the run with SIGINT (Ctrl-C) a few points later, checks
that no process was left behind, resumes with ``--resume``, and then checks that the
results folder loads, that every planned point is there with all its pyperf processes,
and that the report renders.  It prints how many points were measured, lost (must be 0)
and resumed, and exits 1 if anything was lost or left behind.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pyperf

from gilbench.analysis.store import load_results
from gilbench.measure.bridge import PROGRAM_ARGS
from gilbench.run.command import RunOptions, plan_run, run_plan

WAIT_S = 600.0


def _points_saved(folder: Path) -> dict[str, int]:
    """Point name -> runs with values, from the run's result file (empty until written)."""
    files = [p for p in folder.glob("*.json") if "-" in p.name and ".failures" not in p.name]
    if not files:
        return {}
    try:
        suite = pyperf.BenchmarkSuite.load(str(files[0]))
    except Exception:  # replaced atomically; a read can still race a first write
        return {}
    return {b.get_name(): sum(1 for r in b.get_runs() if r.values) for b in suite}


def _wait(condition: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if proc.poll() is not None:
            raise RuntimeError(f"the run ended before {what}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _descendants(pid: int) -> set[int]:
    try:
        return {c.pid for c in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def _alive(pids: set[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            continue
    return sorted(out)


def _kill_one_worker(pid: int) -> str | None:
    """SIGKILL one pyperf worker process under ``pid``; return its point's name.  A
    worker's pure-Python capacity helpers are forks of it with the same command line:
    the worker is the one whose parent is not such a process."""
    found: dict[int, tuple[psutil.Process, list[str]]] = {}
    for child in psutil.Process(pid).children(recursive=True):
        try:
            cmdline = child.cmdline()
        except psutil.Error:
            continue
        if "--worker" in cmdline and PROGRAM_ARGS[-1] in cmdline:
            found[child.pid] = (child, cmdline)
    for child, cmdline in found.values():
        try:
            if child.ppid() in found:
                continue
        except psutil.Error:
            continue
        point = cmdline[cmdline.index("--point") + 1] if "--point" in cmdline else "?"
        child.send_signal(signal.SIGKILL)
        return point
    return None


def run_chaos(root: Path, profile: str, workloads: str) -> int:
    """The whole scenario in ``root``; returns the exit status."""
    results = root / "results"
    args = ["run", "--profile", profile, "--workload", workloads, "--machine", "chaos",
            "--results", str(results), "--no-report"]  # fmt: skip
    options = RunOptions(
        profile=profile, workloads=tuple(workloads.split(",")), machine="chaos",
        results=str(results),
    )  # fmt: skip
    plan = plan_run(options)
    planned = {p.name for p in plan.points}
    folder = results / "chaos"
    print(f"chaos: {len(planned)} points planned ({workloads}, profile {profile})", flush=True)

    command = [sys.executable, "-m", "gilbench", *args]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen: set[int] = set()

    def saved_at_least(n: int) -> Callable[[], bool]:
        def check() -> bool:
            seen.update(_descendants(proc.pid))
            return len(_points_saved(folder)) >= n

        return check

    _wait(saved_at_least(2), proc, "two points were saved")
    killed = None
    deadline = time.monotonic() + WAIT_S
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        seen.update(_descendants(proc.pid))
        killed = _kill_one_worker(proc.pid)
        time.sleep(0.01)
    print(f"chaos: killed a pyperf worker measuring {killed}", flush=True)
    before = len(_points_saved(folder))
    _wait(saved_at_least(before + 3), proc, "three more points were saved")
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=120)
    interrupted_ok = proc.returncode == 130
    measured_before = len(_points_saved(folder))
    left = _alive(seen)
    print(
        f"chaos: interrupted with SIGINT: exit status {proc.returncode} (expected 130); "
        f"{measured_before} points saved; processes left behind: {len(left)}",
        flush=True,
    )

    resumed = run_plan(plan_run(dataclasses.replace(options, resume=True)))
    print(f"chaos: resumed: {resumed.summary()}", flush=True)

    loaded = load_results(results)
    runs = _points_saved(folder)
    wanted_runs = plan.profile.processes
    lost = sorted(planned - set(runs))
    short = sorted(name for name, count in runs.items() if count < wanted_runs)
    report = subprocess.run(
        [sys.executable, "-m", "gilbench", "report", str(results), "-o", str(root / "report")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    html = root / "report" / "index.html"
    rendered = report.returncode == 0 and html.exists()
    print(
        f"chaos: measured {len(runs)} of {len(planned)} points, lost {len(lost)}, "
        f"resumed after the interruption: {measured_before}, short of runs: {len(short)}, "
        f"files skipped by the loader: {len(loaded.skipped)}, report rendered: {rendered}"
    )
    problems = []
    if not interrupted_ok:
        problems.append(f"the interrupted run exited {proc.returncode}:\n{output[-2000:]}")
    if killed is None:
        problems.append("no pyperf worker could be killed")
    if left:
        problems.append(f"processes left behind: {left}")
    if resumed.failures or resumed.interrupted:
        details = "; ".join(f"{f.point.name}: {f.reason}: {f.detail}" for f in resumed.failures)
        problems.append(f"the resumed run did not complete: {details or 'interrupted'}")
    if lost or short:
        problems.append(f"lost: {lost}; short of runs: {short}")
    if loaded.skipped or not rendered:
        problems.append(f"skipped: {loaded.skipped}; report: {report.stderr[-2000:]}")
    for problem in problems:
        print(f"chaos: FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    """Parse the options and run the scenario in a temporary folder (kept with --keep)."""
    parser = argparse.ArgumentParser(prog="python -m gilbench.selfcheck.chaos", description=__doc__)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--workload", default="cpu.fib,io.sleep,sync.lock")
    parser.add_argument("--keep", action="store_true", help="keep the results and report")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="gilbench-chaos-"))
    try:
        return run_chaos(root, args.profile, args.workload)
    finally:
        if args.keep:
            print(f"chaos: results and report kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
