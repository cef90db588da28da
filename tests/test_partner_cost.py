"""An interpreter's single-thread cost found in every serial partner (issue 24): the
serial point alone has three noisy processes a side; the partners of every other point
of the workload measure the same thing, and pooled they find a 6 % cost it cannot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyperf
import pytest
from helpers import make_bench, write_suite

from gilbench.analysis.compare import compare, load_side
from gilbench.analysis.compare_units import PARTNERS_LABEL

PER_TASK = 0.1 / 32  # the serial point's batch over its tasks


def _point(rng: np.random.Generator, cost: float, backend: str, workers: int, spread: float,
           **meta: object) -> pyperf.Benchmark:  # fmt: skip
    """Three processes of one point; its partners (and a serial point's values) take
    ``cost`` times the reference's time, each process off by ``spread`` (log sd)."""
    runs = []
    for process in range(3):
        off = float(np.exp(rng.normal(0, spread)))
        serial = [0.1 * cost * off * float(np.exp(rng.normal(0, 0.005))) for _ in range(4)]
        extra: dict[str, object] = {"round": process + 1}
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


def _sides(root: Path, cost_b: float, ab_run: str | None = "20260101T000000Z") -> tuple[Path, Path]:
    paths = []
    for side, cost in (("a", 1.0), ("b", cost_b)):
        rng = np.random.default_rng(11 if side == "a" else 12)
        meta: dict[str, object] = {"machine": "box", "interpreter": f"cpython3.1{side}"}
        if ab_run:
            meta["ab_run"] = ab_run
        benches = [_point(rng, cost, "serial", 1, 0.15, **meta)]  # a noisy serial point
        benches += [_point(rng, cost, backend, workers, 0.03, **meta)
                    for backend in ("threads", "processes") for workers in (1, 2, 4)]  # fmt: skip
        paths.append(write_suite(root / "ab" / f"20260101T000000Z-{side}.json", benches))
    return paths[0], paths[1]


def test_partners_find_a_single_thread_cost_the_serial_point_cannot(tmp_path: Path) -> None:
    a, b = _sides(tmp_path, 1.06)
    table = compare(load_side(str(a), tmp_path), load_side(str(b), tmp_path))
    partners = table[table["backend"] == PARTNERS_LABEL].iloc[0]
    serial = table[table["backend"] == "serial"].iloc[0]
    assert partners["B/A"] == pytest.approx(1 / 1.06, rel=0.02)  # B runs serial work slower
    assert partners["B/A low"] < partners["B/A"] < partners["B/A high"]
    assert bool(partners["significant"]) is True
    assert bool(serial["significant"]) is False  # 3 processes 15 % apart: too noisy
    assert partners["detectable_pct"] < serial["detectable_pct"]


def test_partners_stay_quiet_in_an_a_a_test(tmp_path: Path) -> None:
    a, b = _sides(tmp_path, 1.0)
    table = compare(load_side(str(a), tmp_path), load_side(str(b), tmp_path))
    assert not table[table["backend"] == PARTNERS_LABEL]["significant"].any()


def test_separate_runs_get_no_partner_row(tmp_path: Path) -> None:
    a, b = _sides(tmp_path, 1.06, ab_run=None)
    table = compare(load_side(str(a), tmp_path), load_side(str(b), tmp_path))
    assert PARTNERS_LABEL not in set(table["backend"])
