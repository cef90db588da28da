"""Figures drawn in parallel: the report asks for each figure when it builds a section
and gets a placeholder; the report's placeholders are drawn, in a process pool, before
the page is rendered.

matplotlib draws one figure at a time per process, and a report over several machines
and interpreters has dozens of them: spreading them over the CPUs is what keeps a large
report's rendering time in seconds.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

# Below this many figures a pool costs more to start than it saves.
POOL_FROM = 6


class LazySvg:
    """A figure to draw: ``draw(*args)`` returns SVG text.  Jinja2 renders it through
    ``__html__`` (as it does Markup); it is drawn on first use unless drawn before."""

    def __init__(self, draw: Callable[..., str], *args: Any) -> None:
        self.draw = draw
        self.args = args
        self.svg: str | None = None

    def __html__(self) -> str:
        if self.svg is None:
            self.svg = self.draw(*self.args)
        return self.svg

    def __str__(self) -> str:
        return self.__html__()

    def __bool__(self) -> bool:
        return True


def _draw(draw: Callable[..., str], args: tuple[Any, ...]) -> str:
    return draw(*args)


def draw_all(items: Iterable[object], workers: int | None = None) -> int:
    """Draw every placeholder among ``items`` not drawn yet, in parallel; return how many
    were drawn (other items, such as ready Markup, are left alone)."""
    todo: Sequence[LazySvg] = [i for i in items if isinstance(i, LazySvg) and i.svg is None]
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    if len(todo) < POOL_FROM or workers < 2:
        for item in todo:
            item.__html__()
        return len(todo)
    methods = multiprocessing.get_all_start_methods()
    # fork: the children have matplotlib and the data already; nothing is re-imported.
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        # Costly figures first, so the pool does not end on one long figure.
        ordered = sorted(todo, key=lambda item: -len(item.args[0]) if item.args else 0)
        svgs = pool.map(_draw, [i.draw for i in ordered], [i.args for i in ordered])
        for item, svg in zip(ordered, svgs, strict=True):
            item.svg = svg
    return len(todo)
