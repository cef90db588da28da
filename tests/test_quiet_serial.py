"""An interpreter's single-thread cost found in every process that ran a workload's
tasks serially (issue 24): the serial point alone has three noisy processes a side; every
other point's processes timed serial partners too, and each process's quiet serial time
per task, pooled over them and tested by rank, finds a 6 % cost on a host that slows a
third of the processes by half (docs/statistics.md, "The single-thread cost")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyperf
import pytest
from helpers import make_bench, write_suite

from gilbench.analysis.compare import compare, load_side
from gilbench.analysis.compare_units import QUIET_LABEL

PER_TASK = 0.1 / 32  # the serial point's batch over its tasks
SLOWED = 0.3  # the share of processes the host slowed ...
SLOWDOWN = 1.5  # ... by this much (the 2-core VM's, 2026-12-07)


def _point(rng: np.random.Generator, cost: float, backend: str, workers: int,
           quiet: bool = True, **meta: object) -> pyperf.Benchmark:  # fmt: skip
    """Three processes of one point: their serial work takes ``cost`` times the
    reference's time, 3 % apart (log sd) between processes, and a process the host
    slowed takes half as long again (its batches, partners and quiet figure alike)."""
    runs = []
    for process in range(3):
        off = float(np.exp(rng.normal(0, 0.03)))
        if rng.random() < SLOWED:
            off *= SLOWDOWN
        serial = [0.1 * cost * off * float(np.exp(rng.normal(0, 0.005))) for _ in range(4)]
        extra: dict[str, object] = {"round": process + 1}
        if quiet:
            extra["serial_quiet_s"] = PER_TASK * cost * off * 0.98
        values = serial
        if backend != "serial":
            values = [s / min(workers, 2) for s in serial]
            extra["paired_serial_s"] = " ".join(f"{s:.9g}" for s in serial)
        runs.append(pyperf.Run(values, warmups=None, collect_metadata=False, metadata={
            "name": f"cpu.fib(n=20) {backend} workers={workers} cores=2", "unit": "second",
            "loops": 1, **extra}))  # fmt: skip
    first = make_bench(backend=backend, workers=workers, values=(0.1,), **meta)
    return pyperf.Benchmark([pyperf.Run(r.values, warmups=None, collect_metadata=False,
                                        metadata={**first.get_runs()[0].get_metadata(),
                                                  **r.get_metadata()})
                             for r in runs])  # fmt: skip


def _sides(root: Path, cost_b: float, ab_run: str | None = "20260101T000000Z",
           seed: int = 11, quiet: bool = True) -> tuple[Path, Path]:  # fmt: skip
    paths = []
    for side, cost in (("a", 1.0), ("b", cost_b)):
        rng = np.random.default_rng(seed if side == "a" else seed + 1)
        meta: dict[str, object] = {"machine": "box", "interpreter": f"cpython3.1{side}"}
        if ab_run:
            meta["ab_run"] = ab_run
        benches = [_point(rng, cost, "serial", 1, quiet, **meta)]
        benches += [_point(rng, cost, backend, workers, quiet, **meta)
                    for backend in ("threads", "processes") for workers in (1, 2, 4)]  # fmt: skip
        paths.append(write_suite(root / "ab" / f"{seed}-{side}.json", benches))
    return paths[0], paths[1]


def _table(root: Path, cost_b: float, **kwargs: object):  # type: ignore[no-untyped-def]
    a, b = _sides(root, cost_b, **kwargs)  # type: ignore[arg-type]
    return compare(load_side(str(a), root), load_side(str(b), root))


def test_the_quiet_row_finds_a_single_thread_cost_the_serial_point_cannot(tmp_path: Path) -> None:
    table = _table(tmp_path, 1.06)
    quiet = table[table["backend"] == QUIET_LABEL].iloc[0]
    serial = table[table["backend"] == "serial"].iloc[0]
    assert quiet["compared"].startswith("quiet serial speed (")
    assert quiet["B/A"] == pytest.approx(1 / 1.06, rel=0.02)  # B runs serial work slower
    assert quiet["B/A low"] < quiet["B/A"] < quiet["B/A high"]
    assert bool(quiet["significant"]) is True
    assert bool(serial["significant"]) is False  # 3 processes, a third slowed: too noisy
    assert quiet["detectable_pct"] < serial["detectable_pct"]


def test_the_quiet_row_stays_quiet_in_a_a_tests(tmp_path: Path) -> None:
    flagged = 0
    for seed in range(20):
        table = _table(tmp_path, 1.0, seed=100 + 2 * seed)
        flagged += int(table[table["backend"] == QUIET_LABEL]["significant"].any())
    assert flagged <= 2  # 5 % of 20 is 1; a margin for the draw


def test_files_without_quiet_figures_fall_back_on_partners(tmp_path: Path) -> None:
    table = _table(tmp_path, 1.06, quiet=False)
    quiet = table[table["backend"] == QUIET_LABEL].iloc[0]
    assert quiet["B/A"] == pytest.approx(1 / 1.06, rel=0.03)  # 18 partners a side
    assert quiet["compared"].endswith("of 36 set aside as slowed)")


def test_separate_runs_get_no_quiet_row(tmp_path: Path) -> None:
    table = _table(tmp_path, 1.06, ab_run=None)
    assert QUIET_LABEL not in set(table["backend"])
