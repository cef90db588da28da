"""Noise checks: reasons to distrust some numbers, shown in the terminal and the report."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from gilbench.analysis.latency_stats import TREND_LIMIT, UTILISATION_COLUMN, UTILISATION_LIMIT
from gilbench.analysis.paired import delivered_capacity, uses_python_capacity
from gilbench.analysis.physics import UNEQUAL_SPEEDS
from gilbench.vocabulary import LATENCY_KIND, PURE_PYTHON_KIND, backend_label, headline_mask

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
    warnings.extend(baseline_warnings(frame))
    warnings.extend(capacity_warnings(frame))
    warnings.extend(speed_warnings(frame))
    warnings.extend(tail_warnings(frame))
    warnings.extend(limit_warnings(frame))
    warnings.extend(shares_warnings(frame))
    warnings.extend(queue_warnings(frame))
    warnings.extend(pairs_warnings(frame))
    warnings.extend(dispatch_notes(frame))
    return warnings


def dispatch_notes(frame: pd.DataFrame) -> list[str]:
    """A line naming what one-worker process pools cost on pure Python: one worker does
    the serial work plus handing every task to another process and its result back
    (pickling, a pipe, a wake-up), so its speedup reads below 1 for that reason alone,
    not for the GIL's; the gap is the dispatch cost of the task size measured."""
    needed = {"kind", "backend", "workers", "speedup"}
    if frame.empty or not needed <= set(frame.columns):
        return []
    rows = frame[
        (frame["kind"] == PURE_PYTHON_KIND)
        & (frame["backend"] == "processes")
        & (frame["workers"] == 1)
        & (frame["speedup"] < 1)
    ]
    if "suspect" in rows:
        rows = rows[rows["suspect"].fillna("") == ""]
    if rows.empty:
        return []
    low, high = rows["speedup"].min(), rows["speedup"].max()
    return [
        f"{len(rows)} one-worker process pools read {low:.2f}–{high:.2f}x of serial on pure "
        "Python: that is their dispatch (each task pickled to another process and its "
        "result back), not the GIL"
    ]


def unsettled_warnings(frame: pd.DataFrame) -> list[str]:
    """A line naming the headline speedups (vocabulary.is_headline) that did not settle
    after settling, by their run profile's tolerances: their pairs (older files: rounds)
    still spread wider than ``settle_tolerance`` (median absolute deviation over the
    median), or leaving one process out still moves them by more than ``sway_tolerance``
    (``speedup_sway``; runs that recorded no sway tolerance are not judged on it)."""
    if "speedup_spread" not in frame.columns or frame.empty:
        return []
    rows = frame[headline_mask(frame)]
    spread_over = rows["speedup_spread"] / rows["settle_tolerance"]
    if {"speedup_sway", "sway_tolerance"} <= set(rows.columns):
        sway_over = rows["speedup_sway"] / rows["sway_tolerance"]
    else:
        sway_over = pd.Series(float("nan"), index=rows.index)
    over = pd.concat([spread_over, sway_over], axis=1).max(axis=1)
    loose = rows[over > 1]
    if loose.empty:
        return []
    order = over[loose.index].sort_values(ascending=False).index
    examples = ", ".join(_why_unsettled(loose.loc[i]) for i in order[:3])
    spread_tol = " or ".join(f"{v:.0%}" for v in sorted(set(loose["settle_tolerance"])))
    rules = f"their pairs still disagree by more than {spread_tol} (median deviation)"
    sway_rows = sway_over[loose.index].dropna()
    if (sway_rows > 1).any():
        sway_tol = " or ".join(
            f"{v:.0%}" for v in sorted(set(loose.loc[sway_rows.index, "sway_tolerance"]))
        )
        rules += f" or one process still moves them by more than {sway_tol}"
    return [
        f"{len(loose)} of {len(rows)} headline speedups did not settle: {rules}, e.g. "
        f"{examples}; differences smaller than that between runs or machines are noise"
    ]


