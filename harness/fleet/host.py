"""What runs on a fleet host: the two Dask tasks.

The Dask worker only starts and watches processes; everything that measures runs in a
subprocess with its own environment (the worker's, less Dask's settings), so the
worker's threads are idle while batches are timed:

- :func:`probe_task` runs ``python -m gilbench.fleet.host OPTIONS``, which plans the
  matrix on the host (its CPUs, its interpreter) and says what it would measure, or why
  it cannot (gilbench missing, an option the host cannot honour).
- :func:`measure_task` runs ``python -m gilbench.fleet.guard --folder TMP -- python
  -m gilbench run ... --no-report --machine NAME --results TMP/results``: the guard
  (:mod:`gilbench.fleet.guard`) takes the host's one slot, then runs the command, and
  stops it when told to or when this worker dies.  Whenever the result files change
  (after a point, never while one is timed), their bytes are published in the
  scheduler's metadata under the task's key, so what a host measured before it died is
  home already; the final bytes are the task's value.

Dask can cancel a task but cannot interrupt its thread, so the task looks every half
second at its own state in the worker: when the scheduler has given up on it (the driver
cancelled it on Ctrl-C, or the driver is gone), or its time is up, it writes ``stop`` to
the guard.  That look is local (no message leaves the host) and the file check is a
stat(): the worker's thread is as good as idle while the batches are timed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gilbench.fleet.guard import ENDED, STARTED, STOP_GRACE_S, read_stamp
from gilbench.fleet.records import (
    CANCELLED,
    DONE,
    FAILED,
    INCOMPLETE,
    MEASURING,
    TIMED_OUT,
    WAITING,
    HostJob,
    Snapshot,
    pack,
    unpack,
)

POLL_S = 0.5  # how often the task looks at the files, its key and the clock
PROBE_TIMEOUT_S = 300.0  # a cold host imports and plans in seconds; this is a backstop
TAIL_LINES = 6
# RunOutcome.summary(): "measured 3, resumed 0, failed 1 of 4 points; load average ..."
SUMMARY = re.compile(r"measured \d+, resumed \d+, failed \d+ of \d+ points")
NOT_INSTALLED = ("No module named gilbench", "No module named 'gilbench'")


def host_environment() -> dict[str, str]:
    """The worker's environment less Dask's own: ``DASK_*`` and what the nanny set for
    its worker process (``distributed.nanny.pre-spawn-environ`` and ``environ``)."""
    import dask.config

    env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")}
    for section in ("pre-spawn-environ", "environ"):
        for key, value in (dask.config.get(f"distributed.nanny.{section}", {}) or {}).items():
            if env.get(key) == str(value):
                del env[key]
    return env


def _tail(text: str) -> str:
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return "\n".join(lines[-TAIL_LINES:]) or "(no output)"


def _not_installed(python: str) -> str:
    return f"gilbench is not installed for {python} (pip install gilbench[fleet] on the host)"


def probe_task(machine_from: str, options: dict[str, Any], python: str | None) -> dict[str, Any]:
    """On a worker: what this host would measure, or ``{"error": why not}``."""
    from distributed import get_worker

    worker = get_worker()
    exe = python or sys.executable
    machine = str(worker.name) if machine_from == "worker" else None
    facts: dict[str, Any] = {"hostname": socket.gethostname(), "worker": worker.address}
    command = [exe, "-m", "gilbench.fleet.host", json.dumps(options)]
    if machine is not None:
        command += ["--machine", machine]
    try:
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            env=host_environment(),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {**facts, "error": f"cannot run {exe}: {exc}"}
    if any(said in proc.stderr for said in NOT_INSTALLED):
        return {**facts, "error": _not_installed(exe)}
    try:
        answer = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {**facts, "error": f"the probe failed: {_tail(proc.stderr)}"}
    return {**facts, **answer}


def _probe(options_json: str, machine: str | None) -> dict[str, Any]:
    """In the probe subprocess: plan the matrix as ``gilbench run`` would on this host."""
    from gilbench import __version__
    from gilbench.run.command import RunOptions, plan_run

    with tempfile.TemporaryDirectory(prefix="gilbench-probe-") as scratch:
        try:
            options = RunOptions(**json.loads(options_json), machine=machine, results=scratch)
            plan = plan_run(options)
        except Exception as exc:  # any refusal of the options, said in one line
            return {"error": f"{type(exc).__name__}: {exc}"}
    return {
        "machine": plan.machine,
        "interpreter": plan.info.tag,
        "python_version": plan.info.version,
        "python": plan.info.executable,
        "points": len(plan.points),
        "runs": len(plan.points) * plan.profile.rounds * plan.profile.processes_per_round,
        "cpus": plan.available,
        "gilbench": __version__,
    }


def _signature(folder: Path) -> dict[str, tuple[int, int]]:
    """The result files in ``folder`` by name, with (mtime, size): cheap to take often."""
    out = {}
    for path in folder.glob("*.json"):
        if not path.name.startswith("."):
            with contextlib.suppress(OSError):
                stat = path.stat()
                out[path.name] = (stat.st_mtime_ns, stat.st_size)
    return out


def _read(folder: Path) -> dict[str, bytes]:
    out = {}
    for name in _signature(folder):
        with contextlib.suppress(OSError):
            out[name] = pack((folder / name).read_bytes())
    return out


def _run_file(names: list[str]) -> str:
    """The run's result file: the newest (names start with the run's UTC time)."""
    runs = sorted(n for n in names if n != "machine.json" and not n.endswith(".failures.json"))
    return runs[-1] if runs else ""


def _cancelled(worker: Any, key: str) -> bool:
    """Whether the scheduler gave up on this task (cancelled, or its client is gone):
    the worker then marks the task's state, though its thread goes on running."""
    try:
        task = worker.state.tasks.get(key)
    except AttributeError:  # a distributed without WorkerState: only the pipe can stop us
        return False
    return task is None or task.state not in ("executing", "long-running")


