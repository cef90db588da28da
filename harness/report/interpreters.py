"""The report's interpreter comparison, when results of several interpreters are loaded:
the single-thread price of free-threading, and threads' scaling per interpreter."""

from __future__ import annotations

import re

import pandas as pd
from markupsafe import Markup

from gilbench.report.figure_pool import LazySvg
from gilbench.report.figures import Figure, anchor, html_table
from gilbench.report.plots import threads_by_interpreter
from gilbench.vocabulary import HEADLINE_KINDS, top_cores

TITLE = "Interpreters: default, free-threaded with the GIL off, and with it on"
INTRO = (
    "The same workloads under each interpreter. Free-threaded builds pay a "
    "single-thread cost and, with the GIL off, let threads run Python in parallel. "
    "Verdicts per interpreter are in the verdict table; lost updates per interpreter "
    "in the probes' facts."
)


def several_interpreters(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` holds results of more than one interpreter."""
    return frame["interpreter"].nunique() > 1


def default_partner(tag: str) -> str:
    """``cpython3.14t`` and ``cpython3.14t-gil`` compare with ``cpython3.14``."""
    return re.sub(r"(?<=\d)t(-gil)?$", "", tag)


def free_threading_cost(frame: pd.DataFrame) -> pd.DataFrame:
    """Serial (single-thread) time of each free-threaded interpreter over its default build,
    per machine and workload at its highest core count: the price of free-threading when
    nothing runs in parallel."""
    at_top = frame[frame["cores"] == top_cores(frame)]
    serial = at_top[at_top["backend"] == "serial"]
    out = []
    for (machine, workload, params), rows in serial.groupby(["machine", "workload", "params"]):
        by_tag = dict(zip(rows["interpreter"], rows["median_s"], strict=False))
        for tag, median in sorted(by_tag.items()):
            partner = default_partner(tag)
            if partner != tag and partner in by_tag:
                out.append({
                    "machine": machine, "workload": f"{workload}({params})", "interpreter": tag,
                    "default build": partner, "serial ms": median * 1e3,
                    "default serial ms": by_tag[partner] * 1e3,
                    "ratio (free-threaded / default)": median / by_tag[partner],
                })  # fmt: skip
    return pd.DataFrame(out)


def _cost_figures(frame: pd.DataFrame) -> list[Figure]:
    cost = free_threading_cost(frame)
    if cost.empty:
        return []
    return [Figure(
        anchor="free-threading-cost", title="single-thread cost of free-threading",
        svg=Markup(""), table=html_table(cost),
        caption="Serial time on the free-threaded build over the default build of the "
        "same version: above 1 is the price paid even without threads.",
    )]  # fmt: skip


def _threads_figures(frame: pd.DataFrame) -> list[Figure]:
    """Per machine, threads against serial for the headline workloads, each interpreter
    at its highest core count."""
    headline = frame[frame["kind"].isin(HEADLINE_KINDS)]
    headline = headline[headline["cores"] == top_cores(headline)]
    threads = headline[headline["backend"].isin(["threads", "serial"])]
    figures = []
    for machine, top in threads.groupby("machine", sort=True):
        title = f"threads scaling per interpreter on {machine}, {int(top['cores'].max())} cores"
        figures.append(Figure(
            anchor=anchor("threads-by-interpreter", machine), title=title,
            svg=LazySvg(threads_by_interpreter, top, title), table=Markup(""), wide=True,
        ))  # fmt: skip
    return figures


def interpreter_figures(frame: pd.DataFrame) -> list[Figure]:
    """The comparison's figures: the cost of free-threading, then (over one machine; over
    several, each workload's overlay shows it) threads' scaling per interpreter."""
    if frame["machine"].nunique() > 1:
        return _cost_figures(frame)
    return _cost_figures(frame) + _threads_figures(frame)