def _why_unsettled(row: pd.Series) -> str:
    """``<name> (±9% over 12 pairs)`` or ``<name> (one of 5 processes moves it 8%)``,
    whichever is further beyond its tolerance."""
    spread_over = row["speedup_spread"] / row["settle_tolerance"]
    sway = row.get("speedup_sway", float("nan"))
    sway_over = sway / row.get("sway_tolerance", float("nan"))
    if pd.notna(sway_over) and not sway_over <= spread_over:
        processes = row.get("ci_units")
        of = f"one of {int(processes)} processes" if pd.notna(processes) else "one process"
        return f"{row['name']} ({of} moves it {sway:.0%})"
    return f"{row['name']} (±{row['speedup_spread']:.0%} over {_units(row)})"


def _units(row: object) -> str:
    """What a speedup's spread is over: ``8 pairs`` (time-paired batches) or ``5 rounds``."""
    # A row of a frame holds numpy numbers, which are not Python ints: read it as a float.
    try:
        pairs = float(getattr(row, "pairs", 0))
    except (TypeError, ValueError):
        pairs = 0.0
    if pairs > 0:  # NaN is not
        return f"{int(pairs)} pairs"
    return f"{getattr(row, 'rounds', '?')} rounds"


def _label(row: pd.Series) -> str:
    """``<workload> threads workers=2 cores=2``: a point as the warnings name it."""
    backend = backend_label(str(row["backend"]), row.get("start_method"))
    return f"{row['workload']} {backend} workers={row['workers']} cores={row['cores']}"


def _examples(rows: pd.DataFrame, text: Callable[[pd.Series], str], limit: int = 3) -> str:
    """The first ``limit`` rows as ``text`` says, and how many more there are."""
    shown = [text(row) for _, row in rows.head(limit).iterrows()]
    more = len(rows) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


# A paired speedup and the baseline speedup (the separately measured serial point over
# the point) are two estimates of one number.  The baseline's two sides were measured
# minutes apart, and a shared machine's speed drifts by tens of percent over minutes
# (the issue that brought pairs measured up to 99 % between rounds), so they disagree
# by a few percent as a matter of course.  Warn when they disagree by more than 10 %
# *and* by more than twice the pairs' own spread (median absolute deviation of the
# per-pair ratios over their median, which is about half the pairs' interquartile
# range): beyond both, the pairs agree among themselves far better than they agree with
# the baseline, so the machine changed between the serial point's pass and the point's.
BASELINE_DISAGREES = 0.10
BASELINE_SPREADS = 2.0


def baseline_warnings(frame: pd.DataFrame) -> list[str]:
    """A line naming the paired speedups that disagree with their baseline speedup by
    more than the noise (see :data:`BASELINE_DISAGREES`)."""
    needed = {"pairs", "baseline_speedup", "speedup", "speedup_spread"}
    if frame.empty or not needed <= set(frame.columns):
        return []
    known = frame["baseline_speedup"].notna() & frame["speedup"].notna()
    rows = frame[(frame["pairs"] > 0) & known]
    if rows.empty:
        return []
    gap = (rows["baseline_speedup"] / rows["speedup"] - 1).abs()
    allowed = (BASELINE_SPREADS * rows["speedup_spread"].fillna(0)).clip(lower=BASELINE_DISAGREES)
    # (assign before filtering: an empty frame would take the assigned Series' index)
    far = rows.assign(gap=gap)[gap > allowed].sort_values("gap", ascending=False)
    if far.empty:
        return []
    examples = _examples(
        far,
        lambda r: (
            f"{_label(r)}: {r['speedup']:.2f}x paired, {r['baseline_speedup']:.2f}x "
            "against the serial point"
        ),
    )
    return [
        f"{len(far)} of {len(rows)} paired speedups disagree with the separately measured "
        f"serial point by more than {BASELINE_DISAGREES:.0%} and twice their pairs' spread "
        f"({examples}): the machine's speed changed between the two; the paired speedup "
        "was measured in the same moments and is the one shown"
    ]


# A point whose pinned CPUs delivered less than this share of its cores' worth of work.
CAPACITY_BELOW = 0.9


