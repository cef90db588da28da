"""The report knows families, not workloads: what a workload's facts mean is declared on
its ``@workload``, and the report's code names no workload."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import pytest
from markupsafe import Markup

from gilbench.benchmarks import Fact, Params, Presentation, _registry, all_workloads, workload
from gilbench.report.costs import cost_figures
from gilbench.report.figure_pool import LazySvg
from gilbench.report.figures import Figure
from gilbench.report.sections import FamilySection, WorkloadSection, build_families

HARNESS = Path(__file__).resolve().parent.parent / "harness"
# Rooms that turn numbers into words and pictures: a workload says what it means itself.
NO_WORKLOAD_NAMES = ("report", "analysis")

NEW_PROBE = "probe.widget_race"
NEW_SENTENCE = "the widget raced"
NEW_COST = "sync.widget_wait"
NEW_CAVEAT = "sync.widget_wait's operation sleeps on purpose; its lateness is a column."


def test_no_workload_name_in_report_or_analysis_code() -> None:
    names = sorted(all_workloads())
    assert {"probe.deadlock", "sync.timer"} <= set(names)
    pattern = re.compile(r"(?<![\w.])(" + "|".join(re.escape(n) for n in names) + r")(?!\w)")
    files = sorted(f for room in NO_WORKLOAD_NAMES for f in (HARNESS / room).rglob("*.py"))
    assert len(files) > 5
    found = [
        f"{path.relative_to(HARNESS)}:{number}: {match.group(1)}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for match in pattern.finditer(line)
    ]
    assert not found, "the report and analysis name workloads:\n" + "\n".join(found)


def _widget_facts(results: Sequence[int]) -> dict[str, float]:
    return {"widgets_lost": sum(results) / len(results), "widgets_lost_worst": max(results)}


def _widget_finding(params: Params, facts: Mapping[str, float]) -> str:
    return (
        f"{NEW_SENTENCE}: {facts['widgets_lost']:.0f} of {params['widgets']} widgets lost "
        f"(worst {facts['widgets_lost_worst']:.0f})"
    )


@pytest.fixture
def new_workloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new probe and a new cost workload, declared here, registered for this test only."""
    monkeypatch.setattr(_registry, "_REGISTRY", dict(all_workloads()))

    @workload(
        NEW_PROBE,
        kind="probe",
        params={"widgets": [12]},
        check=lambda result, widgets: 0 <= result <= widgets,
        facts=_widget_facts,
        present=Presentation(
            facts=(
                Fact("widgets_lost", "widgets lost", "per frobnication"),
                Fact("widgets_lost_worst", "widgets lost", "in the worst one", combine="worst"),
            ),
            finding=_widget_finding,
        ),
        backends=("serial",),
    )
    def widget_race(widgets: int) -> int:
        """A probe declared in a test: the report must show it without an edit."""
        return 0

    @workload(
        NEW_COST,
        kind="sync",
        params={"n": [10]},
        check=lambda result, n: result == n,
        ops="n",
        facts=lambda results: {"wait_late_ms": max(results)},
        present=Presentation(
            facts=(Fact("wait_late_ms", "wait late", "ms"),),
            cost_caveat=NEW_CAVEAT,
        ),
        backends=("serial", "threads"),
    )
    def widget_wait(n: int) -> int:
        """A cost workload declared in a test, whose operation includes a sleep."""
        return n


def _row(workload_name: str, kind: str, params: Mapping[str, object], **extra: object) -> dict:
    text = ",".join(f"{k}={v}" for k, v in sorted(params.items()))
    return {
        "machine": "box", "interpreter": "cpython3.13", "gil_enabled": True,
        "workload": workload_name, "kind": kind, "params": text, "backend": "serial",
        "start_method": "", "workers": 1, "cores": 2, "tasks": 4, "op_cost_us": float("nan"),
        **{f"param_{k}": v for k, v in params.items()}, **extra,
    }  # fmt: skip


def _text(sections: list[FamilySection]) -> str:
    figures: list[Figure] = [
        f for s in sections for f in [*s.figures, *(g for w in s.workloads for g in w.figures)]
    ]
    return "\n".join(f"{f.title}\n{f.caption}\n{f.table}" for f in figures)


