"""gilbench's shared words, defined once: kinds, points and their keys, the context a
number belongs to, and which points are headlines.

Every room imports this module (see harness/README.md), so it imports nothing heavy:
no pandas, no pyperf, no matplotlib.  Functions that read a tidy table take it as an
argument and use only its own methods.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from gilbench.benchmarks import KINDS, Kind, ParamValue, format_params

# Facts named ``*_worst`` combine over runs by maximum, the others by mean: the catalogue
# declares it (benchmarks._registry.Fact), the files and the tidy table follow it.
from gilbench.benchmarks._registry import WORST_SUFFIX

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BASELINE_KEY",
    "CONTEXT_KEY",
    "FACT_KINDS",
    "FACT_PREFIX",
    "HEADLINE_KINDS",
    "KINDS",
    "LATENCY_KIND",
    "LOAD_PLACES",
    "PARAM_PREFIX",
    "POINT_KEY",
    "PURE_PYTHON_KIND",
    "THROUGHPUT_KINDS",
    "WORKLOAD_KEY",
    "WORST_SUFFIX",
    "Kind",
    "Point",
    "backend_label",
    "combine_fact",
    "format_cpu_list",
    "headline_mask",
    "is_headline",
    "load_place",
    "parse_cpu_list",
    "parse_params",
    "split_load_place",
    "top_cores",
]

# -- kinds -------------------------------------------------------------------------------

#: Kinds measured by the time of a batch: each pyperf value is one batch of tasks.
THROUGHPUT_KINDS: frozenset[str] = frozenset(k for k in KINDS if k not in ("mixed", "probe"))
#: Kinds whose speedups are headlines: verdicts, settling and stability rest on them.
HEADLINE_KINDS: frozenset[str] = frozenset({"cpu", "cpu-released", "io"})
#: Pure Python that holds the GIL: its speedup cannot pass the CPUs it ran on, and with
#: one worker it cannot pass 1 (gilbench.analysis.physics).
PURE_PYTHON_KIND = "cpu"
#: The kind measured by latency: each pyperf value is one request of a responder.
LATENCY_KIND = "mixed"
#: Kinds that report facts (counts) rather than speeds.
FACT_KINDS: frozenset[str] = frozenset({"probe"})

# -- facts a workload records beside its times ---------------------------------------------

#: Run metadata keys written from a workload's facts start with this.
FACT_PREFIX = "fact_"


def combine_fact(key: str, values: Sequence[float]) -> float:
    """Facts named ``*_worst`` combine by maximum, the others by mean."""
    return max(values) if key.endswith(WORST_SUFFIX) else sum(values) / len(values)


# -- parameters as text and back ------------------------------------------------------------

#: The tidy table has one column per workload parameter, named with this prefix
#: (``param_interval_ms``), typed as :func:`parse_params` reads it.
PARAM_PREFIX = "param_"


def parse_params(text: str) -> dict[str, ParamValue]:
    """``n=23,size=64`` (the form of :func:`format_params`) back into a mapping, each
    value an int or a float where it reads as one, else the text ("" and "-" are none)."""
    out: dict[str, ParamValue] = {}
    for item in text.split(",") if text and text != "-" else ():
        key, _, raw = item.partition("=")
        value: ParamValue = raw
        for kind in (int, float):
            try:
                value = kind(raw)
                break
            except ValueError:
                continue
        out[key.strip()] = value
    return out


# -- CPU lists --------------------------------------------------------------------------------


def format_cpu_list(cpus: list[int]) -> str:
    """``[0, 1, 2, 5]`` as ``0-2,5``."""
    parts: list[str] = []
    for cpu in sorted(cpus):
        if parts and "-" not in parts[-1].split(",")[-1] and int(parts[-1]) == cpu - 1:
            parts[-1] = f"{parts[-1]}-{cpu}"
        elif parts and "-" in parts[-1] and int(parts[-1].split("-")[1]) == cpu - 1:
            parts[-1] = f"{parts[-1].split('-')[0]}-{cpu}"
        else:
            parts.append(str(cpu))
    return ",".join(parts)


def parse_cpu_list(text: str) -> list[int]:
    """A CPU list as Linux and pyperf write it, ``0-2,5``, as ``[0, 1, 2, 5]``; ValueError
    for text that is not one."""
    cpus: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return sorted(cpus)


# -- where a latency point's CPU load runs ---------------------------------------------------

#: Where the K CPU workers beside a responder may run: each load backend and the variants
#: it takes (None: any process start method).  A latency point's ``load_in`` names one as
#: ``threads``, ``processes[forkserver]``, ``asyncio[inline]`` or ``asyncio[executor]``.
LOAD_PLACES: Mapping[str, tuple[str, ...] | None] = MappingProxyType(
    {"threads": (), "processes": None, "asyncio": ("inline", "executor")}
)


def backend_label(backend: str, start_method: object = None) -> str:
    """``processes[forkserver]`` for a variant, the backend name otherwise (empty or NaN
    start methods, as a CSV round trip gives them, mean no variant)."""
    method = start_method if isinstance(start_method, str) else ""
    return f"{backend}[{method}]" if method else backend


def split_load_place(load_in: str) -> tuple[str, str | None]:
    """``processes[forkserver]`` -> (``processes``, ``forkserver``), ``threads`` ->
    (``threads``, None); ValueError for a place no load runs in (:data:`LOAD_PLACES`)."""
    backend, bracket, rest = load_in.partition("[")
    variant = rest.removesuffix("]") if bracket else None
    allowed = LOAD_PLACES.get(backend, ())
    if backend not in LOAD_PLACES or (bracket and not rest.endswith("]")):
        ok = False
    elif allowed is None:  # processes: any start method, or none for the default
        ok = variant != ""
    else:
        ok = variant in allowed if allowed else variant is None
    if not ok:
        raise ValueError(
            f"no CPU load runs in {load_in!r}; load places: threads, processes[<start method>], "
            "asyncio[inline], asyncio[executor]"
        )
    return backend, variant


def load_place(backend: str, variant: str | None = None) -> str:
    """The ``load_in`` of a load that runs under ``backend`` as ``variant``
    (``processes[forkserver]``); ValueError for a place no load runs in."""
    place = backend_label(backend, variant)
    split_load_place(place)
    return place


# -- points ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One matrix point: (workload, params, backend, workers, cores), plus batch size.

    For a throughput point, ``backend`` runs the batch with ``workers`` workers
    (``start_method`` names a process pool's variant).  For a latency point the
    responder runs alone in the worker and ``load_in`` says where its CPU load runs
    (:data:`LOAD_PLACES`, with the process start method for processes) and
    ``load_workers`` how many CPU workers it has (K >= 0); ``backend`` is then the
    load's backend (so selecting a backend selects the latency points whose load runs
    there), ``workers`` is 1 and ``start_method`` None: build one with :meth:`latency`.
    ``gil_requested`` is what PYTHON_GIL asked for ("0", "1" or None for the build's
    default); the worker verifies it.  ``cpus`` are the CPUs the point is pinned to,
    ``cores`` of them, chosen once by the plan (by topology: gilbench.run.command) and
    checked inside the pool's workers; empty where the OS has no affinity API or the
    point was built by hand (the worker then chooses).  They are where the point runs,
    not what it is: not part of its name, and not compared.

    ``tasks`` is the point's batch: for a pool backend at least the profile's tasks per
    worker times ``workers`` (gilbench.run.matrix), so it grows with the workers.
    ``serial_tasks`` is the fixed sample its serial partner times (the workload's own
    batch); speedups compare rates, tasks per second, so the two may differ.  None
    (points built by hand, older plans) means the whole batch.
    """

    workload: str
    params: Mapping[str, ParamValue] = field(hash=False)
    backend: str
    workers: int
    cores: int
    tasks: int
    start_method: str | None = None
    gil_requested: str | None = None
    load_in: str | None = None
    load_workers: int | None = None
    cpus: tuple[int, ...] = field(default=(), compare=False)
    serial_tasks: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Frozen means frozen: nobody can change a point's parameters after the fact.
        object.__setattr__(self, "params", MappingProxyType(dict(sorted(self.params.items()))))
        object.__setattr__(self, "cpus", tuple(sorted(int(cpu) for cpu in self.cpus)))
        if self.cpus and len(set(self.cpus)) != self.cores:
            raise ValueError(f"a point with cores={self.cores} runs on {self.cores} CPUs, "
                             f"not {list(self.cpus)}")  # fmt: skip
        if self.serial_tasks is not None and self.serial_tasks < 1:
            raise ValueError("a serial partner needs at least one task")
        if (self.load_in is None) != (self.load_workers is None):
            raise ValueError("a latency point needs both load_in and load_workers")
        if self.load_workers is not None and self.load_workers < 0:
            raise ValueError("load_workers must be >= 0")
        if self.load_in is not None:
            backend, _ = split_load_place(self.load_in)
            if (self.backend, self.workers, self.start_method) != (backend, 1, None):
                raise ValueError(
                    f"a latency point's load is in load_in={self.load_in!r}: its backend is "
                    f"{backend!r}, its workers 1 and its start_method None"
                )

    @classmethod
    def latency(
        cls,
        workload: str,
        params: Mapping[str, ParamValue],
        load_in: str,
        load_workers: int,
        cores: int,
        *,
        gil_requested: str | None = None,
    ) -> Point:
        """A latency point: one request per timed value, ``load_workers`` CPU workers
        beside the responder in ``load_in``."""
        backend, _ = split_load_place(load_in)
        return cls(workload, params, backend, 1, cores, tasks=1, gil_requested=gil_requested,
                   load_in=load_in, load_workers=load_workers)  # fmt: skip

    @property
    def is_latency(self) -> bool:
        """Whether this point times requests of a responder beside a CPU load."""
        return self.load_in is not None

    @property
    def params_text(self) -> str:
        """Parameters as ``k=v,k=v``."""
        return format_params(self.params)

    @property
    def backend_label(self) -> str:
        """``processes[forkserver]`` for variants, else the backend name."""
        return backend_label(self.backend, self.start_method)

    @property
    def name(self) -> str:
        """The pyperf benchmark name: unique in a run, equal across machines and runs."""
        head = f"{self.workload}({self.params_text})"
        if self.is_latency:
            return f"{head} load={self.load_in} load_workers={self.load_workers} cores={self.cores}"
        return f"{head} {self.backend_label} workers={self.workers} cores={self.cores}"

    def to_json(self) -> str:
        """Compact JSON for the pyperf worker command line."""
        data: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        data["params"] = dict(self.params)
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Point:
        """Inverse of to_json."""
        data = json.loads(text)
        return cls(**data)


