"""Profiles: how long to measure (pyperf process and value counts) and how wide a matrix."""

from __future__ import annotations

from dataclasses import dataclass

# Untimed requests per process before a latency point's values: the load settles in.
LATENCY_WARMUPS = 3


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
    point_timeout: float  # seconds before a point is killed and recorded as timed out
    # Latency (mixed) points: one request per value, this many values per process, so a
    # point's distribution has processes x latency_values requests for its percentiles.
    latency_values: int
    dense_load_sweep: bool  # CPU workers beside a responder: 0, 1, 2, 3 .. or 0, 1, 2, 4 ..
    # Settling (gilbench.run.settle): after the rounds, headline points whose per-round
    # speedups spread wider than settle_tolerance get up to settle_rounds extra rounds,
    # within settle_share of the time the profile's rounds took.
    settle_rounds: int
    settle_tolerance: float
    settle_share: float

    def __post_init__(self) -> None:
        if self.rounds < 1 or self.processes % self.rounds:
            raise ValueError(f"profile {self.name}: processes must be a multiple of rounds")

    @property
    def processes_per_round(self) -> int:
        """pyperf processes a point gets in each round."""
        return self.processes // self.rounds

    @property
    def pyperf_settings(self) -> str:
        """The pyperf settings in one line, recorded with every point."""
        loops = self.loops or "calibrated"
        return (
            f"processes={self.processes} rounds={self.rounds} values={self.values} "
            f"warmups={self.warmups} "
            f"loops={loops} min_time={self.min_time} latency_values={self.latency_values} "
            f"settle_rounds={self.settle_rounds} settle_tolerance={self.settle_tolerance}"
        )

    def worker_args(self, latency: bool = False, loops: int | None = 1) -> list[str]:
        """pyperf worker options for one process of a point.  ``latency`` points time one
        request per value and take ``latency_values`` of them; ``loops`` None asks the
        worker to calibrate the loop count instead of timing."""
        args = [
            "--values",
            str(self.latency_values if latency else self.values),
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
            warmups=0,
            min_time=0.01,
            loops=1,
            io_max_workers=4,
            io_worker_step=2,
            all_params=False,
            all_start_methods=False,
            core_sweep_kinds=frozenset(),
            point_timeout=60,
            latency_values=10,
            dense_load_sweep=False,
            settle_rounds=0,
            settle_tolerance=1.0,
            settle_share=0.0,
        ),
        Profile(
            "quick",
            "a first look: 2 rounds x 1 process x 3 batches, cpu work on 1..all cores",
            processes=2,
            rounds=2,
            values=3,
            warmups=1,
            min_time=0.05,
            loops=1,
            io_max_workers=16,
            io_worker_step=4,
            all_params=False,
            all_start_methods=False,
            core_sweep_kinds=frozenset({"cpu"}),
            point_timeout=120,
            latency_values=20,
            dense_load_sweep=False,
            settle_rounds=4,
            settle_tolerance=0.02,
            settle_share=0.15,
        ),
        Profile(
            "default",
            "numbers to act on: 3 rounds x 1 process x 3 values, every kind on 1, 2, 4 .. "
            "cores, headline speedups settled to 2 %",
            processes=3,
            rounds=3,
            values=3,
            warmups=1,
            min_time=0.05,
            loops=1,
            io_max_workers=64,
            io_worker_step=4,
            all_params=False,
            all_start_methods=False,
            core_sweep_kinds=None,
            point_timeout=300,
            latency_values=40,
            dense_load_sweep=True,
            settle_rounds=4,
            settle_tolerance=0.02,
            settle_share=0.1,
        ),
        Profile(
            "rigorous",
            "numbers to publish: 4 rounds x 5 processes (pyperf's 20), every parameter",
            processes=20,
            rounds=4,
            values=3,
            warmups=1,
            min_time=0.1,
            loops=0,
            io_max_workers=256,
            io_worker_step=2,
            all_params=True,
            all_start_methods=True,
            core_sweep_kinds=None,
            point_timeout=900,
            latency_values=100,
            dense_load_sweep=True,
            settle_rounds=8,
            settle_tolerance=0.01,
            settle_share=0.5,
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