def _publish(worker: Any, key: str, snapshot: Snapshot) -> None:
    """Store the snapshot in the scheduler under the task's key (dropped with the task)."""
    from distributed.utils import sync

    # Progress is best effort: the final snapshot is also the task's return value.
    with contextlib.suppress(Exception):
        sync(worker.loop, worker.scheduler.set_metadata, keys=[key], value=snapshot.to_dict())


def _ending(code: int, stopped: str | None, output: str, job: HostJob, exe: str) -> tuple[str, str]:
    """How the run ended: (state, detail)."""
    summary = [line for line in output.splitlines() if SUMMARY.match(line)]
    said = summary[-1].strip() if summary else ""
    if stopped == CANCELLED:
        return CANCELLED, f"stopped: the fleet was cancelled; saved so far: {said or 'nothing'}"
    if stopped == TIMED_OUT:
        return TIMED_OUT, f"no end after {job.timeout:g} s; saved so far: {said or 'nothing'}"
    if code == 0:
        return DONE, said
    if code == 1 and said:
        return INCOMPLETE, said
    if any(said in output for said in NOT_INSTALLED):
        return FAILED, _not_installed(exe)
    return FAILED, f"gilbench run exited with status {code}: {_tail(output)}"


def measure_task(job: HostJob) -> dict[str, Any]:
    """On a worker: measure one machine in a guarded subprocess; return its snapshot."""
    from distributed import get_worker

    worker = get_worker()
    exe = job.python or sys.executable
    if _cancelled(worker, job.key):  # cancelled while it waited for this thread
        return Snapshot(job.machine, CANCELLED, detail="cancelled before it started").to_dict()
    folder = Path(tempfile.mkdtemp(prefix="gilbench-fleet-", dir=worker.local_directory))
    results = folder / "results"
    machine_dir = results / job.machine
    machine_dir.mkdir(parents=True)
    for name, blob in job.files.items():  # names from the driver's own listing of home
        (machine_dir / Path(name).name).write_bytes(unpack(blob))
    run = [exe, "-m", "gilbench", "run", *job.run_args, "--no-report"]
    run += ["--machine", job.machine, "--results", str(results)]
    if job.resume:
        run.append("--resume")
    guard = [exe, "-m", "gilbench.fleet.guard", "--folder", str(folder), "--"]
    log_path = folder / "output.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*guard, *run],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**host_environment(), "COLUMNS": "200"},  # its log's lines unwrapped
            cwd=folder,
            start_new_session=True,  # a Ctrl-C in the worker's terminal is not for it
        )
    files = _read(machine_dir)  # what was shipped: progress counts from there
    base = Snapshot(job.machine, WAITING, socket.gethostname(), worker.address, exe)
    base = base.replace(files=files, run_file=_run_file(list(files)))
    _publish(worker, job.key, base)
    try:
        base, stopped = _watch(proc, job, worker, base, folder)
    finally:
        _finish(proc)
    output = log_path.read_text(encoding="utf-8", errors="replace")
    state, detail = _ending(proc.returncode, stopped, output, job, exe)
    files = _read(machine_dir)
    final = base.replace(
        state=state,
        started=read_stamp(folder, STARTED) or 0.0,
        ended=read_stamp(folder, ENDED),
        exit_code=proc.returncode,
        detail=detail,
        run_file=_run_file(list(files)),
        files=files,
        removed=sorted(set(job.files) - set(files)),
    )
    _publish(worker, job.key, final)
    shutil.rmtree(folder, ignore_errors=True)
    return final.to_dict()