def capacity_warnings(frame: pd.DataFrame) -> list[str]:
    """A line naming the points whose pinned CPUs delivered less than 90 % of their
    cores' worth of work (pure-Python work for pure-Python points: gilbench.analysis.
    paired.delivered_capacity) while they were measured."""
    if frame.empty or "capacity" not in frame.columns:
        return []
    rows = frame.assign(_delivered=delivered_capacity(frame), _python=uses_python_capacity(frame))
    rows = rows[rows["_delivered"].notna()]
    low = rows[rows["_delivered"] < CAPACITY_BELOW * rows["cores"]].sort_values("_delivered")
    if low.empty:
        return []
    examples = _examples(
        low,
        lambda r: (
            f"{_label(r)}: the {r['cores']} pinned CPUs delivered {r['_delivered']:.1f} "
            f"cores' worth of {'pure-Python work' if r['_python'] else 'work'}"
        ),
        limit=5,
    )
    return [
        f"{len(low)} of {len(rows)} points ran on CPUs that delivered less than "
        f"{CAPACITY_BELOW:.0%} of their cores' worth of work ({examples}); their "
        "capacity_efficiency holds them against what the machine could deliver"
    ]


def speed_warnings(frame: pd.DataFrame) -> list[str]:
    """A line naming the points whose pinned CPUs ran pure Python at unequal speeds (the
    fastest more than :data:`~gilbench.analysis.physics.UNEQUAL_SPEEDS` times the
    slowest: gilbench.measure.capacity.cpu_speeds): their speedups against one CPU
    depend on which CPU the serial work ran on."""
    if frame.empty or "cpu_speed_ratio" not in frame.columns:
        return []
    rows = frame[frame["cpu_speed_ratio"].notna()]
    unequal = rows[rows["cpu_speed_ratio"] > UNEQUAL_SPEEDS]
    if unequal.empty:
        return []
    unequal = unequal.sort_values("cpu_speed_ratio", ascending=False)
    examples = _examples(unequal, lambda r: f"{_label(r)} ({r['cpu_speed_ratio']:.2f}x)")
    return [
        f"{len(unequal)} of {len(rows)} points ran on pinned CPUs of unequal speed (pure "
        f"Python on the fastest up to {unequal['cpu_speed_ratio'].max():.2f}x as fast as on "
        f"the slowest: {examples}): the serial reference ran on each of them in turn, so "
        "speedups hold against an average CPU of the set, but pairs and processes that "
        "ran while the speeds moved disagree more: read those points with their intervals"
    ]


#: A point whose pool workers sat idle for more than this share of a batch while its
#: last tasks finished: the batch, not the work, limits its speedup.
TAIL_SHARE_ABOVE = 0.10


def tail_warnings(frame: pd.DataFrame) -> list[str]:
    """A line naming the points whose pool batches left more than
    :data:`TAIL_SHARE_ABOVE` of their usable workers idle while the last tasks finished
    (``share_tail``: gilbench.measure.tail): too few tasks per worker for those tasks'
    spread, which caps the speedup whatever the work."""
    if frame.empty or "share_tail" not in frame.columns:
        return []
    rows = frame[frame["share_tail"].notna()]
    long = rows[rows["share_tail"] > TAIL_SHARE_ABOVE].sort_values("share_tail", ascending=False)
    if long.empty:
        return []
    examples = _examples(
        long,
        lambda r: (
            f"{_label(r)}: {r['share_tail']:.0%} idle, {r['tasks_per_worker']:.0f} tasks per worker"
        ),
    )
    return [
        f"{len(long)} of {len(rows)} pool points spent more than {TAIL_SHARE_ABOVE:.0%} of "
        f"their workers' time idle waiting for a batch's last tasks ({examples}): the batch "
        "limits their speedup, not the work; --tasks-per-worker gives each worker more"
    ]


def limit_warnings(frame: pd.DataFrame) -> list[str]:
    """A line counting the pure-Python speedups whose 95 % interval reaches past what
    their cores allow (``speedup_ci_beyond_limit``): shown whole, marked, never cut."""
    if frame.empty or "speedup_ci_beyond_limit" not in frame.columns:
        return []
    beyond = frame[frame["speedup_ci_beyond_limit"].fillna(False).astype(bool)]
    if beyond.empty:
        return []
    examples = _examples(
        beyond,
        lambda r: (
            f"{_label(r)}: {r['speedup']:.2f}x "
            f"[{r['speedup_ci_low']:.2f}, {r['speedup_ci_high']:.2f}]"
        ),
    )
    return [
        f"{len(beyond)} pure-Python speedup "
        f"{'intervals reach' if len(beyond) != 1 else 'interval reaches'} "
        f"past min(workers, cores), which no speedup can pass ({examples}): shown whole and "
        "marked \u2020; such a point is less certain than its estimate looks"
    ]


