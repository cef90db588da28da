"""The workload registry: one decorator declares a workload, one dict finds it by name.

A workload is a plain module-level function.  The decorator records how to run and check
it and returns the function unchanged, so that ``pickle`` can still send it to a process
pool by reference.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import os
import pkgutil
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

Kind = Literal["cpu", "cpu-released", "io", "sync", "mixed", "probe", "startup"]
KINDS: tuple[Kind, ...] = ("cpu", "cpu-released", "io", "sync", "mixed", "probe", "startup")

ParamValue = int | float | str
Params = Mapping[str, ParamValue]

F = TypeVar("F", bound=Callable[..., Any])

#: Runs in the measuring process around a whole measurement (never timed): starts what
#: the tasks need (a server, a temporary folder) and yields extra keyword arguments for
#: every task, e.g. ``{"port": 40123}``.
Setup = Callable[..., AbstractContextManager[dict[str, Any]]]
#: Key a setup may yield with the pids of helper processes it started: they are removed
#: from the tasks' arguments and their CPU time is not counted as the work's.
HELPER_PIDS = "helper_pids"
#: Turns one batch's task results into named facts (lost updates, deadlocks seen, ...).
Facts = Callable[[Sequence[Any]], Mapping[str, int | float]]
#: A point's finding in one plain sentence, from its parameters and its facts (each fact
#: by its key, combined over the point's runs); the report prints it beside the point.
Finding = Callable[[Params, Mapping[str, float]], str]
#: How a fact combines over a point's runs: their mean, or the worst (largest) of them.
Combine = Literal["mean", "worst"]
#: Result files combine facts whose key ends with this by maximum, the others by mean
#: (the files' convention, older than declarations; a Fact must agree with it).
WORST_SUFFIX = "_worst"
#: How many CPU workers a mixed workload's latency is measured beside: "sweep" is
#: 0, 1, 2 ... 2 x cores; "cores" is one per core (for sweeps of another parameter).
LoadWorkers = Literal["sweep", "cores"]


#: Your own workloads: comma-separated module names or paths to ``.py`` files, imported
#: beside the catalogue (``gilbench run --workloads-from``); pyperf workers inherit it.
USER_WORKLOADS_ENV = "GILBENCH_WORKLOADS"


class UnknownWorkloadError(LookupError):
    """Raised for a workload name that is not registered; the message lists valid names."""


class WorkloadImportError(ImportError):
    """A module of your own workloads could not be imported; the message says which."""


@dataclass(frozen=True)
class Fact:
    """What one of a workload's facts means to a reader: its label, unit and how it
    combines over runs.  ``key`` is the name its facts function returns (stored in result
    files as ``fact_<key>``)::

        Fact("timer_late_ms", "timer late", "ms")
        Fact("lost_updates_worst", "lost updates", "in the worst task", combine="worst")
    """

    key: str
    label: str
    unit: str = ""
    combine: Combine = "mean"

    def __post_init__(self) -> None:
        if not self.key.isidentifier():
            raise ValueError(f"fact key {self.key!r} must be an identifier")
        if not self.label:
            raise ValueError(f"fact {self.key!r} needs a label")
        if self.combine not in ("mean", "worst"):
            raise ValueError(f"fact {self.key!r}: combine is 'mean' or 'worst'")
        if self.key.endswith(WORST_SUFFIX) != (self.combine == "worst"):
            raise ValueError(
                f"fact {self.key!r}: result files combine facts named *{WORST_SUFFIX} by "
                "their worst and the others by their mean; key and combine must agree"
            )

    @property
    def heading(self) -> str:
        """``timer late (ms)``: the label with its unit, for a table's column."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def combined(self, values: Sequence[float]) -> float:
        """``values`` (of several points or runs) combined the way this fact combines."""
        return max(values) if self.combine == "worst" else sum(values) / len(values)


@dataclass(frozen=True)
class Presentation:
    """What the report says about a workload, declared beside it so that the report knows
    families, never workloads: ``facts`` (the label, unit and combination of each fact
    it shows, :class:`Fact`), ``finding(params, facts)`` (the sentence it prints per
    point) and ``cost_caveat`` (why its per-operation cost is not comparable with its
    family's; it joins the caption of the family's cost chart, which leaves it out)::

        Presentation(facts=(Fact("timer_late_ms", "timer late", "ms"),),
                     cost_caveat="its operation includes its requested delay")
    """

    facts: tuple[Fact, ...] = ()
    finding: Finding | None = None
    cost_caveat: str = ""

    def __post_init__(self) -> None:
        keys = [fact.key for fact in self.facts]
        if len(set(keys)) != len(keys):
            raise ValueError(f"a fact is shown twice ({', '.join(keys)})")


