"""Physics as a guard (docs/design.md, rule 14): numbers no machine can produce are marked
suspect with the reason, left out of verdicts, and listed in the terminal, the report
and the CSV."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd
import pytest
from helpers import gilbench, make_bench, write_suite
from rich.console import Console

from gilbench.analysis.physics import (
    physics_warnings,
    pinned_cpus,
    speedup_reason,
    suspect_lines,
    suspect_reasons,
)
from gilbench.analysis.store import load_results
from gilbench.analysis.tidy import tidy
from gilbench.analysis.verdict import judge
from gilbench.cli.run import print_guards
from gilbench.report.speedups import marked_speedups

ONE_CORE = "speedup 1.48x on 1 core: pure Python cannot beat serial on one core"


def _row(  # noqa: PLR0917 - test rows read best as one positional line each
    backend: str, workers: int, speedup: float, effective: float = 1.0, cores: int = 1,
    kind: str = "cpu", spread: float = math.nan, cpu_list: str = "",
) -> dict[str, object]:  # fmt: skip
    return {
        "machine": "m", "interpreter": "cpython3.11", "gil_enabled": True,
        "workload": "cpu.mandelbrot", "params": "", "kind": kind, "backend": backend,
        "start_method": "", "workers": workers, "cores": cores, "speedup": speedup,
        "speedup_spread": spread, "effective_cores": effective, "cpu_list": cpu_list,
        "name": f"cpu.mandelbrot() {backend} workers={workers} cores={cores}",
    }  # fmt: skip


def _with_suspect(rows: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    return frame.assign(suspect=suspect_reasons(frame))


def test_a_pure_python_speedup_above_one_core_is_suspect_and_a_small_one_is_not() -> None:
    frame = _with_suspect([
        _row("serial", 1, 1.0),
        _row("threads", 2, 1.48),
        _row("asyncio", 2, 1.05),
        _row("processes", 2, 1.10),  # the allowance's edge: not above it
        _row("threads", 2, 1.48, kind="cpu-released"),  # not pure Python: not this rule
    ])  # fmt: skip
    assert list(frame["suspect"]) == ["", ONE_CORE, "", "", ""]


def test_the_allowance_is_the_points_own_spread_with_a_floor_and_a_cap() -> None:
    def reason(speedup: float, spread: float) -> str:
        return speedup_reason("cpu", "processes", speedup, workers=2, cpus=2, spread=spread)

    assert reason(2.19, math.nan) == ""  # floor: 2 x 1.10
    assert reason(2.21, math.nan).startswith("speedup 2.21x with 2 workers on 2 cores")
    assert reason(2.21, 0.05) != ""  # a small spread buys no more than the floor
    assert reason(2.3, 0.2) == ""  # within its own uncertainty
    assert reason(2.45, 0.6) == ""  # the cap: 2 x 1.25 = 2.5
    assert "allowing ±25%" in reason(2.6, 0.6)
    # one worker cannot beat serial, whatever the cores and the spread
    assert speedup_reason("cpu", "threads", 1.2, workers=1, cpus=2, spread=0.3) == (
        "speedup 1.20x with 1 worker: pure Python cannot beat serial with one worker"
    )


def test_effective_cores_above_the_pinned_cpus_are_suspect_for_every_throughput_kind() -> None:
    frame = _with_suspect([
        _row("processes", 2, 1.8, effective=2.6, cores=2, cpu_list="0-1"),
        _row("processes", 2, 1.8, effective=2.6, cores=2, kind="io"),  # no list: cores
        _row("processes", 2, 1.8, effective=2.15, cores=2, cpu_list="0-1"),  # within 10 %
        _row("processes", 2, 0.9, effective=1.3, cores=2, cpu_list="1", kind="sync"),
        _row("processes", 2, 0.9, effective=5.0, cores=2, kind="mixed"),  # not throughput
    ])  # fmt: skip
    reason = "effective cores 2.60 on 2 pinned CPUs: more CPU time than the pinned CPUs can give"
    assert list(frame["suspect"]) == [
        reason,
        reason,
        "",
        "effective cores 1.30 on 1 pinned CPU: more CPU time than the pinned CPUs can give",
        "",
    ]
    assert pinned_cpus("0-3,6", 2) == 5
    assert pinned_cpus("", 2) == pinned_cpus(float("nan"), 2) == pinned_cpus("x", 2) == 2


def test_both_reasons_are_joined() -> None:
    frame = _with_suspect([_row("threads", 2, 1.48, effective=1.5)])
    assert frame["suspect"].iloc[0] == (
        f"{ONE_CORE}; effective cores 1.50 on 1 pinned CPU: more CPU time than the pinned "
        "CPUs can give"
    )


def test_a_suspect_point_is_left_out_of_the_verdict_which_says_so() -> None:
    frame = _with_suspect([
        _row("serial", 1, 1.0),
        _row("threads", 2, 1.48),
        _row("threads", 4, 0.99),
        _row("processes", 2, 0.97),
    ])  # fmt: skip
    verdict = judge(frame)
    assert verdict is not None
    assert verdict.threads == "1 core"
    assert (verdict.best_backend, verdict.best_speedup, verdict.best_workers) == (
        "threads",
        0.99,
        4,
    )
    assert verdict.evidence.startswith("threads: 0.99x at 1 cores (4 workers)")
    assert verdict.evidence.endswith(
        "; left out as suspect (beyond physics): threads workers=2 cores=1"
    )
    unguarded = judge(frame.drop(columns="suspect"))
    assert unguarded is not None
    assert unguarded.best_speedup == 1.48
    everything_suspect = _with_suspect([_row("threads", 2, 1.48)])
    assert judge(everything_suspect) is None


def test_terminal_report_and_table_mark_suspect_points() -> None:
    rows = [_row("threads", 2, 1.48), *[_row("threads", w, 1.5 + w / 100) for w in range(3, 8)]]
    frame = _with_suspect([_row("serial", 1, 1.0), *rows])
    lines = suspect_lines(frame)
    assert lines[0] == f"cpu.mandelbrot() threads workers=2 cores=1 on cpython3.11: {ONE_CORE}"
    [warning] = physics_warnings(frame)
    assert warning.startswith("6 points beyond what physics allows, marked suspect")
    assert warning.endswith("; and 1 more")
    console = Console(record=True, width=400)
    print_guards(frame, None, console)
    text = console.export_text()
    assert text.count("suspect: ") == 3  # a few named, then the count
    assert "6 suspect points beyond what physics allows" in text
    marked = marked_speedups(frame)
    assert list(marked[:2]) == ["1.000", "1.480 ⚠ suspect"]
    assert physics_warnings(frame[frame["suspect"] == ""]) == []
    assert marked_speedups(frame.iloc[:1]).dtype == float  # nothing suspect: numbers stay


def test_the_exported_csv_passes_the_stop_hooks_physics_check(tmp_path: Path) -> None:
    """The repository's stop hook flags cpu rows with speedup > min(workers, cores) x 1.1
    in `gilbench export --format csv`: each row it flags carries its reason in the CSV."""
    one_core = {"cores": 1, "name": "x", "cpu_list": "1"}
    benches = [
        make_bench("cpu.mandelbrot", "serial", 1, values=(0.148, 0.148, 0.148), **one_core),
        make_bench("cpu.mandelbrot", "threads", 2, values=(0.1, 0.1, 0.1), **one_core),
        make_bench("cpu.mandelbrot", "processes", 2, values=(0.141, 0.141, 0.141), **one_core),
    ]
    for bench, backend in zip(benches, ("serial", "threads", "processes"), strict=True):
        bench.update_metadata({"name": f"cpu.mandelbrot() {backend} cores=1"})
    path = write_suite(tmp_path / "results" / "box" / "20260101T000000Z-cpython3.11.json",
                       benches)  # fmt: skip
    result = gilbench("export", str(path), "--format", "csv")
    assert result.returncode == 0, result.stderr
    df = pd.read_csv(io.StringIO(result.stdout))
    cpu = df[(df["kind"] == "cpu") & df["speedup"].notna()]
    limit = cpu[["workers", "cores"]].min(axis=1) * 1.1
    bad = cpu[cpu["speedup"] > limit]
    assert list(bad["backend"]) == ["threads"]  # 1.48x on one core
    assert bad["suspect"].iloc[0] == ONE_CORE
    assert df.loc[df["backend"] != "threads", "suspect"].isna().all()  # "" reads back as NaN
    assert list(df["cpu_list"]) == [1, 1, 1]
    frame = tidy(load_results(path))
    assert set(frame["suspect"]) == {"", ONE_CORE}


@pytest.mark.parametrize("columns", [[], ["speedup"], ["name", "interpreter"]])
def test_frames_without_the_columns_have_nothing_suspect(columns: list[str]) -> None:
    frame = pd.DataFrame(columns=columns)
    assert suspect_lines(frame) == []
    assert physics_warnings(frame) == []


def test_a_suspect_speedup_on_cpus_of_unequal_speed_says_so() -> None:
    """On a 16-vCPU KVM guest, two pinned CPUs ran a fib batch in about 100 and 165-185
    ms: a serial partner on the slow one made one worker read 1.62x."""
    rows = [
        {**_row("threads", 1, 1.62, cores=2, cpu_list="1-2"), "cpu_speed_ratio": 1.9},
        {**_row("processes", 2, 1.9, cores=2, cpu_list="1-2"), "cpu_speed_ratio": 1.9},
        {**_row("asyncio", 1, 1.3, cores=2, cpu_list="1-2"), "cpu_speed_ratio": 1.05},
    ]
    reasons = list(_with_suspect(rows)["suspect"])
    assert reasons[0] == (
        "speedup 1.62x with 1 worker: pure Python cannot beat serial with one worker (its "
        "pinned CPUs ran at speeds 1.90x apart: serial work and workers on CPUs of "
        "different speeds)"
    )
    assert reasons[1] == ""  # within physics: nothing to explain
    assert "apart" not in reasons[2]  # suspect, but its CPUs were equal
