"""Task size and the crossover (issue 25): break-even lengths on synthetic tables, the
sweep's matrix, its figure and CSV, and the decision row it keeps."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from gilbench.analysis.crossover import (
    break_even,
    crossover_table,
    crossovers,
    duration_text,
    task_size_curves,
)
from gilbench.analysis.decision import decisions
from gilbench.benchmarks import get_workload
from gilbench.report.console import task_size_lines
from gilbench.report.task_size import task_size_figures
from gilbench.run.matrix import build_matrix
from gilbench.run.profiles import get_profile

# Serial time per task (µs) by loops, and (threads, processes) speedups at 2 workers.
SWEEP = {
    120: (10.0, (0.95, 0.10)),
    400: (30.0, (0.97, 0.30)),
    1200: (100.0, (0.98, 0.80)),
    12000: (1000.0, (0.99, 1.60)),
    120000: (10000.0, (0.99, 1.90)),
}


def _row(loops: int, backend: str, speedup: float, half: float = 0.05) -> dict[str, object]:
    task_us, _ = SWEEP[loops]
    serial = backend == "serial"
    return {
        "machine": "m", "interpreter": "cpython3.11", "gil_enabled": True,
        "free_threaded": False, "workload": "cpu.task_size", "params": f"loops={loops}",
        "kind": "cpu", "backend": backend,
        "start_method": "forkserver" if backend == "processes" else "",
        "workers": 1 if serial else 2, "cores": 2, "tasks": 16 if serial else 32,
        "median_s": task_us * 16 / 1e6 if serial else 1.0, "speedup": speedup,
        "speedup_ci_low": math.nan if serial else speedup * (1 - half),
        "speedup_ci_high": math.nan if serial else speedup * (1 + half),
        "effective_cores": 1.0, "suspect": "",
    }  # fmt: skip


def _sweep(half: float = 0.05) -> pd.DataFrame:
    rows = []
    for loops, (_, (threads, processes)) in SWEEP.items():
        rows += [_row(loops, "serial", 1.0), _row(loops, "threads", threads, half),
                 _row(loops, "processes", processes, half)]  # fmt: skip
    return pd.DataFrame(rows)


def test_break_even_interpolates_on_log_scales() -> None:
    # 0.5x at 100 µs, 2x at 400 µs: log-linear, the crossing is at the geometric middle.
    assert break_even([100, 400], [0.5, 2.0]) == pytest.approx(200.0)
    assert break_even([10, 100, 1000], [1.2, 0.9, 1.5]) > 100  # the last time below 1
    assert break_even([10, 100], [1.1, 1.5]) == -math.inf  # above 1 everywhere
    assert break_even([10, 100], [0.5, 0.9]) == math.inf  # never within the lengths
    assert math.isnan(break_even([10, 100], [0.5, math.nan]))


def test_curves_take_the_serial_time_per_task_as_the_length() -> None:
    curves = task_size_curves(_sweep())
    processes = curves[curves["backend"] == "processes[forkserver]"]
    assert processes["task_us"].tolist() == pytest.approx([10, 30, 100, 1000, 10000])
    assert set(curves["backend"]) == {"threads", "processes[forkserver]"}


def test_processes_break_even_between_the_lengths_that_bracket_1() -> None:
    found = {(c.backend, c.against): c for c in crossovers(_sweep())}
    serial = found[("processes[forkserver]", "serial")]
    # 0.80x at 100 µs, 1.60x at 1 ms: log-linear crossing at 10 ** (2 + log(1.25)/log(2)).
    expected = 10 ** (2 + math.log(1 / 0.8) / math.log(2))
    assert serial.task_us == pytest.approx(expected, rel=1e-6)
    assert serial.low_us < serial.task_us < serial.high_us  # the interval brackets it
    assert found[("threads", "serial")].task_us == math.inf  # threads never pay here
    # Against threads (about 1x everywhere) the break-even is nearly the same length.
    against = found[("processes[forkserver]", "threads")]
    assert against.task_us == pytest.approx(serial.task_us, rel=0.1)
    assert "µs" in serial.text()
    assert "[" in serial.text()
    assert found[("threads", "serial")].text() == "above 10 ms (the longest measured)"


def test_a_wider_interval_gives_a_wider_break_even_interval() -> None:
    narrow = {(c.backend, c.against): c for c in crossovers(_sweep(0.05))}
    wide = {(c.backend, c.against): c for c in crossovers(_sweep(0.25))}
    key = ("processes[forkserver]", "serial")
    assert wide[key].low_us < narrow[key].low_us
    assert wide[key].high_us > narrow[key].high_us


def test_one_length_gives_no_curve() -> None:
    one = _sweep()[lambda f: f["params"] == "loops=12000"]
    assert task_size_curves(one).empty
    assert crossovers(one) == []


def test_table_figure_and_terminal_line(tmp_path: Path) -> None:
    found = crossovers(_sweep())
    table = crossover_table(found)
    assert {"break_even_us", "break_even_ci_low_us", "break_even_ci_high_us"} <= set(table)
    assert len(table) == 3  # threads vs serial, processes vs serial and vs threads
    (figure,) = task_size_figures("cpu.task_size", _sweep())
    assert "<svg" in str(figure.svg)
    assert "breaks even with" in str(figure.table)
    (line,) = [x for x in task_size_lines(_sweep()) if "processes" in x]
    assert "processes[forkserver] breaks even with serial" in line


def test_the_decision_keeps_the_sweeps_default_only() -> None:
    default = f"loops={get_workload('cpu.task_size').default_params['loops']}"
    rows = decisions(_sweep())
    assert [d.params for d in rows] == [default]


def test_the_sweep_runs_at_one_worker_per_core_on_every_cpu() -> None:
    wl = get_workload("cpu.task_size")
    backends = ["serial", "threads", "processes", "asyncio"]
    quick = build_matrix([wl], backends, get_profile("quick"), 4)
    default = build_matrix([wl], backends, get_profile("default"), 4)
    assert {(p.cores, p.workers) for p in quick if p.backend != "serial"} == {(4, 4)}
    assert len({p.params["loops"] for p in quick}) == 2  # quick: the first two lengths
    assert len({p.params["loops"] for p in default}) == len(wl.params["loops"])
    assert "asyncio" not in {p.backend for p in default}  # inline on a loop: no point


def test_duration_text() -> None:
    assert [duration_text(x) for x in (35, 1200, 12000)] == ["35 µs", "1.2 ms", "12 ms"]
