"""Reliability: broken workloads, interruptions, hostile result files — clear messages,
intact data, nothing left behind."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pyperf
import pytest
from helpers import gilbench, make_bench, write_suite

from gilbench.analysis.store import load_results

CHAOS = ("--workloads-from", "gilbench.selfcheck.chaos_workloads")
# The time limit that kills chaos.hang's point.  Every other point of that run must finish
# within it too (a pyperf worker's start-up included: about 0.5 s here), so it is set far
# above that rather than as short as a fast machine allows: a slow or busy CI machine must
# not turn chaos.ok into a second timeout.
HANG_LIMIT_S = 12


def _own_temp(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A temporary folder of this test's own and an environment that gives it to gilbench
    (TMPDIR): the run's scratch folders, and processes that use them, are then told apart
    from those of anything else running on the machine meanwhile (another test session,
    a type check), which come and go while this test runs."""
    temp = tmp_path / "temp"
    temp.mkdir()
    return temp, {**os.environ, "TMPDIR": str(temp)}


def _processes_running(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if any(marker in part for part in proc.info["cmdline"] or ()):
            found.append(proc)
    return found


def test_a_failing_and_a_hung_workload_are_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    temp, env = _own_temp(tmp_path)
    out = gilbench(
        "run", "--profile", "smoke", *CHAOS, "--workload", "chaos.fail,chaos.hang,chaos.ok",
        "--backend", "serial", "--point-timeout", str(HANG_LIMIT_S), "--machine", "chaosbox",
        "--results", "results", "--reports", "reports", cwd=tmp_path, env=env,
    )  # fmt: skip
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert "timed out" in text
    assert f"no result after {HANG_LIMIT_S} s" in text
    assert "ValueError: chaos.fail always raises" in text
    assert "measured 1, resumed 0, failed 2 of 3 points" in text.replace("\n", " ")
    # The pyperf workers write into the run's scratch folder: none of them may be left.
    assert not _processes_running(str(temp)), "the hung worker was not killed"
    assert not list(temp.glob("gilbench-*")), "the run left its scratch folder behind"

    (result,) = (tmp_path / "results" / "chaosbox").glob("*-cpython*[0-9t].json")
    names = pyperf.BenchmarkSuite.load(str(result)).get_benchmark_names()
    assert [n.split("(")[0] for n in names] == ["chaos.ok"]
    failures = json.loads(result.with_name(result.stem + ".failures.json").read_text())
    assert {f["reason"] for f in failures} == {"failed", "timed out"}

    (report,) = (tmp_path / "reports").glob("*/index.html")
    html = report.read_text()
    assert "2 point(s) produced no result" in html
    assert "chaos.fail always raises" in html


def _benchmarks_in(folder: Path) -> int:
    files = list(folder.glob("*-cpython*[0-9t].json"))
    if not files:
        return 0
    try:
        return len(pyperf.BenchmarkSuite.load(str(files[0])).get_benchmark_names())
    except Exception:  # written atomically, but be patient with the file system
        return 0


def _wait_for(state: Callable[[], bool], proc: subprocess.Popen[str], what: str,
              seen: set[int]) -> None:  # fmt: skip
    """Wait until ``state()`` holds, noting ``proc``'s descendants meanwhile.  The deadline
    only bounds a broken run; the test never bets on how fast the machine is."""
    deadline = time.monotonic() + 120
    while True:
        with contextlib.suppress(psutil.Error):
            seen.update(c.pid for c in psutil.Process(proc.pid).children(recursive=True))
        if state():
            return
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.terminate()  # gilbench kills its workers' process groups on the way out
            output, _ = proc.communicate(timeout=60)
            pytest.fail(f"the run never reached the state {what!r}:\n{output}")
        time.sleep(0.02)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_an_interrupted_run_keeps_its_points_leaves_nothing_behind_and_resumes(
    tmp_path: Path, signum: signal.Signals
) -> None:
    temp, env = _own_temp(tmp_path)
    # chaos.gated holds each measurement at this gate (in its pyperf worker) until it
    # claims the one ticket or the gate is open: the first point runs, the next one waits.
    gate = tmp_path / "gate"
    gate.mkdir()
    (gate / "ticket").touch()
    args = [
        sys.executable, "-m", "gilbench", "run", "--profile", "smoke", *CHAOS,
        "--workload", "chaos.gated", "--param", f"chaos.gated:gate={gate}",
        "--workers", "1,2,3,4", "--machine", "termbox", "--results", "results", "--no-report",
    ]  # fmt: skip
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    folder = tmp_path / "results" / "termbox"
    seen: set[int] = set()
    _wait_for(
        lambda: _benchmarks_in(folder) >= 1 and any(gate.glob("waiting-*")),
        proc, "a point saved and the next one held at the gate", seen,
    )  # fmt: skip
    proc.send_signal(signum)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    kept = _benchmarks_in(folder)
    assert 1 <= kept < 5, output
    assert "interrupted" in output
    alive = [pid for pid in seen if psutil.pid_exists(pid)
             and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]  # fmt: skip
    assert not alive, f"processes left behind: {alive}"
    assert not list(temp.glob("gilbench-*")), "the run left its scratch folder behind"

    (gate / "open").touch()
    resumed = gilbench(*args[3:], "--resume", cwd=tmp_path, env=env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"resumed {kept}" in (resumed.stdout + resumed.stderr).replace("\n", " ")
    assert _benchmarks_in(folder) == 5  # serial + threads at 1, 2, 3 and 4 workers


HOSTILE = "<script>alert(1)</script>"


def test_strings_from_result_files_are_escaped_in_the_report(tmp_path: Path) -> None:
    bench = make_bench(machine=HOSTILE, params=f"n={HOSTILE}", interpreter=HOSTILE)
    path = write_suite(tmp_path / "results" / "box" / "20260101T000000Z-x.json", [bench])
    path.with_name(path.stem + ".failures.json").write_text(json.dumps(
        [{"name": HOSTILE, "reason": HOSTILE, "detail": HOSTILE}]
    ))  # fmt: skip
    out = gilbench("report", "results", "-o", "out", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    html = (tmp_path / "out" / "index.html").read_text()
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_corrupt_failures_file_is_skipped_with_its_reason(tmp_path: Path) -> None:
    path = write_suite(tmp_path / "box" / "20260101T000000Z-x.json", [make_bench()])
    sidecar = path.with_name(path.stem + ".failures.json")
    for text in ("{not json", '{"a": 1}', '[{"name": 1}]', "\udcff"):
        sidecar.write_text(text, errors="surrogateescape")
        loaded = load_results(tmp_path)
        assert len(loaded.suites) == 1
        assert loaded.failures == []
        assert [p.name for p, _ in loaded.skipped] == [sidecar.name]


def test_workloads_from_a_missing_module_exits_2(tmp_path: Path) -> None:
    out = gilbench("run", "--workloads-from", "no_such_module_xyz", "--results", "r",
                   cwd=tmp_path)  # fmt: skip
    assert out.returncode == 2
    assert "could not import workloads from no_such_module_xyz" in out.stderr.replace("\n", " ")
