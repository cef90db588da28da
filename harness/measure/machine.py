"""Machine identity and facts: what makes numbers from two machines comparable."""

from __future__ import annotations

import os
import platform
import re
import socket
import sys
from pathlib import Path
from typing import Any

import psutil

from gilbench.vocabulary import format_cpu_list


def default_machine_name() -> str:
    """A stable, readable name from the host name: lower case, ``[a-z0-9._-]`` only."""
    return sanitize_machine_name(socket.gethostname().split(".")[0] or "machine")


def sanitize_machine_name(name: str) -> str:
    """Make ``name`` safe as a folder name; raise ValueError if nothing is left."""
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", name.strip().lower()).strip("-.")
    if not cleaned:
        raise ValueError(f"machine name {name!r} has no usable characters")
    return cleaned


def allowed_cpus() -> list[int]:
    """The CPUs this process may run on (its affinity), in order."""
    try:
        return sorted(psutil.Process().cpu_affinity() or [])
    except (AttributeError, NotImplementedError):  # macOS has no affinity API
        return list(range(os.cpu_count() or 1))


def cgroup_cpu_quota() -> float | None:
    """CPUs granted by a cgroup v2 ``cpu.max`` quota, or None when unlimited or unknown."""
    path = Path("/sys/fs/cgroup/cpu.max")
    try:
        quota, period = path.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return int(quota) / int(period)


def usable_cpu_count(allowed: int, quota: float | None) -> int:
    """How many CPUs a measurement can really use: the allowed CPUs, capped by a cgroup
    quota (2 CPUs of quota on 16 allowed CPUs is 2: a sweep to 16 would measure the
    quota's throttling, not the cores)."""
    if quota is None:
        return allowed
    return max(1, min(allowed, int(quota + 1e-9)))


def cores_cap_note(allowed: int, quota: float | None) -> str | None:
    """Why the core sweep stops below the allowed CPUs (:func:`usable_cpu_count`), as
    the terminal and the report say it; None when nothing caps it."""
    usable = usable_cpu_count(allowed, quota)
    if quota is None or usable >= allowed:
        return None
    return f"cgroup quota of {quota:g} CPUs: cores capped at {usable} of {allowed} allowed"


#: Where Linux describes which physical core each logical CPU belongs to.
TOPOLOGY_DIR = Path("/sys/devices/system/cpu")


def cpu_cores(cpus: list[int], root: Path = TOPOLOGY_DIR) -> dict[int, tuple[int, int]]:
    """Each CPU's physical core as (package, core id), from sysfs; a CPU whose topology
    is unknown counts as a core of its own."""
    out = {}
    for cpu in cpus:
        topology = root / f"cpu{cpu}" / "topology"
        try:
            package = int((topology / "physical_package_id").read_text())
            core = int((topology / "core_id").read_text())
        except (OSError, ValueError):
            package, core = -1, cpu
        out[cpu] = (package, core)
    return out


def choose_cpus(count: int, allowed: list[int], cores: dict[int, tuple[int, int]]) -> list[int]:
    """The ``count`` CPUs a point is pinned to, chosen by topology.

    Every allowed CPU when ``count`` covers them all; otherwise one logical CPU per
    physical core before any hyperthread sibling (two siblings are not two cores), and
    CPU 0 last (it takes the machine's interrupts) — so serial baselines do not all sit
    on CPU 0.
    """
    if count > len(allowed):
        raise ValueError(f"asked for {count} CPUs, only {len(allowed)} are allowed: {allowed}")
    if count == len(allowed):
        return sorted(allowed)
    seen: dict[tuple[int, int], int] = {}
    rank = {}
    for cpu in sorted(allowed, key=lambda c: (c == 0, c)):
        core = cores.get(cpu, (-1, cpu))
        rank[cpu] = (seen.get(core, 0), cpu == 0, cpu)  # first of its core, then siblings
        seen[core] = seen.get(core, 0) + 1
    return sorted(sorted(allowed, key=rank.__getitem__)[:count])


def cpus_by_cores(
    counts: list[int], allowed: list[int], cores: dict[int, tuple[int, int]] | None = None
) -> dict[int, list[int]]:
    """The CPUs a point with each core count in ``counts`` is pinned to (:func:`choose_cpus`
    with ``cores``, by default the machine's topology): chosen once, at plan time, and
    carried by the points."""
    topology = cpu_cores(allowed) if cores is None else cores
    return {count: choose_cpus(count, allowed, topology) for count in sorted(set(counts))}


def cpu_model() -> str:
    """The CPU model name, from /proc/cpuinfo where available."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> float:
    """The one-minute load average."""
    return round(psutil.getloadavg()[0], 2)


def run_facts_metadata() -> dict[str, str | int | float]:
    """The machine facts stored in every benchmark of a result file (pyperf metadata)."""
    quota = cgroup_cpu_quota()
    return {
        "logical_cpus": psutil.cpu_count(logical=True) or 0,
        "physical_cpus": psutil.cpu_count(logical=False) or 0,
        "allowed_cpus": format_cpu_list(allowed_cpus()),
        "cgroup_cpu_quota": quota if quota is not None else "none",
        "memory_bytes": psutil.virtual_memory().total,
        "kernel": platform.release() or "unknown",
    }


def machine_facts(name: str) -> dict[str, Any]:
    """Hardware and OS description written to ``results/<machine>/machine.json``."""
    freq = psutil.cpu_freq()
    load1, load5, load15 = psutil.getloadavg()
    return {
        "machine": name,
        "hostname": socket.gethostname(),
        "cpu_model": cpu_model(),
        "logical_cpus": psutil.cpu_count(logical=True),
        "physical_cpus": psutil.cpu_count(logical=False),
        "allowed_cpus": allowed_cpus(),
        "cgroup_cpu_quota": cgroup_cpu_quota(),
        "cpu_freq_max_mhz": round(freq.max, 1) if freq and freq.max else None,
        "cpu_freq_min_mhz": round(freq.min, 1) if freq and freq.min else None,
        "cpu_freq_current_mhz": round(freq.current, 1) if freq and freq.current else None,
        "load_average_1_5_15": [round(load1, 2), round(load5, 2), round(load15, 2)],
        "memory_bytes": psutil.virtual_memory().total,
        "os": platform.system(),
        "kernel": platform.release(),
        "platform": platform.platform(),
        "arch": platform.machine(),
        "switch_interval_s": sys.getswitchinterval(),
    }


def hardware_fingerprint(facts: dict[str, Any]) -> tuple[Any, ...]:
    """The facts that must match for two result sets to come from the same machine."""
    return (facts.get("cpu_model"), facts.get("logical_cpus"), facts.get("memory_bytes"))
