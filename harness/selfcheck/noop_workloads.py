"""Workloads for gilbench's self-benchmark (``nox -s perf``): not part of the catalogue,
loaded the way your own workloads are (named in GILBENCH_WORKLOADS)."""

from __future__ import annotations

from gilbench.benchmarks import workload


def _none(result: object, **_: object) -> bool:
    return result is None


async def _noop_async() -> None:
    return None


@workload("self.noop", kind="cpu", tasks=256, check=_none, async_form=_noop_async)
def noop() -> None:
    """Does nothing: what is left of a batch's time is the backend's dispatch cost."""
    return None


def raw_noop(index: int) -> int:
    """The same nothing, as a raw executor would call it (by index, module level)."""
    return index
