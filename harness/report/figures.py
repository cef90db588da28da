"""The report's building blocks: a figure beside its table, anchors, escaped tables."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from markupsafe import Markup

from gilbench.report.figure_pool import LazySvg


@dataclass(frozen=True)
class Figure:
    """A plot beside its table."""

    anchor: str
    title: str
    svg: Markup | LazySvg  # drawn in parallel before the page is rendered
    table: Markup
    caption: str = ""
    wide: bool = False  # the figure takes the full width, its table goes below it


def anchor(*parts: object) -> str:
    """An id usable in a URL fragment."""
    text = "-".join(str(p) for p in parts).lower()
    return "".join(c if c.isalnum() else "-" for c in text).strip("-")


def html_table(view: pd.DataFrame, index: bool = False, classes: str = "numbers") -> Markup:
    """A pandas table, escaped, with the report's number formatting."""
    return Markup(
        view.to_html(
            index=index,
            escape=True,
            border=0,
            classes=classes,
            float_format=lambda v: f"{v:,.3f}",
            na_rep="–",
        )
    )
