"""The A/A check's pure parts on synthetic result folders (issue 16, item 5)."""

from __future__ import annotations

from pathlib import Path

import pyperf
from helpers import make_bench, write_suite

from gilbench.selfcheck.aa_check import Coverage, Flags, aa_rows, coverage, flags


def _processes(
    bench: pyperf.Benchmark, partners: list[str], scales: list[float]
) -> pyperf.Benchmark:
    run = bench.get_runs()[0]
    meta = run.get_metadata()
    return pyperf.Benchmark([
        pyperf.Run([v * s for v in run.values], warmups=None, collect_metadata=False,
                   metadata={**meta, "round": i + 1,
                             **({"paired_serial_s": p} if p else {})})
        for i, (p, s) in enumerate(zip(partners, scales, strict=True))
    ])  # fmt: skip


def _run(root: Path, threads_scale: float, serial_partner: float = 0.1) -> Path:
    """serial (3 processes) and threads at 2 workers, paired: speedup about
    serial_partner / (0.05 x threads_scale)."""
    scales = [1.0, 1.02, 0.98]
    pair = f"{serial_partner} {serial_partner * 1.01}"
    write_suite(root / "box" / "20260101T000000Z-cpython3.11.json", [
        _processes(make_bench(values=(0.1, 0.1)), ["", "", ""], scales),
        _processes(make_bench(backend="threads", workers=2, values=(0.05, 0.0505)),
                   [pair] * 3, [threads_scale * s for s in scales]),
    ])  # fmt: skip
    return root


def test_two_runs_of_the_same_thing_flag_nothing_and_are_covered(tmp_path: Path) -> None:
    first, second = _run(tmp_path / "a", 1.0), _run(tmp_path / "b", 1.0)
    found = flags(first, second)
    assert found == Flags(matched=2, flagged=0, headline_flagged=0)
    assert found.ok()
    covered = coverage(first, second)
    assert covered == Coverage(inside=1, with_interval=1, without_interval=0)
    assert covered.ok()


def test_a_real_change_is_flagged_on_the_headline_and_falls_outside(tmp_path: Path) -> None:
    first, second = _run(tmp_path / "a", 1.0), _run(tmp_path / "b", 0.5)
    found = flags(first, second)
    assert found.flagged == 1
    assert found.headline_flagged == 1
    assert not found.ok()
    assert coverage(first, second).inside == 0
    rows = {measure: step() for measure, _, step in aa_rows(first, second)}
    assert [ok for _, ok in rows.values()] == [False, False]
    assert any("1 headline" in text for text, _ in rows.values())
