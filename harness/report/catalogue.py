"""What the catalogue declares about the workloads of a tidy table: descriptions, the
facts each shows (label, unit, how it combines), findings and cost caveats.

The report reads these declarations (``@workload`` in ``benchmarks/``) instead of naming
workloads, so that a workload with facts of its own needs no edit here.  A table can hold
workloads this gilbench version does not know (result files from another version): they
have no declarations, and the report shows their numbers without words.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from gilbench.benchmarks import (
    Fact,
    ParamValue,
    UnknownWorkloadError,
    Workload,
    WorkloadImportError,
    get_workload,
)
from gilbench.vocabulary import FACT_PREFIX, PARAM_PREFIX

UNKNOWN_DESCRIPTION = "(not a workload of this gilbench version)"


def known_workload(name: object) -> Workload | None:
    """The registered workload called ``name``, or None for one this version lacks."""
    try:
        return get_workload(str(name))
    except (UnknownWorkloadError, WorkloadImportError):
        return None


def descriptions(frame: pd.DataFrame) -> dict[str, str]:
    """Each workload of ``frame`` by name: the first line of its docstring."""
    out = {}
    for name in frame["workload"].unique():
        wl = known_workload(name)
        out[str(name)] = wl.description if wl is not None else UNKNOWN_DESCRIPTION
    return out


def _missing(value: object) -> bool:
    """None, NaN or pandas' NA: a value the table does not have."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _typed(value: object, like: ParamValue) -> ParamValue:
    """``value`` as the type of the declared value ``like`` (text where it is not one)."""
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(like, str) and isinstance(value, int | float | str):
        try:
            return type(like)(value)
        except ValueError:
            pass
    return str(value)


def point_params(row: pd.Series, wl: Workload) -> dict[str, ParamValue]:
    """The parameters of one point (a row of the tidy table) as its workload declares
    them: read from the row's ``param_<name>`` columns and typed like the declared
    values (a column of ints with gaps is float in the table); a parameter the row lacks
    is left out."""
    return {
        name: _typed(row[PARAM_PREFIX + name], default)
        for name, default in wl.default_params.items()
        if not _missing(row.get(PARAM_PREFIX + name))
    }


def point_facts(row: pd.Series) -> dict[str, float]:
    """The facts of one point by key (``fact_lost_updates`` -> ``lost_updates``), as
    combined over its runs; facts it did not record are left out."""
    out = {}
    for column, value in row.items():
        name = str(column)
        if name.startswith(FACT_PREFIX) and not _missing(value):
            out[name.removeprefix(FACT_PREFIX)] = float(value)
    return out


def finding(row: pd.Series) -> str:
    """The sentence a point's workload declares for it ("" where it declares none).

    A finding that cannot read this point (a fact or parameter a result file of another
    version lacks) says so instead of failing the report.
    """
    wl = known_workload(row["workload"])
    if wl is None or wl.finding is None:
        return ""
    try:
        return wl.finding(point_params(row, wl), point_facts(row))
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        return f"no finding ({type(exc).__name__}: {exc})"


def number(value: float) -> str:
    """A fact's value as text: whole numbers with thousands separators, others with
    three significant digits."""
    if float(value).is_integer() or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def facts_text(row: pd.Series) -> str:
    """``lost updates: 0 per task; ...``: the facts the point's workload shows, each with
    its label and unit, in the declared order."""
    wl = known_workload(row["workload"])
    if wl is None:
        return ""
    facts = point_facts(row)
    parts = [
        f"{fact.label}: {number(facts[fact.key])} {fact.unit}".rstrip()
        for fact in wl.shown_facts
        if fact.key in facts
    ]
    return "; ".join(parts)


def shown_fact_columns(rows: pd.DataFrame) -> dict[str, Mapping[str, float]]:
    """Per heading (``timer late (ms)``), the value of that fact for each workload of
    ``rows`` that shows it, combined over its rows as the fact declares (mean or worst)."""
    out: dict[str, dict[str, float]] = {}
    for name, group in rows.groupby("workload", sort=True):
        wl = known_workload(name)
        for fact in wl.shown_facts if wl is not None else ():
            values = _fact_values(group, fact)
            if values:
                out.setdefault(fact.heading, {})[str(name)] = fact.combined(values)
    return dict(out)


def _fact_values(rows: pd.DataFrame, fact: Fact) -> list[float]:
    column = FACT_PREFIX + fact.key
    if column not in rows:
        return []
    return [float(v) for v in rows[column] if not _missing(v)]


def cost_caveats(rows: pd.DataFrame) -> dict[str, str]:
    """The workloads of ``rows`` whose per-operation cost is not comparable with their
    family's, each with the sentence its declaration gives."""
    out = {}
    for name in sorted(rows["workload"].unique()):
        wl = known_workload(name)
        if wl is not None and wl.cost_caveat:
            out[str(name)] = wl.cost_caveat
    return out
