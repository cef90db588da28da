"""The GIL checked where it matters (issue 15 item 7): on a free-threaded build with
PYTHON_GIL unset the GIL should be off; a worker that finds it on records it, tags the
point as the GIL-on variant, and names the step and the extension modules that did it.

No free-threaded build is needed: the build and the GIL's state are monkeypatched.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyperf
import pytest
from helpers import make_bench
from rich.console import Console

from gilbench.analysis.run_notes import gil_reenabled_notes
from gilbench.analysis.store import LoadedSuite, LoadReport
from gilbench.cli.run import print_guards
from gilbench.measure import bridge, gil_watch, interpreter
from gilbench.measure.backends.serial import SerialBackend
from gilbench.measure.batch import Batch
from gilbench.measure.bridge import GilMismatchError, start_worker
from gilbench.measure.gil_watch import GilWatch, Look
from gilbench.measure.interpreter import interpreter_tag
from gilbench.vocabulary import Point

FAKE_EXTENSION = "_gilbench_fake_ext"


class Gil:
    """A GIL switch the monkeypatched ``gil_enabled_now`` reads."""

    def __init__(self) -> None:
        self.enabled = False

    def turn_on_with_extension(self) -> None:
        """What importing an extension without free-threading support does."""
        module = types.ModuleType(FAKE_EXTENSION)
        module.__file__ = f"/site-packages/{FAKE_EXTENSION}.cpython-314t-x86_64-linux-gnu.so"
        sys.modules[FAKE_EXTENSION] = module
        self.enabled = True


@pytest.fixture
def gil(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gil]:
    """A free-threaded build whose GIL is off until a test turns it on (pinning is not
    what these tests are about: this process stays on its CPUs)."""
    switch = Gil()
    for module in (gil_watch, interpreter, bridge):
        monkeypatch.setattr(module, "gil_enabled_now", lambda: switch.enabled)
    monkeypatch.setattr(interpreter, "is_free_threaded_build", lambda: True)
    monkeypatch.setattr(gil_watch, "AT_IMPORT", Look(False, frozenset(sys.modules)))
    monkeypatch.setattr(bridge, "restrict_cores", lambda cores, cpus=(): [])
    yield switch
    sys.modules.pop(FAKE_EXTENSION, None)


def test_the_tag_marks_a_gil_found_on_with_python_gil_unset() -> None:
    assert interpreter_tag("CPython", (3, 14), True, None, gil_enabled=True) == "cpython3.14t-gil"
    assert interpreter_tag("CPython", (3, 14), True, None, gil_enabled=False) == "cpython3.14t"
    assert interpreter_tag("CPython", (3, 14), True, "1") == "cpython3.14t-gil"
    assert interpreter_tag("CPython", (3, 14), True, "0", gil_enabled=True) == "cpython3.14t"
    assert interpreter_tag("CPython", (3, 14), False, None, gil_enabled=True) == "cpython3.14"


def test_the_watch_names_the_first_step_and_its_new_extension_modules(gil: Gil) -> None:
    watch = GilWatch(Look(False, frozenset(sys.modules)))
    assert not watch.step("gilbench's worker imports")
    gil.turn_on_with_extension()
    assert watch.step("importing the workload's module gilbench.benchmarks.numeric")
    assert watch.step("the workload's setup")  # still on: the first step keeps the blame
    assert watch.reenabled_by == (
        f"importing the workload's module gilbench.benchmarks.numeric "
        f"(extension modules {FAKE_EXTENSION})"
    )


def test_a_gil_on_from_the_start_is_blamed_on_start_up() -> None:
    watch = GilWatch(Look(True, frozenset()))
    assert watch.reenabled_by == "the interpreter's start-up"


def _flip_during(monkeypatch: pytest.MonkeyPatch, gil: Gil, step: str) -> None:
    """Turn the GIL on during one start-up step of a worker: importing the workload's
    module, or starting the backend."""
    if step == "import":
        real = bridge.get_workload

        def importing(name: str) -> Any:
            gil.turn_on_with_extension()
            return real(name)

        monkeypatch.setattr(bridge, "get_workload", importing)
    else:
        start = SerialBackend.start

        def starting(self: SerialBackend, batch: Batch) -> None:
            gil.turn_on_with_extension()
            start(self, batch)

        monkeypatch.setattr(SerialBackend, "start", starting)


@pytest.mark.parametrize(
    ("step", "cause"),
    [
        ("import", "importing the workload's module gilbench.benchmarks.cpu"),
        ("pool", "starting the serial backend"),
    ],
)
def test_a_worker_that_finds_the_gil_on_records_and_tags_it(
    monkeypatch: pytest.MonkeyPatch, gil: Gil, step: str, cause: str
) -> None:
    _flip_during(monkeypatch, gil, step)
    started = start_worker(Point("cpu.fib", {"n": 10}, "serial", 1, 1, 2))
    try:
        meta = started.metadata
    finally:
        started.measurement.close()
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert meta["free_threaded"] == 1
    assert meta["gil_enabled"] == 1
    assert meta["interpreter"] == f"cpython{version}t-gil"
    assert meta["gil_reenabled_by"] == f"{cause} (extension modules {FAKE_EXTENSION})"
    pyperf.Run([1.0], metadata=meta, collect_metadata=False)  # valid pyperf metadata


def test_a_worker_with_the_gil_off_as_expected_says_nothing(gil: Gil) -> None:
    started = start_worker(Point("cpu.fib", {"n": 10}, "serial", 1, 1, 2))
    started.measurement.close()
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert started.metadata["gil_enabled"] == 0
    assert started.metadata["interpreter"] == f"cpython{version}t"
    assert "gil_reenabled_by" not in started.metadata


def test_an_explicit_request_still_stops_the_point_and_names_the_culprit(
    monkeypatch: pytest.MonkeyPatch, gil: Gil
) -> None:
    _flip_during(monkeypatch, gil, "import")
    culprit = r"re-enabled by importing the workload's module gilbench.benchmarks.cpu \(extension"
    with pytest.raises(GilMismatchError, match=rf"PYTHON_GIL=0 .* {culprit}"):
        start_worker(Point("cpu.fib", {"n": 10}, "serial", 1, 1, 2, gil_requested="0"))


def test_the_terminal_and_the_report_say_which_module_did_it() -> None:
    cause = "importing the workload's module gilbench.benchmarks.cpu (extension modules _ext)"
    gil_on = {"interpreter": "cpython3.14t-gil", "gil_enabled": 1, "free_threaded": 1,
              "gil_reenabled_by": cause}  # fmt: skip
    benches = [
        make_bench("cpu.fib", "serial", 1, **gil_on),
        make_bench("cpu.fib", "threads", 2, **gil_on),
        make_bench(
            "cpu.primes", "serial", 1, interpreter="cpython3.14t", free_threaded=1, gil_enabled=0
        ),
    ]
    path = Path("results/box/20260101T000000Z-cpython3.14t.json")  # never written
    loaded = LoadReport(suites=[LoadedSuite(path, "box", pyperf.BenchmarkSuite(benches))])
    line = (
        f"box: on cpython3.14t the GIL was re-enabled by {cause} (workload cpu.fib): "
        "its points are tagged cpython3.14t-gil"
    )
    assert gil_reenabled_notes(loaded) == [line]
    console = Console(record=True, width=400)
    print_guards(pd.DataFrame(), loaded, console)
    assert line in console.export_text()
