"""No selection of points or files crashes ``report``, ``export`` or ``compare``.

A property test over random subsets of a real results folder (issue 15, item 5): one small
folder is measured per test session (smoke runs over workloads of every kind, a slice that
measures its own serial baselines, chaos workloads that leave a failures sidecar) beside
the committed samples of schemas 1 and 2; hypothesis then writes subsets of it to a scratch folder
(benchmarks dropped, whole files dropped, machine.json dropped, only serial points or none,
files of older and current schemas in one machine folder, a run duplicated under another run id, a
truncated file) and every consumer of result files runs over them.  Missing data must
become an empty cell with a reason, never a traceback, and no speedup may come from
another run's baseline.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyperf
import pytest
from helpers import gilbench
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from gilbench.analysis.compare import CompareError, compare, load_side, render
from gilbench.analysis.noise import noise_warnings
from gilbench.analysis.store import MACHINE_FILE, failures_path, load_results, run_id_now
from gilbench.analysis.tidy import tidy_report
from gilbench.cli import main
from gilbench.report.console import latency_table, summary_table, verdict_table
from gilbench.report.page import render_report
from gilbench.vocabulary import LATENCY_KIND

DATA = Path(__file__).parent / "data"
SCHEMA_1 = DATA / "schema1" / "vm"
# The committed samples of older schemas (1 and 2), all from machine "vm".
SAMPLES = tuple(DATA / f"schema{v}" / "vm" for v in (1, 2) if (DATA / f"schema{v}").exists())
MACHINE = "box"
# Small and fast: two workers, four tasks per batch, the smoke profile (one process).
SMOKE = ("run", "--profile", "smoke", "--machine", MACHINE, "--no-report",
         "--workers", "2", "--tasks", "4")  # fmt: skip


def _workloads(*names: str) -> tuple[str, ...]:
    return tuple(arg for name in names for arg in ("--workload", name))


RUNS = (
    # One workload of every kind, under every backend.
    _workloads(
        "cpu.fib", "released.zlib", "io.sleep", "sync.lock", "probe.counter_plain", "mixed.event"
    ),
    # A slice: threads only, so it measures its own serial baselines.
    (*_workloads("cpu.fib"), "--backend", "threads"),
    # Failing workloads: a failures sidecar beside the result file.
    (
        "--workloads-from",
        "gilbench.selfcheck.chaos_workloads",
        *_workloads("chaos.ok", "chaos.fail"),
    ),
)
# A run id later and one earlier than any measured: a duplicated run becomes the newest
# run of its points, or the oldest.
OTHER_RUN_IDS = ("29991231T235959Z", "19990101T000000Z")


@dataclass(frozen=True)
class Source:
    """One result file of the real folder."""

    machine: str
    path: Path
    names: tuple[str, ...]
    serial: tuple[bool, ...]


def _measure(root: Path) -> None:
    for args in RUNS:
        # Run ids are UTC seconds: the next run must start in a later second.
        newest = max((p.name[:16] for p in (root / MACHINE).glob("2*.json")), default="")
        while run_id_now() <= newest:
            time.sleep(0.05)
        done = gilbench(*SMOKE, "--results", str(root), *args)
        assert done.returncode in (0, 1), done.stdout + done.stderr  # 1: chaos.fail failed


@pytest.fixture(scope="session")
def real_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[Source, ...]]:
    """A small real results folder (three runs on ``box`` and the samples of older
    schemas on ``vm``) and its result files."""
    root = tmp_path_factory.mktemp("real") / "results"
    _measure(root)
    for sample in SAMPLES:
        shutil.copytree(sample, root / sample.name, dirs_exist_ok=True)
    sources = []
    for machine in (MACHINE, SCHEMA_1.name):
        for path in sorted((root / machine).glob("*.json")):
            if path.name == MACHINE_FILE or path.name.endswith(".failures.json"):
                continue
            benches = pyperf.BenchmarkSuite.load(str(path)).get_benchmarks()
            sources.append(Source(
                machine, path, tuple(b.get_name() for b in benches),
                tuple(b.get_metadata()["backend"] == "serial" for b in benches),
            ))  # fmt: skip
    assert len(sources) == len(RUNS) + len(SAMPLES)
    assert any(failures_path(s.path).exists() for s in sources)
    return root, tuple(sources)


@dataclass(frozen=True)
class Pick:
    """A file of the subset: which of its benchmarks, in which machine folder."""

    source: Source
    keep: tuple[str, ...]
    machine: str


@dataclass(frozen=True)
class Selection:
    """A subset of the real folder, as hypothesis chose it."""

    picks: tuple[Pick, ...]
    duplicate: tuple[int, str] | None  # (which pick, under which run id)
    machine_json: bool
    failures: bool
    truncated: bool


@st.composite
def selections(draw: st.DrawFn, sources: tuple[Source, ...]) -> Selection:
    """Which files, which benchmarks of each, where, and what else the folder holds."""
    picks = []
    for source in sources:
        if not draw(st.booleans()):
            continue
        mode = draw(st.sampled_from(["all", "serial only", "no serial", "some"]))
        if mode == "some":
            mask = draw(st.lists(st.booleans(), min_size=len(source.names),
                                 max_size=len(source.names)))  # fmt: skip
        else:
            mask = [mode == "all" or (s == (mode == "serial only")) for s in source.serial]
        keep = tuple(n for n, k in zip(source.names, mask, strict=True) if k)
        # Schema 1 beside schema 2 in one machine folder, or in a folder of its own.
        machine = draw(st.sampled_from(sorted({source.machine, MACHINE})))
        picks.append(Pick(source, keep, machine))
    duplicate = None
    if picks and draw(st.booleans()):
        duplicate = (draw(st.integers(0, len(picks) - 1)), draw(st.sampled_from(OTHER_RUN_IDS)))
    return Selection(
        tuple(picks), duplicate, draw(st.booleans()), draw(st.booleans()), draw(st.booleans())
    )


def _write_suite(path: Path, benches: list[pyperf.Benchmark]) -> None:
    if benches:  # pyperf writes no suite without benchmarks: the file is dropped
        pyperf.BenchmarkSuite(benches).dump(str(path), replace=True)


def write_selection(selection: Selection, root: Path, folder: Path) -> None:
    """Write ``selection`` of the real folder ``root`` as a results folder ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, pick in enumerate(selection.picks):
        suite = pyperf.BenchmarkSuite.load(str(pick.source.path))
        benches = [b for b in suite.get_benchmarks() if b.get_name() in pick.keep]
        target = folder / pick.machine / pick.source.path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_suite(target, benches)
        sidecar = failures_path(pick.source.path)
        if selection.failures and sidecar.exists():  # even beside a dropped file
            shutil.copy(sidecar, failures_path(target))
        if selection.machine_json and (pick.source.path.parent / MACHINE_FILE).exists():
            shutil.copy(pick.source.path.parent / MACHINE_FILE, target.parent / MACHINE_FILE)
        if selection.duplicate is not None and selection.duplicate[0] == i:
            run_id = selection.duplicate[1]
            for bench in benches:
                bench.update_metadata({"run_id": run_id})
            tag = pick.source.path.name.split("-", 1)[1]
            _write_suite(target.with_name(f"{run_id}-{tag}"), benches)
        if selection.truncated and i == 0:
            text = pick.source.path.read_text(encoding="utf-8")
            (target.parent / "20000101T000000Z-broken.json").write_text(text[: len(text) // 3])


def _baselines_written(folder: Path) -> set[tuple[str, ...]]:
    """(run, context, workload, batch, cores) of every serial point written to ``folder``."""
    out = set()
    for path in folder.glob("*/*.json"):
        try:
            suite = pyperf.BenchmarkSuite.load(str(path))
        except Exception:  # pyperf raises many types on the truncated file
            continue
        for bench in suite.get_benchmarks():
            meta = bench.get_metadata()
            if meta.get("backend") == "serial":
                out.add(tuple(str(meta.get(k, "")) for k in (
                    "run_id", "interpreter", "workload", "params", "tasks", "cores",
                )))  # fmt: skip
    return out


def check_tidy_table(folder: Path) -> pd.DataFrame:
    """The tidy table of ``folder``: every speedup from its own run's serial point, every
    missing speedup of a throughput point with a reason."""
    frame = tidy_report(load_results(folder)).frame
    if frame.empty:
        return frame
    params = frame["params"].where(frame["params"] != "", "-")
    measured = frame.assign(params=params)
    baselines = _baselines_written(folder)
    # The estimate from the separate serial point (the speedup itself where a point has no
    # time-paired batches): only ever from the point's own run.
    divided = "baseline_speedup" if "baseline_speedup" in frame else "speedup"
    with_base = measured[measured[divided].notna() & (measured["backend"] != "serial")]
    for row in with_base.itertuples(index=False):
        key = tuple(str(v) for v in (row.run_id, row.interpreter, row.workload, row.params,
                                     row.tasks, row.cores))  # fmt: skip
        assert key in baselines, f"{row.name}: divided by a serial point of another run"
    unpaired = frame["pairs"].fillna(0) == 0 if "pairs" in frame else True
    own = frame[frame["speedup"].notna() & unpaired & (frame["backend"] != "serial")]
    assert own[divided].notna().all(), "a speedup from neither pairs nor its run's baseline"
    missing = frame[frame["speedup"].isna() | frame[divided].isna()]
    assert (missing["speedup_note"].astype(str) != "").all(), missing[["name", "speedup_note"]]
    latency = frame["kind"] == LATENCY_KIND
    assert frame.loc[latency, "speedup"].isna().all()
    return frame


def check_terminal(frame: pd.DataFrame) -> None:
    """What ``gilbench run`` prints after a run, from the same table."""
    out = Console(file=io.StringIO(), width=160)
    if not frame.empty:
        out.print(summary_table(frame))
        table = latency_table(frame)
        if table is not None:
            out.print(table)
        out.print(verdict_table(frame))
    for line in noise_warnings(frame):
        assert isinstance(line, str)


def check_export(folder: Path) -> None:
    """``gilbench export`` in both formats: exit 0 and a table that reads back."""
    for fmt in ("csv", "json"):
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout), pytest.raises(SystemExit) as exited:
            main(["export", str(folder), "--format", fmt])
        assert exited.value.code == 0
        text = stdout.getvalue()
        if fmt == "csv" and text.strip():
            exported = pd.read_csv(io.StringIO(text))
            assert "speedup_note" in exported.columns


def check_compare(a: Path, b: Path) -> None:
    """``compare`` of two subsets: a table, or a CompareError saying why not."""
    for spec_a, spec_b, where in ((str(a), str(b), a), ("cpython3.11", str(b), a)):
        try:
            table = compare(load_side(spec_a, where), load_side(spec_b, where))
        except CompareError as exc:  # a clean outcome: the CLI exits 2 with this message
            if not str(exc):
                raise AssertionError("a CompareError without a message") from exc
            continue
        for fmt in ("text", "md", "csv"):
            assert isinstance(render(table, fmt), str)


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="gilbench-subset-") as name:
        yield Path(name)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_no_subset_of_a_real_folder_crashes_report_export_or_compare(
    real_folder: tuple[Path, tuple[Source, ...]], data: st.DataObject
) -> None:
    root, sources = real_folder
    chosen = data.draw(selections(sources), label="A")
    other = data.draw(selections(sources), label="B")
    with scratch() as tmp:
        write_selection(chosen, root, tmp / "a")
        write_selection(other, root, tmp / "b")
        frame = check_tidy_table(tmp / "a")
        check_terminal(frame)
        loaded = load_results(tmp / "a")
        tidied = tidy_report(loaded)
        page = render_report(
            tidied.frame, tidied.report_with_skipped(loaded), tmp / "report", "subset"
        )
        assert "</html>" in page.read_text(encoding="utf-8")
        check_export(tmp / "a")
        check_compare(tmp / "a", tmp / "b")


