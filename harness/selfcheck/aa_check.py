"""The A/A check (``nox -s perf``, gilbench.selfcheck.selfbench): two back-to-back runs of the
same thing, judged by the tool's own statistics.

- **flags**: ``gilbench compare`` between them marks a share of the matched points
  significant; nothing changed, so that share should be about the false discovery rate
  (at most 5 %), and no headline point should be marked.
- **coverage**: the share of headline points whose run-2 speedup lies inside run 1's
  95 % interval (gilbench.analysis.intervals); target at least 85 % (a replicate falls
  inside an exact 95 % interval of the first estimate about 83 % of the time when both
  are equally noisy, so meeting it needs intervals that are honest, not narrow).
  Headline points without an interval (fewer than 3 units) are counted apart.

Pure functions on result folders; the rows are added by the self-benchmark.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gilbench.analysis.compare import CompareError, compare, load_side
from gilbench.analysis.store import load_results
from gilbench.analysis.tidy import tidy
from gilbench.vocabulary import backend_label, headline_mask

FLAG_SHARE_AT_MOST = 0.05
COVERAGE_AT_LEAST = 0.85
MATCH = ["workload", "params", "backend", "start_method", "workers", "cores"]


@dataclass(frozen=True)
class Flags:
    """How many matched points ``compare`` marks between two runs."""

    matched: int
    flagged: int
    headline_flagged: int

    @property
    def share(self) -> float:
        return self.flagged / self.matched if self.matched else float("nan")

    def ok(self) -> bool:
        return self.matched > 0 and self.share <= FLAG_SHARE_AT_MOST and not self.headline_flagged


def _headline_keys(frame: pd.DataFrame) -> set[tuple[str, str, int, int]]:
    top = frame[headline_mask(frame)]
    return {
        (f"{r.workload}({r.params})", backend_label(str(r.backend), r.start_method),
         int(str(r.workers)), int(str(r.cores)))
        for r in top.itertuples()
    }  # fmt: skip


def flags(first: Path, second: Path) -> Flags:
    """Compare ``second`` with ``first`` as ``gilbench compare`` does; count the marks."""
    try:
        table = compare(load_side(str(first), first), load_side(str(second), second))
    except CompareError as exc:  # the self-benchmark's row says why
        raise RuntimeError(str(exc)) from None
    headline = _headline_keys(tidy(load_results(first)))
    marked = table[table["significant"].astype(bool)]
    cores = marked["cores"] if "cores" in marked else marked["A cores"]
    keys = zip(marked["workload"], marked["backend"], marked["workers"], cores, strict=True)
    on_headline = sum((w, b, int(n), int(c)) in headline for w, b, n, c in keys)
    return Flags(len(table), len(marked), on_headline)


@dataclass(frozen=True)
class Coverage:
    """How many of run 2's headline speedups lie inside run 1's intervals."""

    inside: int
    with_interval: int
    without_interval: int

    @property
    def share(self) -> float:
        return self.inside / self.with_interval if self.with_interval else float("nan")

    def ok(self) -> bool:
        return self.with_interval > 0 and self.share >= COVERAGE_AT_LEAST


def coverage(first: Path, second: Path) -> Coverage:
    """Run 2's headline speedups against run 1's 95 % intervals."""
    a, b = tidy(load_results(first)), tidy(load_results(second))
    a = a[headline_mask(a) & a["speedup"].notna()]
    both = a.merge(b[[*MATCH, "speedup"]], on=MATCH, suffixes=("", "_2"))
    both = both[both["speedup_2"].notna()]
    has = both["speedup_ci_low"].notna() & both["speedup_ci_high"].notna()
    inside = has & both["speedup_2"].between(both["speedup_ci_low"], both["speedup_ci_high"])
    return Coverage(int(inside.sum()), int(has.sum()), int((~has).sum()))


def aa_rows(first: Path, second: Path) -> list[tuple[str, str, Callable[[], tuple[str, bool]]]]:
    """The self-benchmark's A/A rows: (measure, target, step)."""

    def flag_row() -> tuple[str, bool]:
        found = flags(first, second)
        return (f"{found.flagged} of {found.matched} matched points ({found.share:.1%}); "
                f"{found.headline_flagged} headline", found.ok())  # fmt: skip

    def coverage_row() -> tuple[str, bool]:
        found = coverage(first, second)
        return (f"{found.inside} of {found.with_interval} ({found.share:.0%}); "
                f"{found.without_interval} headline points without an interval",
                found.ok())  # fmt: skip

    return [
        ("A/A: points compare marks significant between the two quick runs",
         "<= 5%, no headline point", flag_row),
        ("A/A: run 2's headline speedups inside run 1's 95% intervals", ">= 85%",
         coverage_row),
    ]  # fmt: skip
