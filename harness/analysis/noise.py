"""Noise checks: reasons to distrust some numbers, shown in the terminal and the report."""

from __future__ import annotations

import pandas as pd

from gilbench.vocabulary import LATENCY_KIND, headline_mask

# A point whose values vary more than this (stdev / mean) is flagged as noisy.
NOISY_RSD = 0.10
# A load average above this share of the machine's CPUs at the start flags it as busy.
BUSY_LOAD_SHARE = 0.5


def noise_warnings(frame: pd.DataFrame) -> list[str]:
    """One line per problem: a machine busy when a run started, points with scattered values."""
    if frame.empty:
        return []
    warnings = []
    for (machine, run_id), rows in frame.groupby(["machine", "run_id"], sort=True):
        # The machine's size, not the cores the points used: a --cores 1 run on an
        # 8-CPU machine with a load of 1 is not a busy machine.
        cpus = int(rows["machine_cpus"].max())
        load = rows["load_before"].max()
        if pd.notna(load) and load > BUSY_LOAD_SHARE * cpus:
            warnings.append(
                f"{machine}, run {run_id}: the machine was busy when the run started "
                f"(load average {load:.2f} on {cpus} CPUs): numbers may be noisy"
            )
    drift = frame[frame["backend"] == "serial"]["round_drift"].max()
    if pd.notna(drift) and drift > NOISY_RSD:
        warnings.append(
            f"the machine's speed drifted by up to {drift:.0%} between rounds (serial "
            "baselines); speedups pair each point with its baseline round by round"
        )
    # A latency point's values are its distribution: their spread is the finding.
    noisy = frame[(frame["rsd"] > NOISY_RSD) & (frame["kind"] != LATENCY_KIND)]
    if not noisy.empty:
        worst = noisy.sort_values("rsd", ascending=False).head(3)
        examples = ", ".join(f"{r.name} ({r.rsd:.0%})" for r in worst.itertuples(index=False))
        throughput_points = int((frame["kind"] != LATENCY_KIND).sum())
        warnings.append(
            f"{len(noisy)} of {throughput_points} throughput points vary by more than "
            f"{NOISY_RSD:.0%} "
            f"(stdev / mean within a round), e.g. {examples}"
        )
    warnings.extend(unsettled_warnings(frame))
    return warnings


def unsettled_warnings(frame: pd.DataFrame) -> list[str]:
    """A line naming the headline speedups (vocabulary.is_headline) whose rounds still
    disagree after settling by more than their run's profile allows (its tolerance:
    the median absolute deviation of the per-round ratios over their median)."""
    if "speedup_spread" not in frame.columns or frame.empty:
        return []
    rows = frame[headline_mask(frame)]
    loose = rows[rows["speedup_spread"] > rows["settle_tolerance"]]
    if loose.empty:
        return []
    worst = loose.sort_values("speedup_spread", ascending=False).head(3)
    examples = ", ".join(
        f"{r.name} (±{r.speedup_spread:.0%} over {r.rounds} rounds)"
        for r in worst.itertuples(index=False)
    )
    tolerances = sorted(set(loose["settle_tolerance"]))
    tolerance = " or ".join(f"{value:.0%}" for value in tolerances)
    return [
        f"{len(loose)} of {len(rows)} headline speedups did not settle: their rounds still "
        f"disagree by more than {tolerance} (median deviation), e.g. {examples}; "
        "differences smaller than that between runs or machines are noise"
    ]