# Running + run queue may exceed the workers' time by a scheduler tick per read.
SHARES_EXCESS = 0.05


def shares_warnings(frame: pd.DataFrame) -> list[str]:
    """A line naming points whose running + run-queue time exceeded the workers' time
    by more than a few percent (clipped: their blocked share reads 0)."""
    if frame.empty or "shares_excess" not in frame.columns:
        return []
    # A serial batch moves its thread from CPU to CPU on purpose (one reference CPU:
    # gilbench.measure.backends.serial), which the scheduler's counters show as excess;
    # its shares say nothing a reader needs.
    pools = frame[frame["backend"] != "serial"]
    over = pools[pools["shares_excess"] > SHARES_EXCESS].sort_values("shares_excess")
    if over.empty:
        return []
    examples = _examples(over[::-1], lambda r: f"{_label(r)} (+{r['shares_excess']:.0%})")
    return [
        f"{len(over)} points' workers ran or waited for a CPU longer than their batches "
        f"lasted, by more than {SHARES_EXCESS:.0%} ({examples}): their time shares were "
        "clipped and are approximate"
    ]


def queue_warnings(frame: pd.DataFrame) -> list[str]:
    """A line naming the latency points whose requests queued up: latency grew through
    the run (``latency_trend``) or the responder was never idle (its utilisation): the
    schedule outran it, so their percentiles measure a queue, not the responder
    (gilbench.analysis.latency_stats)."""
    if frame.empty or "latency_trend" not in frame:
        return []
    rows = frame[frame["kind"] == LATENCY_KIND]
    busy = rows.get(UTILISATION_COLUMN, pd.Series(float("nan"), index=rows.index))
    queued = rows[(rows["latency_trend"] > TREND_LIMIT) | (busy > UTILISATION_LIMIT)]
    if queued.empty:
        return []
    examples = ", ".join(
        f"{r['name']} (trend {r['latency_trend']:.2f}, utilisation "
        f"{r.get(UTILISATION_COLUMN, float('nan')):.0%})"
        for _, r in queued.sort_values("latency_trend", ascending=False).head(3).iterrows()
    )
    return [
        f"{len(queued)} of {len(rows)} latency points kept a queue (latency grew through "
        f"the run, rank correlation above {TREND_LIMIT}, or the responder was busy more than "
        f"{UTILISATION_LIMIT:.0%} of the time), e.g. {examples}: requests came faster than "
        "it answered, so those percentiles measure the queue, not the responder"
    ]


def pairs_warnings(frame: pd.DataFrame) -> list[str]:
    """A line naming the headline speedups that rest on fewer time-paired batches
    (``pairs``) or fewer rounds with pairs (``paired_rounds``) than their run's profile
    asks for (``profile_pairs``, ``profile_rounds``: gilbench.analysis.settings): a worker
    process or round was lost, or its partners did not match its values.  Points measured
    before pairs existed (no pairs and no capacity: older files) are not named; their
    speedups divide the serial point, as they always did."""
    needed = {"pairs", "paired_rounds", "profile_pairs", "profile_rounds"}
    if frame.empty or not needed <= set(frame.columns):
        return []
    rows = frame[headline_mask(frame)]
    capacity = rows["capacity"] if "capacity" in rows else pd.Series(float("nan"), rows.index)
    rows = rows[(rows["pairs"] > 0) | capacity.notna()]
    # Unknown expectations (NaN) compare False: a point is named only against a number.
    short = rows[
        (rows["pairs"] < rows["profile_pairs"]) | (rows["paired_rounds"] < rows["profile_rounds"])
    ]
    if short.empty:
        return []
    examples = _examples(
        short.sort_values("pairs"),
        lambda r: (
            f"{_label(r)}: {int(r['pairs'])} of {int(r['profile_pairs'])} pairs in "
            f"{int(r['paired_rounds'])} of {int(r['profile_rounds'])} rounds"
        ),
    )
    return [
        f"{len(short)} of {len(rows)} headline speedups rest on fewer time-paired batches "
        f"than their profile asks for ({examples}): they are less sure than the others"
    ]
