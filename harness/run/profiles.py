"""Profiles: how long to measure (pyperf process and value counts) and how wide a matrix.

The rules each profile follows, with the measurements behind them in docs/method.md,
"Profiles: why they are shaped as they are":

- **no warmups** in quick and default: pools are started and warmed before timing, and a
  warmup would cost a whole time-paired batch thrown away;
- **settling by processes**: a headline point that one process decides, or whose pairs
  spread wide, gets up to two more processes within a small share of the run's time;
- **an even number of values**: one serial batch partners the backend batch before it
  and the one after it, so an odd count costs as much as the next even one;
- **more pairs where the verdicts look** (``headline_values``), fewer elsewhere;
- **few processes, in rounds**: three rounds of one process keep the moments a point is
  measured at apart, without paying for more process starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# pyperf warmups of a latency point: none.  Its worker makes its untimed requests itself,
# after calibrating the schedule (gilbench.measure.latency.WARMUP_REQUESTS): pyperf
# looks its hooks up again before the values, scanning every installed package's entry
# points, and with the CPU load already running that scan waited 1.8 s for the GIL.
LATENCY_WARMUPS = 0


class UnknownProfileError(LookupError):
    """Raised for a profile name that is not defined; the message lists valid names."""


@dataclass(frozen=True)
class Profile:
    """pyperf settings and matrix breadth for one kind of run."""

    name: str
    description: str
    processes: int  # pyperf worker processes per point, over all rounds
    rounds: int  # interleaved passes over the matrix; each gives a point processes / rounds
    values: int  # timed values per process
    # Timed values per process of a headline point (throughput work at the highest core
    # count, workers >= cores, not serial: gilbench.vocabulary.is_headline), whose
    # speedups the verdicts and the summary rest on; at least ``values``.
    headline_values: int
    warmups: int  # untimed values per process
    min_time: float  # pyperf calibrates loops so one value takes at least this long (s)
    loops: int  # batches per value; 0 lets pyperf calibrate (one extra worker process)
    io_max_workers: int  # widest worker count for io work; CPU work goes to 2 x cores
    io_worker_step: int  # io worker sweep: powers of this (2: 1, 2, 4, 8 ..; 4: 1, 4, 16 ..)
    all_params: bool  # every parameter combination, not just each workload's default
    all_start_methods: bool  # processes as one variant per start method, not just the default
    # Kinds measured at every core count (1, 2, 4, ... all); the others at all cores only.
    # None means every kind.
    core_sweep_kinds: frozenset[str] | None
    # Kinds measured at their widest worker count only (beside their serial baseline): a
    # first look at how contended locks and queues behave, without the sweep up to it.
    widest_only_kinds: frozenset[str]
    point_timeout: float  # seconds before a point is killed and recorded as timed out
    # Latency (mixed) points: one request per value, at least this many per point over
    # its processes (latency_values each), every one in its percentiles: 100 support a
    # p90, 1,000 a p99 (gilbench.analysis.latency_stats: 10 requests beyond a percentile).
    # Quick takes 150 (15 beyond its p90): beside two pure-Python threads a request waits
    # whole switch intervals, and its two such points took 60 to 77 s of a quick run at
    # 200, the margin settling needed to keep quick within 8 minutes.
    latency_requests: int
    dense_load_sweep: bool  # CPU workers beside a responder: 0, 1, 2, 3 .. or 0, 1, 2, 4 ..
    load_per_core: int  # ... up to this many per core (1: K <= cores, 2: twice as many)
    # A latency workload that sweeps its parameters (sweep_params) is measured at the first
    # this many values of each, in the order it declares them (None: all).  A request
    # there waits whole switch intervals, so each value costs up to minutes of requests.
    swept_values: int | None
    # Latency points at every core count of the profile's sweep, or at all cores only:
    # 1,000 open-loop requests beside CPU threads take a minute or more per point.
    latency_core_sweep: bool
    # A throughput workload that sweeps its parameters (a task-size sweep) is measured at
    # the first this many values of each (None: all), at one worker per core and every
    # CPU only: its crossover needs every value, a first look the first few.
    swept_throughput_values: int | None
    # Settling (gilbench.run.settle): after the rounds, headline points whose per-pair
    # (older files: per-round) speedups spread wider than settle_tolerance get up to
    # settle_rounds extra rounds, within settle_share of the time the profile's rounds
    # took.  settle_tolerance is also the spread the report calls settled, with or
    # without extra rounds (gilbench.analysis.noise.unsettled_warnings).
    settle_rounds: int
    settle_tolerance: float
    settle_share: float
    # ... and so do headline points whose speedup one process decides: leaving any one
    # process's pairs out moves it by more than sway_tolerance (gilbench.analysis.rounds.
    # process_sway).  Each extra round is then one more process of the point alone.
    sway_tolerance: float
    # Work per worker, not per batch (docs/method.md, "Tasks per worker"): a pool point's
    # batch holds at least this many tasks per worker, so that the workers left idle
    # while the batch's last tasks finish are a small share of it at any worker count.
    # The serial partner times a fixed sample and speedups compare rates.
    tasks_per_worker: int = 8
    # The time a run of this profile may take, in seconds (None: no limit; --budget sets
    # another): the first pass measures every point, later passes and settling go to the
    # headline points first, as long as they fit (gilbench.run.orchestrator.run_points).
    budget_s: float | None = None

    def __post_init__(self) -> None:
        if self.rounds < 1 or self.processes % self.rounds:
            raise ValueError(f"profile {self.name}: processes must be a multiple of rounds")
        if self.headline_values < self.values:
            raise ValueError(f"profile {self.name}: headline points get at least `values`")

    @property
    def processes_per_round(self) -> int:
        """pyperf processes a point gets in each round."""
        return self.processes // self.rounds

    @property
    def latency_values(self) -> int:
        """Requests (pyperf values) per process of a latency point."""
        return math.ceil(self.latency_requests / self.processes)

    @property
    def pyperf_settings(self) -> str:
        """The pyperf settings in one line, recorded with every point."""
        loops = self.loops or "calibrated"
        return (
            f"processes={self.processes} rounds={self.rounds} values={self.values} "
            f"headline_values={self.headline_values} warmups={self.warmups} "
            f"loops={loops} min_time={self.min_time} latency_values={self.latency_values} "
            f"settle_rounds={self.settle_rounds} settle_tolerance={self.settle_tolerance} "
            f"sway_tolerance={self.sway_tolerance} tasks_per_worker={self.tasks_per_worker}"
        )

    def values_for(self, latency: bool = False, headline: bool = False) -> int:
        """Timed values per process of a point: ``latency_values`` requests for a latency
        point, ``headline_values`` batches for a headline point, else ``values``."""
        if latency:
            return self.latency_values
        return self.headline_values if headline else self.values

    def worker_args(
        self, latency: bool = False, loops: int | None = 1, headline: bool = False
    ) -> list[str]:
        """pyperf worker options for one process of a point.  ``latency`` points time one
        request per value and take ``latency_values`` of them; a ``headline`` point takes
        ``headline_values``; ``loops`` None asks the worker to calibrate the loop count
        instead of timing."""
        args = [
            "--values",
            str(self.values_for(latency, headline)),
            "--warmups",
            str(LATENCY_WARMUPS if latency else self.warmups),
            "--min-time",
            str(self.min_time),
        ]
        return [*args, "--calibrate-loops"] if loops is None else [*args, "--loops", str(loops)]


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "smoke",
            "checks that everything runs, in seconds; the numbers mean little",
            processes=1,
            rounds=1,
            values=2,
            headline_values=2,
            warmups=0,
            min_time=0.01,
            loops=1,
            io_max_workers=4,
            io_worker_step=2,
            all_params=False,
            all_start_methods=False,
            core_sweep_kinds=frozenset(),
            widest_only_kinds=frozenset(),
            point_timeout=60,
            latency_requests=20,
            dense_load_sweep=False,
            load_per_core=1,
            swept_values=2,
            latency_core_sweep=False,
            swept_throughput_values=2,
            settle_rounds=0,
            settle_tolerance=1.0,
            settle_share=0.0,
            sway_tolerance=1.0,
            tasks_per_worker=2,
        ),
        Profile(
            "quick",
            "a first look: 3 rounds x 1 process x 2 paired batches (4 for headline points, "
            "and up to 2 more processes where one process decides them), "
            "cpu work on 1..all cores, "
            "sync work at its widest only",
            # Three processes: the fewest independent units an interval is computed from
            # (gilbench.analysis.intervals); 2 values each keep the cost of the old 2 x 4.
            processes=3,
            rounds=3,
            values=2,
            headline_values=4,
            warmups=0,
            min_time=0.05,
            loops=1,
            io_max_workers=16,
            io_worker_step=4,
            all_params=False,
            all_start_methods=False,
            core_sweep_kinds=frozenset({"cpu"}),
            widest_only_kinds=frozenset({"sync"}),
            point_timeout=120,
            latency_requests=150,
            dense_load_sweep=False,
            load_per_core=1,
            swept_values=2,
            latency_core_sweep=False,
            swept_throughput_values=2,
            settle_rounds=2,
            settle_tolerance=0.03,
            settle_share=0.03,
            sway_tolerance=0.02,
            tasks_per_worker=8,
            # 8 minutes on the 2-core VM (docs/method.md, "A run that fits its time").
            budget_s=8 * 60,
        ),
        Profile(
            "default",
            "numbers to act on: 3 rounds x 1 process x 4 paired batches, CPU-bound work "
            "(pure Python and GIL-releasing) on 1, 2, 4 .. cores",
            processes=3,
            rounds=3,
            values=4,
            headline_values=4,
            warmups=0,
            min_time=0.05,
            loops=1,
            io_max_workers=64,
            io_worker_step=4,
            all_params=False,
            all_start_methods=False,
            # CPU-bound work across cores: that is where cores matter.  Waiting work (I/O,
            # locks) at all cores only: measured at every core count it took 6 of the 26
            # minutes a default run took on 2 cores (I/O's serial partners alone are
            # seconds each), for curves that waiting work keeps flat.
            core_sweep_kinds=frozenset({"cpu", "cpu-released"}),
            widest_only_kinds=frozenset(),
            point_timeout=300,
            latency_requests=1000,
            dense_load_sweep=True,
            load_per_core=1,
            swept_values=2,
            latency_core_sweep=False,
            swept_throughput_values=None,
            settle_rounds=2,
            settle_tolerance=0.02,
            settle_share=0.05,
            sway_tolerance=0.02,
            tasks_per_worker=16,
            budget_s=20 * 60,
        ),
        Profile(
            "rigorous",
            "numbers to publish: 4 rounds x 5 processes (pyperf's 20), every parameter, "
            "headline speedups settled to 1 % on their pairs' spread",
            processes=20,
            rounds=4,
            values=3,
            headline_values=3,
            warmups=1,
            min_time=0.1,
            loops=0,
            io_max_workers=256,
            io_worker_step=2,
            all_params=True,
            all_start_methods=True,
            core_sweep_kinds=None,
            widest_only_kinds=frozenset(),
            point_timeout=900,
            latency_requests=2000,
            dense_load_sweep=True,
            load_per_core=2,
            swept_values=None,
            latency_core_sweep=True,
            swept_throughput_values=None,
            settle_rounds=8,
            settle_tolerance=0.01,
            settle_share=0.5,
            sway_tolerance=0.01,
            tasks_per_worker=32,
        ),
    )
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; raises UnknownProfileError listing valid names."""
    try:
        return PROFILES[name]
    except KeyError:
        valid = ", ".join(PROFILES)
        raise UnknownProfileError(f"unknown profile {name!r}; valid profiles: {valid}") from None