@dataclass(frozen=True)
class Workload:
    """A named, parameterised unit of work (see docs/design.md, "Words").

    ``params`` maps each parameter name to the values it may take, asv-style; the first
    value of each is the default.  ``tasks`` is the smallest batch this workload is run
    with (the harness may grow it so every worker has work).

    How the report presents it is one object, ``present`` (:class:`Presentation`).
    """

    name: str
    kind: Kind
    func: Callable[..., Any]
    params: Mapping[str, Sequence[ParamValue]]
    check: Callable[..., bool]
    tasks: int
    async_func: Callable[..., Awaitable[Any]] | None = None
    description: str = ""
    doc: str = field(default="", repr=False)
    backends: tuple[str, ...] | None = None
    setup: Setup | None = None
    facts: Facts | None = None
    ops: int | str = 1
    load: Callable[..., Any] | None = None
    load_workers: LoadWorkers = "sweep"
    sweep_params: bool = False
    present: Presentation = field(default_factory=Presentation)

    @property
    def shown_facts(self) -> tuple[Fact, ...]:
        """The facts the report shows (:attr:`Presentation.facts`)."""
        return self.present.facts

    @property
    def finding(self) -> Finding | None:
        """The sentence the report prints per point (:attr:`Presentation.finding`)."""
        return self.present.finding

    @property
    def cost_caveat(self) -> str:
        """Why its cost is not its family's (:attr:`Presentation.cost_caveat`)."""
        return self.present.cost_caveat

    @property
    def is_latency(self) -> bool:
        """Whether each timed value is one request's latency (mixed work), not a batch."""
        return self.kind == "mixed"

    def runs_on(self, backend: str) -> bool:
        """Whether this workload is measured under ``backend`` (None means every backend)."""
        return self.backends is None or backend in self.backends

    def ops_per_task(self, params: Params) -> int:
        """Operations one task performs: a number, or the value of the parameter it names."""
        return int(params[self.ops]) if isinstance(self.ops, str) else self.ops

    @property
    def family(self) -> str:
        """The part of the name before the first dot: ``cpu`` for ``cpu.fib``."""
        return self.name.split(".", 1)[0]

    @property
    def default_params(self) -> dict[str, ParamValue]:
        """The first value of every parameter."""
        return {name: values[0] for name, values in self.params.items()}

    def param_grid(self) -> Iterator[dict[str, ParamValue]]:
        """Every combination of parameter values (asv's cartesian product)."""
        names = list(self.params)
        for combo in itertools.product(*(self.params[n] for n in names)):
            yield dict(zip(names, combo, strict=True))

    def coerce_params(self, overrides: Mapping[str, str]) -> dict[str, ParamValue]:
        """Default params updated from ``name=value`` strings, typed like the defaults."""
        params = self.default_params
        for key, raw in overrides.items():
            if key not in params:
                valid = ", ".join(params) or "none"
                raise ValueError(f"{self.name} has no parameter {key!r} (parameters: {valid})")
            default = params[key]
            try:
                params[key] = type(default)(raw)
            except ValueError:
                kind = type(default).__name__
                raise ValueError(f"{self.name}: {key}={raw!r} is not {kind}") from None
        return params


#: The batch of the CPU-bound families (cpu, cpu-released): tasks of a few ms each, so
#: that a serial batch is long (around 0.1 s) against the milliseconds a CPU waking up or
#: the host's scheduler can take, which moved a shorter batch's pairs by tens of percent
#: (docs/method.md, "Evidence behind the constants").
BATCH_TASKS = 32

_REGISTRY: dict[str, Workload] = {}


