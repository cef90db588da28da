"""``gilbench fleet`` on a real Dask cluster on 127.0.0.1: two workers on one host stand
for two machines (``--machine-from worker``); they share the host, so the host's one
measurement slot must keep their measurements apart in time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
import pyperf
import pytest
from rich.console import Console

from gilbench.analysis.store import load_results
from gilbench.cli import main
from gilbench.cli.parser import build_parser
from gilbench.fleet.guard import ENDED, SLOT_ENV, STARTED, read_stamp
from gilbench.fleet.home import (
    FLEET_LOG,
    bring_home,
    complete_run,
    log_attempt,
    matrix_options,
    read_log,
    run_arguments,
)
from gilbench.fleet.records import DONE, FAILED, MEASURING, MachineStatus, Snapshot, pack
from gilbench.run.command import RunOptions

# A slice that measures 6 points in a few seconds per machine.
SLICE = ["--profile", "smoke", "--workload", "cpu.fib,io.sleep", "--backend", "serial,threads",
         "--workers", "1,2", "--param", "cpu.fib:n=16", "--param", "io.sleep:ms=2",
         "--tasks", "8"]  # fmt: skip
# The same points, slow enough (the io.sleep ones take seconds) to be stopped in the middle.
SLOW = ["--profile", "smoke", "--workload", "cpu.fib,io.sleep", "--backend", "serial,threads",
        "--workers", "1,2", "--param", "cpu.fib:n=16", "--param", "io.sleep:ms=50",
        "--tasks", "16"]  # fmt: skip
POINTS = 6
WAIT_S = 120


# ---- without a cluster ----------------------------------------------------------------


def test_without_dask_fleet_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    with pytest.raises(SystemExit) as exit_info:
        main(["fleet", "--scheduler", "tcp://127.0.0.1:1"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "pip install gilbench[fleet]" in err
    assert len(err.strip().splitlines()) == 1


def test_the_hosts_get_the_same_matrix_options_as_gilbench_run() -> None:
    options = RunOptions(
        profile="quick", workloads=("cpu.fib", "io"), backends=("threads",), workers=(0, 2),
        cores=(1,), params=("cpu.fib:n=20",), tasks=12, point_timeout=30,
    )  # fmt: skip
    args = build_parser().parse_args(["run", *run_arguments(options)])
    for name in ("profile", "tasks", "point_timeout", "workers", "cores"):
        parsed = getattr(args, name)
        expected = getattr(options, name)
        assert (list(parsed) if isinstance(parsed, list) else parsed) == (
            list(expected) if isinstance(expected, tuple) else expected
        )
    assert args.workload == ["cpu.fib", "io"]
    assert args.param == ["cpu.fib:n=20"]


def test_only_result_files_come_home(tmp_path: Path) -> None:
    blob = pack(b'{"x": 1}')
    snapshot = Snapshot(
        "m", DONE, run_file="r.json",
        files={"r.json": blob, "../evil.json": blob, "machine.json": blob, "x.py": blob},
        removed=["r.failures.json", "machine.json"],
    )  # fmt: skip
    (tmp_path / "r.failures.json").write_text("[]")
    (tmp_path / "machine.json").write_text("{}")
    written: dict[str, bytes] = {}
    changed = bring_home(snapshot, tmp_path, written)
    assert sorted(changed) == ["machine.json", "r.failures.json", "r.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["machine.json", "r.json"]
    assert not (tmp_path.parent / "evil.json").exists()
    assert bring_home(snapshot, tmp_path, written) == []  # unchanged bytes are not rewritten


def test_resume_skips_only_a_machine_done_with_the_same_matrix(tmp_path: Path) -> None:
    options = matrix_options(RunOptions(profile="smoke"))
    (tmp_path / "run.json").write_text("{}")
    assert complete_run(tmp_path, "cpython3.11", options) is None
    record = {"status": DONE, "interpreter": "cpython3.11", "run_file": "run.json"}
    log_attempt(tmp_path, {**record, "options": options})
    assert complete_run(tmp_path, "cpython3.11", options) == "run.json"
    assert complete_run(tmp_path, "cpython3.14t", options) is None
    other = matrix_options(RunOptions(profile="quick"))
    assert complete_run(tmp_path, "cpython3.11", other) is None
    log_attempt(tmp_path, {**record, "options": options, "status": "failed"})
    assert complete_run(tmp_path, "cpython3.11", options) is None
    assert len(read_log(tmp_path)) == 2


def _guarded(folder: Path, seconds: float) -> subprocess.Popen[bytes]:
    """A guard around a sleep, with a host slot shared by the guards of this test."""
    command = [sys.executable, "-m", "gilbench.fleet.guard", "--folder", str(folder), "--",
               sys.executable, "-c", f"import time; time.sleep({seconds})"]  # fmt: skip
    folder.mkdir()
    env = {**os.environ, SLOT_ENV: str(folder.parent / "slot.lock")}
    return subprocess.Popen(command, stdin=subprocess.PIPE, start_new_session=True, env=env)


def _started(folder: Path) -> None:
    deadline = time.monotonic() + WAIT_S
    while read_stamp(folder, STARTED) is None:
        assert time.monotonic() < deadline, "the guard never started its command"
        time.sleep(0.05)


def test_the_guard_keeps_one_measurement_per_host_and_stops_on_request(tmp_path: Path) -> None:
    first = _guarded(tmp_path / "a", 1.0)
    _started(tmp_path / "a")
    second = _guarded(tmp_path / "b", 60)  # waits for the host's slot
    assert first.wait(timeout=WAIT_S) == 0
    _started(tmp_path / "b")
    assert second.stdin is not None
    second.stdin.write(b"stop\n")
    second.stdin.flush()
    assert second.wait(timeout=WAIT_S) == 128 + signal.SIGTERM
    second.stdin.close()
    a = (read_stamp(tmp_path / "a", STARTED), read_stamp(tmp_path / "a", ENDED))
    b = (read_stamp(tmp_path / "b", STARTED), read_stamp(tmp_path / "b", ENDED))
    assert None not in (*a, *b)
    assert a[1] <= b[0] or b[1] <= a[0]  # type: ignore[operator]


def test_an_orphaned_guard_stops_its_command_and_cleans_up(tmp_path: Path) -> None:
    proc = _guarded(tmp_path / "run", 60)
    _started(tmp_path / "run")
    child = psutil.Process(proc.pid).children()[0]
    assert proc.stdin is not None
    proc.stdin.close()  # as if the Dask worker died
    assert proc.wait(timeout=WAIT_S) == 128 + signal.SIGTERM
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    assert not (tmp_path / "run").exists()


def test_the_live_view_shows_each_machine_with_its_progress_and_eta() -> None:
    pytest.importorskip("distributed")
    from gilbench.cli.fleet import FleetView

    console = Console(record=True, width=200, force_terminal=False)
    view = FleetView(console)
    now = time.monotonic()
    view.update([
        MachineStatus("laptop", "10.0.0.1", "tcp://10.0.0.1:1", MEASURING, "cpython3.11",
                      runs_done=30, runs_total=40, runs_before=10, started=now - 20),
        MachineStatus("cloud", "10.0.0.2", "tcp://10.0.0.2:1", FAILED, detail="worker lost"),
    ])  # fmt: skip
    console.print(view.table())
    text = console.export_text()
    assert "laptop: measuring" in text  # outside a terminal: one line per change
    assert "30/40 runs (75%)" in text
    assert "~10s" in text  # 20 runs took 20 s; 10 to go
    assert "cloud" in text
    assert "worker lost" in text


# ---- on a LocalCluster ----------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _dask_offload_thread() -> Iterator[None]:
    """Dask keeps one offload thread for the life of the process: start it before the
    leak checks look, and stop it when this module is done."""
    utils = pytest.importorskip("distributed.utils")
    offload = getattr(utils, "_offload_executor", None)  # private: absent in some version?
    if offload is not None:
        offload.submit(lambda: None).result()
    yield
    if offload is not None:
        offload.shutdown(wait=True)


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """A scheduler and two single-threaded worker processes on 127.0.0.1 (with a host
    slot of their own, so nothing else on this machine makes them wait)."""
    distributed = pytest.importorskip("distributed")
    monkeypatch.setenv(SLOT_ENV, str(tmp_path / "slot.lock"))
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, silence_logs=50,
        ) as local,
        distributed.Client(local) as client,
    ):  # fmt: skip
        yield client


def _fleet(client: Any, root: Path, *extra: str) -> list[str]:
    address = client.scheduler.address
    return [sys.executable, "-m", "gilbench", "fleet", "--scheduler", address,
            "--machine-from", "worker", "--results", str(root / "results"),
            "--reports", str(root / "reports"), *extra]  # fmt: skip


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=WAIT_S, check=False)


def _points(machine_dir: Path) -> dict[str, int]:
    """Point name -> runs with values, in the machine's result file (empty if none)."""
    files = [p for p in machine_dir.glob("*-*.json") if not p.name.endswith(".failures.json")]
    if not files:
        return {}
    try:
        suite = pyperf.BenchmarkSuite.load(str(files[0]))
    except Exception:  # replaced atomically; a first write can still race a read
        return {}
    return {b.get_name(): sum(1 for r in b.get_runs() if r.values) for b in suite}


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_two_machines_measure_one_after_another_and_come_home(cluster: Any, tmp_path: Path) -> None:
    out = _run(_fleet(cluster, tmp_path, *SLICE))
    assert out.returncode == 0, out.stderr
    results = tmp_path / "results"
    assert sorted(p.name for p in results.iterdir()) == ["0", "1"]
    intervals = []
    for machine in ("0", "1"):
        folder = results / machine
        (attempt,) = read_log(folder)
        assert attempt["status"] == DONE
        assert attempt["scheduler"] == cluster.scheduler.address
        assert attempt["worker"] in cluster.scheduler_info()["workers"]
        assert (folder / attempt["run_file"]).is_file()
        assert (folder / "machine.json").is_file()
        assert len(_points(folder)) == POINTS
        intervals.append((attempt["started_s"], attempt["ended_s"]))
    (a_start, a_end), (b_start, b_end) = sorted(intervals)
    assert a_start < a_end <= b_start < b_end  # one host, one measurement at a time
    loaded = load_results(results)
    assert not loaded.skipped
    assert sorted(loaded.machines) == ["0", "1"]
    report = next((tmp_path / "reports").glob("fleet-*/index.html"))
    frame = pd.read_csv(report.parent / "results.csv", dtype={"machine": str})
    assert sorted(set(frame["machine"])) == ["0", "1"]  # one report covers both
    table = (report.parent / "compare.md").read_text()
    assert "## 0 (A) vs 1 (B)" in table
    assert "| cpu.fib(n=16) | threads | 2 |" in table
    assert f"report: {report}" in out.stderr.replace("\n", "")


