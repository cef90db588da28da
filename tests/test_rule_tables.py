"""The verdict and decision rules are shown as tables of conditions (issue 25): every
outcome the code can give has its row, and the report renders them as tables."""

from __future__ import annotations

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