def test_the_readme_slice_without_serial_points_reports_speedups_as_missing(
    real_folder: tuple[Path, tuple[Source, ...]], tmp_path: Path
) -> None:
    """The issue's crash through the command line: a folder whose only run is a threads
    slice without serial points (as gilbench wrote slices before they measured their own
    baselines) gives a report, and the export says why there is no speedup."""
    root, sources = real_folder
    slice_ = next(s for s in sources if s.machine == MACHINE and 0 < sum(s.serial) < 3)
    keep = tuple(n for n, serial in zip(slice_.names, slice_.serial, strict=True) if not serial)
    write_selection(Selection((Pick(slice_, keep, MACHINE),), None, True, False, False),
                    root, tmp_path / "results")  # fmt: skip
    report = gilbench("report", str(tmp_path / "results"), "--output", str(tmp_path / "out"))
    assert report.returncode == 0, report.stdout + report.stderr
    assert (tmp_path / "out" / "index.html").exists()
    export = gilbench("export", str(tmp_path / "results"))
    assert export.returncode == 0, export.stderr
    exported = pd.read_csv(io.StringIO(export.stdout))
    run_id = slice_.path.name[:16]
    assert exported["speedup_note"].str.startswith(f"no serial baseline in run {run_id}").all()
    # No speedup at all, or one from the point's own time-paired batches (schema 3).
    paired = exported["pairs"].fillna(0) > 0 if "pairs" in exported else False
    assert (exported["speedup"].isna() | paired).all()


def test_compare_with_nothing_in_common_exits_2_with_a_message(
    real_folder: tuple[Path, tuple[Source, ...]], tmp_path: Path
) -> None:
    root, sources = real_folder
    chaos = next(s for s in sources if failures_path(s.path).exists())
    v1 = next(s for s in sources if s.path.name == next(SCHEMA_1.glob("2*.json")).name)
    write_selection(Selection((Pick(chaos, chaos.names, MACHINE),), None, True, True, False),
                    root, tmp_path / "a")  # fmt: skip
    write_selection(Selection((Pick(v1, v1.names, MACHINE),), None, False, False, True),
                    root, tmp_path / "b")  # fmt: skip
    done = gilbench("compare", str(tmp_path / "a"), str(tmp_path / "b"))
    assert done.returncode == 2, done.stdout + done.stderr
    said = " ".join((done.stdout + done.stderr).split())  # rich wraps long lines
    assert "have no point in common" in said
    assert "Traceback" not in said
