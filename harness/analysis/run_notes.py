"""What a run's metadata tells the reader beside the numbers: a core sweep capped by a
cgroup quota, and a GIL that an extension module turned back on.

Both are facts of the run, written by the worker or the plan (``cores_cap_reason``,
``gil_reenabled_by``: gilbench.metadata), and both change how the numbers read: the
terminal and the report say them as warnings.
"""

from __future__ import annotations

from collections import defaultdict

from gilbench.analysis.store import LoadReport

#: The suffix of the GIL-on variant of a free-threaded build's tag (``cpython3.14t-gil``).
GIL_SUFFIX = "-gil"


def cores_cap_notes(loaded: LoadReport) -> list[str]:
    """One line per machine whose core sweep a cgroup quota capped."""
    found: dict[str, set[str]] = defaultdict(set)
    for suite in loaded.suites:
        for bench in suite.suite.get_benchmarks():
            reason = bench.get_metadata().get("cores_cap_reason")
            if isinstance(reason, str) and reason:
                found[suite.machine].add(reason)
    return [
        f"{machine}: {reason}; the numbers go no wider than the quota"
        for machine, reasons in sorted(found.items())
        for reason in sorted(reasons)
    ]


def gil_reenabled_notes(loaded: LoadReport) -> list[str]:
    """One line per free-threaded interpreter and cause that turned the GIL on in the
    workers of some workloads, naming them and the tag their points carry."""
    found: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for suite in loaded.suites:
        for bench in suite.suite.get_benchmarks():
            for run in bench.get_runs():
                meta = run.get_metadata()
                cause = meta.get("gil_reenabled_by")
                if isinstance(cause, str) and cause:
                    tag = str(meta.get("interpreter", "?"))
                    found[suite.machine, tag, cause].add(str(meta.get("workload", "?")))
    notes = []
    for (machine, tag, cause), workloads in sorted(found.items()):
        which = ", ".join(sorted(workloads))
        label = "workload" if len(workloads) == 1 else "workloads"
        notes.append(
            f"{machine}: on {tag.removesuffix(GIL_SUFFIX)} the GIL was re-enabled by {cause} "
            f"({label} {which}): {'its' if len(workloads) == 1 else 'their'} points are "
            f"tagged {tag}"
        )
    return notes


def run_notes(loaded: LoadReport) -> list[str]:
    """Every note: quota caps first, then GILs turned back on."""
    return cores_cap_notes(loaded) + gil_reenabled_notes(loaded)
