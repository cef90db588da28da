"""The verdict and decision rules are shown as tables of conditions (issue 25): every
outcome the code can give has its row, and the report renders them as tables."""

from __future__ import annotations

from pathlib import Path

from gilbench.analysis import verdict
from gilbench.analysis.decision import DECISION_TABLE


def test_every_verdict_the_rule_gives_has_a_row() -> None:
    outcomes = {then for _, then in verdict.RULE_TABLE}
    words = {verdict.SCALES, verdict.GIL_BOUND, verdict.LIMITED, verdict.LOCKS,
             verdict.CPU_BOUND, verdict.UNCLEAR, verdict.NOTHING_TO_COMPARE,
             verdict.TOO_FEW_WORKERS, verdict.TAIL_BOUND}  # fmt: skip
    assert words <= outcomes
    assert all(len(when) <= 120 for when, _ in verdict.RULE_TABLE)  # a row, not a paragraph


def test_every_decision_has_a_row() -> None:
    outcomes = " ".join(then for _, then in DECISION_TABLE)
    for word in ("unclear (fewer workers than cores)", "unclear (too few processes)",
                 "serial", "unclear (intervals too wide)", "the cheapest"):  # fmt: skip
        assert word in outcomes


def test_the_report_shows_both_rules_as_tables_and_no_python_reprs(tmp_path: Path) -> None:
    from gilbench.analysis.store import load_results
    from gilbench.analysis.tidy import tidy
    from gilbench.report.page import render_report

    loaded = load_results(Path(__file__).parent / "data" / "schema3")
    html = render_report(tidy(loaded), loaded, tmp_path, "rules").read_text()
    assert html.count('<table class="rule">') == 2
    assert "((" not in html  # a tuple printed where a table belongs
    assert "limited by the batch&#39;s tail" in html or "limited by the batch's tail" in html