def workload(
    name: str,
    *,
    kind: Kind,
    check: Callable[..., bool],
    params: Mapping[str, Sequence[ParamValue]] | None = None,
    tasks: int = 16,
    async_form: Callable[..., Awaitable[Any]] | None = None,
    backends: Sequence[str] | None = None,
    setup: Setup | None = None,
    facts: Facts | None = None,
    ops: int | str = 1,
    load: Callable[..., Any] | None = None,
    load_workers: LoadWorkers = "sweep",
    sweep_params: bool = False,
    present: Presentation | None = None,
) -> Callable[[F], F]:
    """Register the decorated function as workload ``name``.

    ``check(result, **params)`` says whether one task's result is right.  ``async_form``
    is a coroutine function with the same parameters, used by the asyncio backend; a
    workload without one runs inline on the event loop.  ``backends`` limits where it
    runs (probes that start their own threads need only ``serial``).  ``setup`` and
    ``facts`` are described at their type aliases; ``ops`` is how many operations a task
    performs (or the name of the parameter that says), for per-operation costs.

    A ``mixed`` workload is a responder: the function is one request, timed alone, and
    ``load`` is the CPU chunk that K workers run beside it (``load_workers`` says which
    K).  ``sweep_params`` measures every parameter combination in every profile, for
    workloads whose parameter is the point (a switch-interval sweep); a narrow profile
    keeps the first few values of each (its ``swept_values``), so declare the default
    first and then the values in the order they matter.

    Everything above is what is measured.  What the report says about it is declared
    here too, never in the report, in one object: ``present`` (:class:`Presentation`).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; kinds are {', '.join(KINDS)}")
    if "." not in name:
        raise ValueError(f"workload name {name!r} must be 'family.name'")
    if tasks < 1:
        raise ValueError("tasks must be >= 1")
    grid = {key: tuple(values) for key, values in (params or {}).items()}
    if any(not values for values in grid.values()):
        raise ValueError(f"{name}: every parameter needs at least one value")
    if (kind == "mixed") != (load is not None):
        raise ValueError(f"{name}: a mixed workload needs a load, and only it takes one")
    if isinstance(ops, str) and ops not in grid:
        raise ValueError(f"{name}: ops names {ops!r}, which is not a parameter")
    shown = present if present is not None else Presentation()
    if shown.facts and facts is None:
        raise ValueError(f"{name}: Presentation.facts needs a facts function that returns them")

    def register(func: F) -> F:
        if name in _REGISTRY and _REGISTRY[name].func is not func:
            raise ValueError(f"workload {name!r} is registered twice")
        doc = (func.__doc__ or "").strip()
        if not doc:
            raise ValueError(f"workload {name!r} needs a docstring saying what it shows")
        _REGISTRY[name] = Workload(
            name=name,
            kind=kind,
            func=func,
            params=grid,
            check=check,
            tasks=tasks,
            async_func=async_form,
            description=doc.splitlines()[0],
            doc=doc,
            backends=tuple(backends) if backends is not None else None,
            setup=setup,
            facts=facts,
            ops=ops,
            load=load,
            load_workers=load_workers,
            sweep_params=sweep_params,
            present=shown,
        )
        return func

    return register


def _import_families() -> None:
    """Import every module of the catalogue (this package) so its decorators run, then
    the modules named by GILBENCH_WORKLOADS."""
    # The package's folder and name from this module's own: no import of the package
    # itself, which imports this module.
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__package__}.{info.name}")
    import_user_workloads()


def import_user_workloads() -> None:
    """Import every module or ``.py`` file named in GILBENCH_WORKLOADS.

    A file is imported by its name from its folder, which joins ``sys.path``, so that
    process pools can import its functions by reference too.
    """
    for item in _named_items():
        module = item
        if item.endswith(".py") or os.sep in item:
            path = Path(item).resolve()
            if not path.is_file():
                raise WorkloadImportError(f"workloads file {item} does not exist")
            if str(path.parent) not in sys.path:
                sys.path.insert(0, str(path.parent))
            module = path.stem
        try:
            importlib.import_module(module)
        except Exception as exc:
            raise WorkloadImportError(
                f"could not import workloads from {item}: {type(exc).__name__}: {exc}"
            ) from exc


def all_workloads() -> dict[str, Workload]:
    """The catalogue (this package's modules) and the workloads of the modules
    GILBENCH_WORKLOADS names, by name, in name order.

    A workload some other module registered when something imported it (gilbench's own
    self-checks, a test) is found by its name (:func:`get_workload`) but not listed: a
    run that selected it by default would hand its workers a name they cannot import.
    """
    _import_families()
    named = {_module_name(item) for item in _named_items()}
    return {
        name: wl
        for name, wl in sorted(_REGISTRY.items())
        if wl.func.__module__.startswith(f"{__package__}.") or wl.func.__module__ in named
    }


def _named_items() -> list[str]:
    """The items of GILBENCH_WORKLOADS: module names or paths to ``.py`` files."""
    raw = os.environ.get(USER_WORKLOADS_ENV, "").split(",")
    return [item for item in (x.strip() for x in raw) if item]


def _module_name(item: str) -> str:
    """The module an item of GILBENCH_WORKLOADS imports (a file's by its stem)."""
    return Path(item).stem if item.endswith(".py") or os.sep in item else item


def get_workload(name: str) -> Workload:
    """The workload called ``name``; raises UnknownWorkloadError listing valid names."""
    if name not in _REGISTRY:
        family = name.split(".", 1)[0]
        with contextlib.suppress(ImportError):
            importlib.import_module(f"gilbench.benchmarks.{family}")
    if name not in _REGISTRY:
        import_user_workloads()
    if name not in _REGISTRY:
        valid = ", ".join(all_workloads())
        raise UnknownWorkloadError(f"unknown workload {name!r}; valid workloads: {valid}")
    return _REGISTRY[name]


def format_params(params: Params) -> str:
    """``n=23,size=64`` — the canonical text form used in names, metadata and CSV."""
    return ",".join(f"{key}={value}" for key, value in sorted(params.items()))
