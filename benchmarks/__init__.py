"""What gilbench measures: workloads, one small module per family.

Add a workload with one decorated function in the module of its family::

    @workload("cpu.fib", kind="cpu", params={"n": [23]}, check=_is_fib)
    def fib(n: int) -> int:
        \"\"\"Recursive Fibonacci in pure Python: holds the GIL all the time.\"\"\"

A workload that records facts declares beside it what they mean, in one object
(``present=Presentation(facts=..., finding=..., cost_caveat=...)``): the report reads the
declaration, never a workload's name.
"""

from gilbench.benchmarks._registry import (
    HELPER_PIDS,
    KINDS,
    USER_WORKLOADS_ENV,
    Fact,
    Finding,
    Kind,
    Params,
    ParamValue,
    Presentation,
    UnknownWorkloadError,
    Workload,
    WorkloadImportError,
    all_workloads,
    format_params,
    get_workload,
    workload,
)

__all__ = [
    "HELPER_PIDS",
    "KINDS",
    "USER_WORKLOADS_ENV",
    "Fact",
    "Finding",
    "Kind",
    "ParamValue",
    "Params",
    "Presentation",
    "UnknownWorkloadError",
    "Workload",
    "WorkloadImportError",
    "all_workloads",
    "format_params",
    "get_workload",
    "workload",
]
