"""Choosing what to measure: workloads, backends and parameter overrides by name.

Bad input raises :class:`UsageError` (or the registries' own lookup errors), whose
message lists the valid names; the command line reports it in one line with exit
status 2.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from gilbench.benchmarks import USER_WORKLOADS_ENV, Workload, all_workloads, get_workload
from gilbench.measure.backends import backend_names, get_backend


class UsageError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


def select_workloads(patterns: Sequence[str]) -> list[Workload]:
    """Workloads named by exact names or family names (``cpu`` means every ``cpu.*``)."""
    registry = all_workloads()
    if not patterns:
        return list(registry.values())
    chosen: dict[str, Workload] = {}
    for pattern in patterns:
        family = [w for name, w in registry.items() if name.split(".", 1)[0] == pattern]
        if family:
            chosen.update((w.name, w) for w in family)
        else:
            chosen[pattern] = get_workload(pattern)  # raises with the valid names
    return list(chosen.values())


def select_backends(names: Sequence[str]) -> list[str]:
    """Backend names, checked; every available backend when none are given."""
    if not names:
        return [n for n in backend_names() if get_backend(n).unavailable_reason() is None]
    for name in names:
        reason = get_backend(name).unavailable_reason()
        if reason:
            raise UsageError(f"backend {name!r} cannot run here: {reason}")
    return list(dict.fromkeys(names))


def skipped_backends(chosen: Sequence[str]) -> str:
    """'name: reason; ...' for the backends this interpreter cannot run (none if chosen)."""
    if chosen:
        return ""
    reasons = {n: get_backend(n).unavailable_reason() for n in backend_names()}
    return "; ".join(f"{name}: {reason}" for name, reason in reasons.items() if reason)


def parse_param_overrides(items: Sequence[str]) -> dict[str, dict[str, str]]:
    """``WORKLOAD:KEY=VALUE`` items into {workload: {key: value}}."""
    out: dict[str, dict[str, str]] = {}
    for item in items:
        target, sep, assignment = item.partition(":")
        key, eq, value = assignment.partition("=")
        if not sep or not eq or not key:
            raise UsageError(f"--param {item!r}: expected WORKLOAD:KEY=VALUE, e.g. cpu.fib:n=20")
        get_workload(target)
        out.setdefault(target, {})[key] = value
    return out


def use_user_workloads(sources: Sequence[str]) -> None:
    """Name extra workload modules for this process and every worker it starts."""
    if not sources:
        return
    resolved = [str(Path(s).resolve()) if s.endswith(".py") else s for s in sources]
    known = [s for s in os.environ.get(USER_WORKLOADS_ENV, "").split(",") if s]
    os.environ[USER_WORKLOADS_ENV] = ",".join(dict.fromkeys(known + resolved))
