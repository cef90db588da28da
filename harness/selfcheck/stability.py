"""Two runs of the same matrix held against each other: how far their headline numbers
(paired speedups, capacity efficiency) lie apart, and whether either has points beyond
physics.  The self-benchmark's stability rows (gilbench.selfcheck.selfbench) and issue 15's
acceptance are stated in these terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gilbench.analysis.store import load_results
from gilbench.analysis.tidy import tidy
from gilbench.vocabulary import headline_mask

#: Two runs agree on a number when they are at most this far apart (relative).
AGREE = 0.05
#: The share of headline points that must agree, and the most any may differ.
WITHIN_SHARE = 0.90
APART = 0.10


def headline_speedups(results: Path) -> pd.DataFrame:
    """Speedup (and its spread) and capacity efficiency of every headline point
    (vocabulary.headline_mask: cpu, released and io work at the highest core count, with
    at least as many workers as cores, every backend but serial): the points issue 15's
    stability targets are stated over.  Indexed ``workload(params) backend workers=N``
    (no parentheses for a workload without parameters), so every parameter combination
    of a broad profile is its own point."""
    frame = tidy(load_results(results))
    top = frame[headline_mask(frame)]
    params = top["params"].fillna("-").astype(str)
    labels = (
        top["workload"]
        + params.map(lambda text: "" if text == "-" else f"({text})")
        + " "
        + top["backend"]
        + top["start_method"].fillna("").map(lambda m: f"[{m}]" if m else "")
        + " workers="
        + top["workers"].astype(str)
    )
    nan = pd.Series(float("nan"), index=top.index)
    return pd.DataFrame(
        {"speedup": top["speedup"].to_numpy(), "spread": top["speedup_spread"].to_numpy(),
         "capacity_efficiency": top.get("capacity_efficiency", nan).to_numpy()},
        index=labels.to_numpy(),
    )  # fmt: skip


def suspect_count(results: Path) -> int:
    """How many points of ``results`` are marked suspect (beyond physics; the tidy
    table's ``suspect`` column, where the analysis writes one)."""
    frame = tidy(load_results(results))
    if "suspect" not in frame:
        return 0
    return int((frame["suspect"].fillna("").astype(str) != "").sum())


@dataclass(frozen=True)
class Stability:
    """How two runs' headline speedups agree."""

    worst: float  # largest relative difference
    where: str  # the point with it
    compared: int  # headline speedups both runs have
    median: float  # median relative difference
    p90: float  # 90th percentile of the relative differences
    within: int  # how many differ by at most the target
    noise: float  # median spread of the speedups over rounds, within the runs

    def text(self) -> str:
        """The table cell."""
        return (
            f"{self.worst:.1%} largest difference ({self.where}); median {self.median:.1%}, "
            f"90th percentile {self.p90:.1%}; "
            f"{self.within} of {self.compared} within {AGREE:.0%}; "
            f"spread within a run (pairs, else rounds) ±{self.noise:.1%}"
        )

    @property
    def within_share(self) -> float:
        """The share of the compared points within the target of each other."""
        return self.within / self.compared if self.compared else float("nan")

    def meets_acceptance(self, apart: float | None = APART) -> bool:
        """At least 90 % within 5 %, and (``apart``) none further apart than that."""
        ok = self.compared > 0 and self.within_share >= WITHIN_SHARE
        return ok and (apart is None or self.worst <= apart)


def stability(first: Path, second: Path, column: str = "speedup") -> Stability:
    """Compare a headline column of two runs (``speedup``, ``capacity_efficiency``)."""
    a, b = headline_speedups(first), headline_speedups(second)
    common = a.index.intersection(b.index)
    both = pd.concat([a.loc[common, column], b.loc[common, column]], axis=1).dropna()
    common = both.index
    low = both.min(axis=1)
    diffs = (both.iloc[:, 0] - both.iloc[:, 1]).abs() / low
    spreads = pd.concat([a.loc[common, "spread"], b.loc[common, "spread"]]).dropna()
    return Stability(
        worst=float(diffs.max()),
        where=str(diffs.idxmax()),
        compared=len(common),
        median=float(diffs.median()),
        p90=float(diffs.quantile(0.9)),
        within=int((diffs <= AGREE).sum()),
        noise=float(spreads.median()) if len(spreads) else float("nan"),
    )
