"""What ``compare`` could find, at the state a quick run found the machine in: the rows of
``nox -s perf`` that simulate a changed point (gilbench.analysis.power) at the quick run's
own process spread, and a single-thread cost at its own share of slowed processes."""

from __future__ import annotations

import math
from pathlib import Path

from gilbench.analysis.compare import load_side
from gilbench.analysis.compare_units import NO_UNITS
from gilbench.analysis.power import (
    detection_table,
    observed_quiet,
    observed_spread,
    processes_needed,
    quiet_detection_rate,
)
from gilbench.vocabulary import headline_mask

#: How often a 10 % change must be found at the settings the docs recommend.
DETECT_10 = 0.80


def detection_row(folder: Path) -> tuple[str, bool]:
    """The detection table of gilbench.analysis.power at the process spread of a quick
    run's headline points: what a comparison finds with quick's 3 processes a side and
    with the 12 that docs/statistics.md recommends."""
    side = load_side(str(folder), folder)
    headline = side.frame[headline_mask(side.frame)]
    units = [
        side.units.get((str(r.machine), str(r.interpreter), str(r.name)), NO_UNITS).times
        for r in headline.itertuples(index=False)
    ]
    spread = observed_spread(units)
    rows = detection_table(units=(3, 12), spread=spread)
    text = "; ".join(
        f"{n} processes: 5 % found {rates[0]:.0%}, 10 % {rates[1]:.0%}, 20 % {rates[2]:.0%} "
        f"(A/A {false:.1%})"
        for n, rates, false in rows
    )
    # How many a comparison needs at this day's spread (docs/statistics.md recommends
    # the number for the spread, 12 on an ordinary day here).
    needed = processes_needed(0.10, spread, rate=DETECT_10)
    if needed:
        text += f"; 10 % found at least {DETECT_10:.0%} of the time with {needed} a side"
    else:
        text += "; 10 % needs more than 96 processes a side"
    ok = needed is not None and all(false <= 0.05 for *_, false in rows)
    return f"spread {spread:.1%}; {text}", ok


def quiet_detection_row(folder: Path) -> tuple[str, bool]:
    """What a **serial (quiet)** row of an interleaved A/B run finds at the host's state in
    a quick run: its workloads' quiet serial times pooled as compare pools them (every
    process at every core count), the share the host slowed and the kept units' spread,
    a single-thread cost simulated at those (gilbench.analysis.power)."""
    side = load_side(str(folder), folder)
    pooled: dict[str, list[float]] = {}
    for (_, _, name), units in side.units.items():
        pooled.setdefault(name.split(" ", 1)[0], []).extend(units.quiet)
    slowed, spread, count = observed_quiet(pooled.values())
    if not count or math.isnan(spread):  # no workload with enough kept units
        raise RuntimeError("no workload of the quick run has quiet serial times to pool")
    rates = [quiet_detection_rate(c, units=count, spread=spread, slowed=slowed, trials=200)
             for c in (0.05, 0.10, 0.20)]  # fmt: skip
    found = ", ".join(
        f"{change} found {r[0]:.0%}"
        for change, r in zip(("5 %", "10 %", "20 %"), rates, strict=True)
    )
    text = (
        f"{count} processes a workload, {slowed:.0%} slowed, kept {spread:.1%} apart: {found} "
        f"(A/A {max(r[1] for r in rates):.1%})"
    )
    return text, rates[1][0] >= DETECT_10 and all(r[1] <= 0.05 for r in rates)
