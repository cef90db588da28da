"""One upgrade path for result files (issue 26): a version-1, a version-2 and a version-3
file (committed samples, tests/data/README.md) each load through the store's upgrade
steps into the current shape and render; nothing but the store reads the version."""

from __future__ import annotations

import re
from pathlib import Path

import pyperf
import pytest

from gilbench.analysis.store import load_results
from gilbench.analysis.tidy import tidy
from gilbench.metadata import SCHEMA_KEY, SCHEMA_VERSION
from gilbench.report.page import render_report

DATA = Path(__file__).parent / "data"
HARNESS = Path(__file__).resolve().parent.parent / "harness"


@pytest.mark.parametrize(("folder", "version"), [("schema1", 1), ("schema2", 2), ("schema3", 3)])
def test_each_older_version_loads_through_the_upgrade_and_renders(
    folder: str, version: int, tmp_path: Path
) -> None:
    (path,) = (DATA / folder).glob("*/*-cpython*.json")
    before = path.read_bytes()
    raw = pyperf.BenchmarkSuite.load(str(path)).get_benchmarks()
    assert {b.get_metadata()[SCHEMA_KEY] for b in raw} == {version}
    loaded = load_results(DATA / folder)
    assert not loaded.skipped
    upgraded = [b for s in loaded.suites for b in s.suite.get_benchmarks()]
    assert {b.get_metadata()[SCHEMA_KEY] for b in upgraded} == {SCHEMA_VERSION}
    frame = tidy(loaded)
    assert len(frame) == len(raw)
    throughput = frame[frame["kind"] != "mixed"]
    # Schema 4's serial sample: an older point's partner timed its whole batch.
    assert (throughput["serial_tasks"] == throughput["tasks"]).all()
    assert path.read_bytes() == before  # read, never rewritten
    if version < 3:
        return  # versions 1 and 2 render in tests/test_store.py and tests/test_pairs.py
    html = render_report(frame, loaded, tmp_path / "report", folder).read_text()
    assert 'id="family-cpu"' in html  # cpu.fib drawn in its family
    assert "No results to show" not in html
    # Both rules as tables of conditions (issue 25), never a Python tuple's text.
    assert html.count('<table class="rule">') == 2
    assert "((" not in html


def test_no_module_but_the_store_reads_the_schema_version() -> None:
    readers = [
        str(path.relative_to(HARNESS))
        for room in ("analysis", "report", "run", "cli", "fleet", "selfcheck")
        for path in (HARNESS / room).rglob("*.py")
        if re.search(r"\bSCHEMA_(KEY|VERSION)\b", path.read_text(encoding="utf-8"))
    ]
    assert readers == ["analysis/store.py"]