def _watch(
    proc: subprocess.Popen[bytes], job: HostJob, worker: Any, base: Snapshot, folder: Path
) -> tuple[Snapshot, str | None]:
    """Wait for the guarded run, publishing its state and new result bytes; stop it
    when cancelled or out of time (counted from when it got the host's slot).  Returns
    the last snapshot and CANCELLED or TIMED_OUT if it was stopped, else None."""
    machine_dir = folder / "results" / job.machine
    seen = _signature(machine_dir)
    stopped: str | None = None
    while True:
        try:
            proc.wait(timeout=POLL_S)
            return base, stopped
        except subprocess.TimeoutExpired:
            pass
        now = _signature(machine_dir)
        started = read_stamp(folder, STARTED) if base.state == WAITING else None
        if started is not None:
            base = base.replace(state=MEASURING, started=started)
        if now != seen or started is not None:
            seen = now
            files = _read(machine_dir)
            base = base.replace(files=files, run_file=_run_file(list(files)))
            _publish(worker, job.key, base)
        if stopped is None:
            running = time.time() - base.started if base.state == MEASURING else 0.0
            if _cancelled(worker, job.key):
                stopped = CANCELLED
            elif job.timeout and running > job.timeout:
                stopped = TIMED_OUT
            if stopped is not None:
                _ask_to_stop(proc)


def _ask_to_stop(proc: subprocess.Popen[bytes]) -> None:
    assert proc.stdin is not None
    with contextlib.suppress(OSError):
        proc.stdin.write(b"stop\n")
        proc.stdin.flush()


def _finish(proc: subprocess.Popen[bytes]) -> None:
    """Make sure the guard is gone: asked to stop, then killed with its group."""
    if proc.poll() is None:
        _ask_to_stop(proc)
        try:
            proc.wait(timeout=STOP_GRACE_S + 10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()


def main(argv: list[str] | None = None) -> int:
    """``python -m gilbench.fleet.host OPTIONS_JSON [--machine NAME]``: the probe."""
    parser = argparse.ArgumentParser(prog="python -m gilbench.fleet.host")
    parser.add_argument("options")
    parser.add_argument("--machine")
    args = parser.parse_args(argv)
    print(json.dumps(_probe(args.options, args.machine)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