def _tree(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _alive(processes: list[psutil.Process]) -> list[str]:
    out = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                out.append(" ".join(process.cmdline())[:120])
        except psutil.NoSuchProcess:
            continue
    return out


def _measuring(results: Path) -> str | None:
    """The machine whose partial results are home already, if any."""
    for folder in sorted(results.glob("*")):
        if 0 < len(_points(folder)) < POINTS:
            return folder.name
    return None


def _start_until_one_measures(cluster: Any, tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    """Start a slow fleet and wait until one machine has saved a first point (and is
    still measuring): the fleet process and that machine's name."""
    results = tmp_path / "results"
    fleet = subprocess.Popen(
        _fleet(cluster, tmp_path, *SLOW), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _wait(lambda: _measuring(results) is not None or fleet.poll() is not None, "a first point")
    victim = _measuring(results)
    assert victim is not None, fleet.communicate()
    return fleet, victim


def test_a_killed_worker_is_listed_and_resume_completes_it(cluster: Any, tmp_path: Path) -> None:
    results = tmp_path / "results"
    fleet, victim = _start_until_one_measures(cluster, tmp_path)
    workers = cluster.scheduler_info()["workers"]
    address = next(a for a, w in workers.items() if str(w["name"]) == victim)
    pid = cluster.run(os.getpid, workers=[address])[address]
    measurement = _tree(pid)
    assert any("gilbench" in " ".join(p.cmdline()) for p in measurement)
    os.kill(pid, signal.SIGKILL)
    _, err = fleet.communicate(timeout=WAIT_S)
    assert fleet.returncode == 1, err
    _wait(lambda: not _alive(measurement), "the killed worker's measurement to stop")
    saved = _points(results / victim)
    assert 0 < len(saved) < POINTS  # what it measured before it died is home
    (lost,) = read_log(results / victim)
    assert lost["status"] == "failed"
    assert "worker lost" in lost["reason"]
    assert f"failed: {victim}" in err
    other = "1" if victim == "0" else "0"
    assert len(_points(results / other)) == POINTS
    assert read_log(results / other)[-1]["status"] == DONE

    cluster.wait_for_workers(2, timeout=WAIT_S)  # the nanny restarted the killed worker
    out = _run(_fleet(cluster, tmp_path, *SLOW, "--resume"))
    assert out.returncode == 0, out.stderr
    assert len(_points(results / victim)) == POINTS
    resumed = read_log(results / victim)[-1]
    assert resumed["status"] == DONE
    assert resumed["run_file"] == lost["run_file"]  # the same run, completed
    assert f"resumed {len(saved)}" in resumed["reason"]
    assert len(read_log(results / other)) == 1  # done before: not measured again
    assert not load_results(results).skipped


def test_interrupting_the_fleet_stops_every_measurement(cluster: Any, tmp_path: Path) -> None:
    results = tmp_path / "results"
    fleet, victim = _start_until_one_measures(cluster, tmp_path)
    workers = cluster.run(os.getpid)
    measurement = [p for pid in workers.values() for p in _tree(pid)]
    fleet.send_signal(signal.SIGINT)
    _, err = fleet.communicate(timeout=WAIT_S)
    assert fleet.returncode == 130, err
    assert not _alive(measurement)
    assert not [p for pid in workers.values() for p in _alive(_tree(pid))]
    (attempt,) = read_log(results / victim)
    assert attempt["status"] == "cancelled"
    assert 0 < len(_points(results / victim)) < POINTS
    assert "--resume" in err
    assert json.loads((results / victim / FLEET_LOG).read_text().splitlines()[0])["ended_s"]


def test_a_machine_out_of_time_is_stopped_and_keeps_what_it_saved(
    cluster: Any, tmp_path: Path
) -> None:
    workers = cluster.run(os.getpid)
    out = _run(_fleet(cluster, tmp_path, *SLOW, "--timeout", "1.5"))
    assert out.returncode == 1, out.stderr
    for machine in ("0", "1"):
        (attempt,) = read_log(tmp_path / "results" / machine)
        assert attempt["status"] == "timed out"
        assert "no end after 1.5 s" in attempt["reason"]
        assert len(_points(tmp_path / "results" / machine)) < POINTS
    assert not [p for pid in workers.values() for p in _alive(_tree(pid))]


def test_a_host_without_gilbench_is_reported_and_nothing_runs(cluster: Any, tmp_path: Path) -> None:
    bare = tmp_path / "python"  # an interpreter that cannot import gilbench
    bare.write_text(f'#!/bin/sh\nexec {sys.executable} -S "$@"\n')
    bare.chmod(0o755)
    out = _run(_fleet(cluster, tmp_path, *SLICE, "--python", str(bare)))
    assert out.returncode == 1, out.stderr
    assert "2 machines: 2 failed" in out.stderr
    assert f"gilbench is not installed for {bare}" in out.stderr
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())