def test_a_new_probe_shows_its_sentence_labels_and_units(new_workloads: None) -> None:
    frame = pd.DataFrame(
        [
            _row(NEW_PROBE, "probe", {"widgets": 12.0}, fact_widgets_lost=3.0,
                 fact_widgets_lost_worst=5.0),
            _row("probe.counter_plain", "probe", {"threads": 8.0, "n": 20_000.0},
                 fact_lost_updates=0.0, fact_lost_updates_worst=0.0),
        ]
    )  # fmt: skip
    sections = build_families(frame)
    assert [s.family for s in sections] == ["probe"]
    text = _text(sections)
    assert f"{NEW_SENTENCE}: 3 of 12 widgets lost (worst 5)" in text
    assert "widgets lost: 3 per frobnication" in text
    assert "widgets lost: 5 in the worst one" in text
    # A probe of the catalogue still says what it said when the report knew it by name.
    assert (
        "lost none of 160,000 updates per task: on this interpreter this form did not lose "
        "updates in this run" in text
    )


def test_findings_read_parameters_from_their_columns_not_the_text(new_workloads: None) -> None:
    row = _row(NEW_PROBE, "probe", {"widgets": 7}, fact_widgets_lost=1.0,
               fact_widgets_lost_worst=1.0)  # fmt: skip
    row["params"] = "widgets=999"
    assert f"{NEW_SENTENCE}: 1 of 7 widgets lost" in _text(build_families(pd.DataFrame([row])))


def test_a_finding_that_cannot_read_a_point_says_so_instead_of_failing(
    new_workloads: None,
) -> None:
    frame = pd.DataFrame([_row(NEW_PROBE, "probe", {"widgets": 7})])  # no facts recorded
    assert "no finding (KeyError: 'widgets_lost')" in _text(build_families(frame))


def _cost_frame() -> pd.DataFrame:
    rows = []
    for name in (NEW_COST, "sync.lock"):
        for backend, workers in (("serial", 1), ("threads", 2)):
            late = {"fact_wait_late_ms": 2.0 * workers} if name == NEW_COST else {}
            rows.append(_row(name, "sync", {"n": 10}, backend=backend, workers=workers,
                             op_cost_us=1.5 * workers, **late))  # fmt: skip
    return pd.DataFrame(rows)


def test_a_cost_workload_declares_its_columns_and_why_it_is_left_out_of_the_bars(
    new_workloads: None,
) -> None:
    (sync,) = build_families(_cost_frame())
    (figure,) = sync.figures
    assert "wait late (ms)" in figure.table
    assert "<td>3.000</td>" in figure.table  # the mean over serial and threads x2
    assert figure.caption == f"µs per operation. {NEW_CAVEAT}"
    assert isinstance(figure.svg, LazySvg)
    drawn = figure.svg.args[0]
    assert list(drawn.index) == ["sync.lock"]
    assert list(drawn.columns) == ["serial", "threads x2"]


def test_a_worst_fact_combines_by_its_worst_over_the_points(
    new_workloads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    wl = _registry._REGISTRY[NEW_COST]
    worst = (Fact("wait_late_ms_worst", "wait late, worst", "ms", combine="worst"),)
    monkeypatch.setitem(
        _registry._REGISTRY,
        NEW_COST,
        dataclasses.replace(wl, present=dataclasses.replace(wl.present, facts=worst)),
    )
    frame = _cost_frame().rename(columns={"fact_wait_late_ms": "fact_wait_late_ms_worst"})
    (figure,) = cost_figures(frame, "sync", bars=False)
    assert "wait late, worst (ms)" in figure.table
    assert "<td>4.000</td>" in figure.table
    assert figure.svg == Markup("")


def test_sections_are_frozen_records_of_tuples() -> None:
    frame = pd.DataFrame(
        [_row("probe.deadlock", "probe", {"timeout_ms": 50.0}, fact_deadlocks_detected=1.0)]
    )
    (section,) = build_families(frame)
    assert isinstance(section.figures, tuple)
    assert isinstance(section.workloads, tuple)
    assert "deadlock detected in 100% of tasks" in _text([section])
    with pytest.raises(AttributeError):
        section.title = "changed"  # type: ignore[misc]
    assert WorkloadSection.__dataclass_params__.frozen  # type: ignore[attr-defined]