# -- keys of the tidy table ------------------------------------------------------------------

#: Machine, interpreter and GIL state: the context every number belongs to.
CONTEXT_KEY = ["machine", "interpreter", "gil_enabled"]
#: A workload as measured: name and parameters.
WORKLOAD_KEY = ["workload", "params"]
#: A point is the same point (in one run) when all of these agree.
POINT_KEY = [
    *CONTEXT_KEY,
    *WORKLOAD_KEY,
    "backend",
    "start_method",
    "workers",
    "load_in",
    "load_workers",
    "cores",
    "tasks",
]
#: A point's speedup divides the serial point that shares all of these: the same context,
#: workload and cores, measured by the same run (never another run's baseline: a slice
#: or a patch upgrade under the same interpreter tag measures its own; files without a
#: run id count as one run each, see gilbench.analysis.baselines).  Not the batch size:
#: a pool's batch grows with its workers, and the two are compared as rates.
BASELINE_KEY = [*CONTEXT_KEY, *WORKLOAD_KEY, "cores", "run_id"]


# -- headline points -------------------------------------------------------------------------


def is_headline(kind: str, backend: str, workers: int, cores: int, top: int) -> bool:
    """Whether a point's speedup is a headline: a throughput workload whose speedups
    carry verdicts, at its highest core count ``top``, under a backend other than
    serial, with at least as many workers as cores (fewer could not use every core)."""
    return kind in HEADLINE_KINDS and backend != "serial" and cores == top and workers >= cores


def top_cores(frame: pd.DataFrame) -> pd.Series:
    """Each row's highest core count: the most cores its workload (with its parameters)
    was measured at in its context."""
    return frame.groupby([*CONTEXT_KEY, *WORKLOAD_KEY], dropna=False)["cores"].transform("max")


def headline_mask(frame: pd.DataFrame) -> pd.Series:
    """True for the rows of the tidy table that are headline points (:func:`is_headline`)."""
    if frame.empty:
        return frame["cores"].astype(bool)
    top = top_cores(frame)
    return (
        frame["kind"].isin(HEADLINE_KINDS)
        & (frame["backend"] != "serial")
        & (frame["cores"] == top)
        & (frame["workers"] >= frame["cores"])
    )
