"""The report's facts: families whose workloads report counts, not speeds (the probes).

One row per point with the sentence its workload declares (``finding``) and the facts it
shows with their labels and units (``shown_facts``): this module names no workload.
"""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from gilbench.report.catalogue import facts_text, finding
from gilbench.report.figures import Figure, anchor, html_table


def facts_table(frame: pd.DataFrame) -> Markup:
    """The facts table: one row per probe, machine and interpreter, with a plain finding
    and the facts it rests on."""
    rows = [
        {
            "probe": series["workload"],
            "params": series["params"],
            "machine": series["machine"],
            "interpreter": series["interpreter"],
            "finding": finding(series),
            "facts": facts_text(series),
        }
        for _, series in frame.sort_values(["workload", "machine", "interpreter"]).iterrows()
    ]
    return html_table(pd.DataFrame(rows), classes="numbers facts")


def fact_figures(frame: pd.DataFrame) -> list[Figure]:
    """The facts of a family, as one table."""
    return [
        Figure(anchor=anchor("probe-facts"), title="facts", svg=Markup(""),
               table=facts_table(frame))
    ]  # fmt: skip
