"""The report's sections: one per workload family, each with the presentation that suits
its kinds, built from the tidy DataFrame in one go.

A family's kinds choose its presentation: speedup curves for the headline kinds
(:mod:`gilbench.report.speedups`), latency distributions for mixed work
(:mod:`gilbench.report.latency`), costs per operation for the other throughput kinds
(:mod:`gilbench.report.costs`), and facts for probes (:mod:`gilbench.report.facts`).
The report knows families (their titles below) but no workload by name: what a workload
adds, it declares on its ``@workload``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from gilbench.report.catalogue import descriptions
from gilbench.report.costs import cost_figures
from gilbench.report.facts import fact_figures
from gilbench.report.figures import Figure, anchor
from gilbench.report.interpreters import INTRO, TITLE, interpreter_figures, several_interpreters
from gilbench.report.latency import mixed_figures
from gilbench.report.speedups import released_control_figures, workload_figures
from gilbench.vocabulary import (
    FACT_KINDS,
    HEADLINE_KINDS,
    LATENCY_KIND,
    THROUGHPUT_KINDS,
    backend_label,
)

# family -> (title, what the section shows); families not listed get a plain title.
FAMILIES: dict[str, tuple[str, str]] = {
    "cpu": (
        "CPU-bound pure Python",
        "Pure-Python work holds the GIL: under the GIL, threads cannot exceed one core's "
        "worth of work, processes can use every core.",
    ),
    "released": (
        "C code that releases the GIL",
        "hashlib, zlib, bz2 and lzma release the GIL inside their C loops, so threads scale "
        "with cores. The control hashes the same bytes in 1 KiB pieces, below CPython's "
        "2048-byte threshold, and holds the GIL.",
    ),
    "io": (
        "I/O-bound",
        "Waiting releases the GIL: threads and asyncio overlap the waits, far beyond the "
        "number of cores.",
    ),
    "mixed": (
        "Latency under CPU load: the convoy effect and the switch interval",
        "A responder (an echo round trip over loopback, an Event handed to another thread) "
        "is timed request by request while K CPU-bound workers run beside it. A thread "
        "woken by I/O must win the GIL back; with CPU threads holding it, that can take a "
        "whole switch interval per wake-up (CPython bpo-7946). Requests arrive open loop, "
        "at random (Poisson) times at a rate that keeps the responder busy about half the "
        "time, and each one's latency runs from when it was due, so a stall counts against "
        "every request it delays. Latency is shown as a distribution (p50, p90, p99, max "
        "over every request), on a log scale, with 95 % intervals shaded (resampling blocks "
        "of consecutive requests); a p99 needs 1,000 requests (10 beyond it), and where a "
        'point has fewer it shows the largest, as "max of N". The '
        "switch-interval sweep shows what sys.setswitchinterval trades: a shorter interval "
        "answers sooner, a longer one leaves the CPU threads more of the GIL.",
    ),
    "sync": (
        "Synchronisation primitives: cost per operation",
        "Microseconds per operation (median batch time / operations). Under serial a "
        "primitive is uncontended; under threads with N workers, N threads contend for it.",
    ),
    "startup": (
        "Start-up costs",
        "What a backend pays once, before any batch: creating a thread pool, a process pool "
        "per start method, a subinterpreter (µs per creation, pool used once and shut down).",
    ),
    "probe": (
        "Probes: correctness facts",
        "Counts, not speeds: what the lesson's examples do on this interpreter.",
    ),
}
FAMILY_ORDER = list(FAMILIES)
#: The kind of C code that releases the GIL: its families show it beside their control.
RELEASED_KIND = "cpu-released"


@dataclass(frozen=True)
class WorkloadSection:
    """One workload's figures."""

    anchor: str
    workload: str
    kind: str
    description: str
    figures: tuple[Figure, ...]


@dataclass(frozen=True)
class FamilySection:
    """One family: an introduction, family-wide figures, then its workloads."""

    anchor: str
    family: str
    title: str
    intro: str
    figures: tuple[Figure, ...] = ()
    workloads: tuple[WorkloadSection, ...] = ()


def backend_labels(frame: pd.DataFrame) -> pd.Series:
    """``processes[forkserver]`` for variants, the backend name otherwise."""
    labels = [
        backend_label(b, m) for b, m in zip(frame["backend"], frame["start_method"], strict=True)
    ]
    return pd.Series(labels, index=frame.index)


def several_contexts(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` holds more than one machine and interpreter pair."""
    return len(frame[["machine", "interpreter"]].drop_duplicates()) > 1


def speedup_sections(
    frame: pd.DataFrame, described: dict[str, str], several: bool
) -> list[WorkloadSection]:
    """One section per workload of ``frame``, with its speedup figures."""
    return [
        WorkloadSection(
            anchor=anchor(workload),
            workload=str(workload),
            kind=str(rows["kind"].iloc[0]),
            description=described[str(workload)],
            figures=tuple(workload_figures(str(workload), rows, several)),
        )
        for workload, rows in frame.groupby("workload", sort=True)
    ]


def family_section(
    family: str, rows: pd.DataFrame, described: dict[str, str], several: bool
) -> FamilySection:
    """One family's section, presented as its kinds suit (see the module docstring)."""
    kinds = set(rows["kind"])
    figures: Sequence[Figure] = ()
    workloads: Sequence[WorkloadSection] = ()
    if kinds <= FACT_KINDS:
        figures = fact_figures(rows)
    elif LATENCY_KIND in kinds:
        figures = mixed_figures(rows)
    elif not kinds & HEADLINE_KINDS and kinds <= THROUGHPUT_KINDS:
        figures = cost_figures(rows, family, bars=not several)
    else:
        if RELEASED_KIND in kinds and not several:
            # Over several machines or interpreters the overlays show the control.
            figures = released_control_figures(rows)
        workloads = speedup_sections(rows, described, several)
    title, intro = FAMILIES.get(family, (family, ""))
    return FamilySection(
        anchor=anchor("family", family),
        family=family,
        title=title,
        intro=intro,
        figures=tuple(figures),
        workloads=tuple(workloads),
    )


def interpreter_family(frame: pd.DataFrame) -> FamilySection | None:
    """The interpreter comparison, when results from more than one interpreter are loaded."""
    if not several_interpreters(frame):
        return None
    return FamilySection(
        anchor="interpreters",
        family="interpreters",
        title=TITLE,
        intro=INTRO,
        figures=tuple(interpreter_figures(frame)),
    )


def build_families(frame: pd.DataFrame) -> list[FamilySection]:
    """The interpreter comparison (several interpreters), then every family present in
    ``frame``, in the report's order (families it does not know last, by name)."""
    frame = frame.assign(
        backend_label=backend_labels(frame), family=frame["workload"].str.split(".").str[0]
    )
    described = descriptions(frame)
    several = several_contexts(frame)
    present = list(frame["family"].unique())
    order = [f for f in FAMILY_ORDER if f in present] + sorted(
        f for f in present if f not in FAMILY_ORDER
    )
    comparison = interpreter_family(frame)
    families = [
        family_section(family, frame[frame["family"] == family], described, several)
        for family in order
    ]
    return [comparison, *families] if comparison is not None else families
