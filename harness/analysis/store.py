"""The result store: ``results/<machine>/<UTC timestamp>-<interpreter tag>.json``.

Result files are pyperf suites, written atomically (temporary file + rename) after every
point, so an interrupted run keeps everything it measured.  Reading never executes or
unpickles anything: a file is JSON, parsed by pyperf, and anything unexpected makes the
loader skip the file with one line saying why.  Benchmarks written under an older schema
(gilbench.metadata) are converted to the current one as they are read.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyperf

from gilbench.metadata import SCHEMA_KEY, SCHEMA_VERSION
from gilbench.vocabulary import LATENCY_KIND, load_place

MACHINE_FILE = "machine.json"
#: Beside each result file: the points of that run that produced no result, and why.
FAILURES_SUFFIX = ".failures.json"
FAILURE_FIELDS = ("name", "reason", "detail")


def run_id_now() -> str:
    """A UTC timestamp usable in file names: ``20261124T150102Z``."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def result_path(results_dir: Path, machine: str, run_id: str, interpreter_tag: str) -> Path:
    """Where one run's result file goes."""
    return results_dir / machine / f"{run_id}-{interpreter_tag}.json"


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_writable(results_dir: Path) -> None:
    """Raise OSError with a clear message if ``results_dir`` cannot take result files."""
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".gilbench-write-test.", dir=results_dir)
    except OSError as exc:
        raise OSError(f"results folder {results_dir} is not writable: {exc.strerror}") from exc
    os.close(fd)
    os.unlink(tmp)


class RunFile:
    """The result file of one run, rewritten atomically each time a point is added."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._suite: pyperf.BenchmarkSuite | None = None
        if path.exists():  # --resume: keep what is there, in the current schema
            self._suite = pyperf.BenchmarkSuite.load(str(path))
            upgrade(self._suite)

    @property
    def names(self) -> set[str]:
        """Names of the benchmarks already in the file."""
        if self._suite is None:
            return set()
        return set(self._suite.get_benchmark_names())

    def add(self, bench: pyperf.Benchmark) -> None:
        """Add one point's runs (a new benchmark, or more runs of one already there) and
        save the whole file atomically."""
        if self._suite is None:
            self._suite = pyperf.BenchmarkSuite([bench])
        else:
            self._suite.add_runs(bench)
        self._save()

    def benchmark(self, name: str) -> pyperf.Benchmark | None:
        """The benchmark ``name`` as saved so far, or None."""
        if self._suite is None or name not in self.names:
            return None
        return self._suite.get_benchmark(name)

    def value_runs(self, name: str) -> int:
        """How many runs with values the benchmark ``name`` has (0 if absent)."""
        if self._suite is None or name not in self.names:
            return 0
        return sum(1 for run in self._suite.get_benchmark(name).get_runs() if run.values)

    def update_all(self, metadata: dict[str, str | int | float]) -> None:
        """Add ``metadata`` to every benchmark (e.g. the load average at the end)."""
        if self._suite is None:
            return
        for bench in self._suite.get_benchmarks():
            bench.update_metadata(dict(metadata))
        self._save()

    def _save(self) -> None:
        assert self._suite is not None
        buffer = io.StringIO()
        self._suite.dump(buffer)
        atomic_write_text(self.path, buffer.getvalue())

    def __len__(self) -> int:
        return len(self.names)

    @property
    def failures_path(self) -> Path:
        """The sidecar file that lists this run's failed points."""
        return failures_path(self.path)

    def failures(self) -> dict[str, dict[str, str]]:
        """This run's failed points by name (the sidecar, or nothing if it is unusable)."""
        try:
            return {f["name"]: f for f in load_failures(self.failures_path)}
        except ValueError:
            return {}

    def record_failure(self, name: str, reason: str, detail: str) -> None:
        """Remember that point ``name`` produced no result (saved at once, atomically)."""
        failures = self.failures()
        failures[name] = {"name": name, "reason": reason, "detail": detail}
        self._save_failures(failures)

    def clear_failure(self, name: str) -> None:
        """Forget an earlier failure of ``name`` (it has now been measured)."""
        failures = self.failures()
        if failures.pop(name, None) is not None:
            self._save_failures(failures)

    def _save_failures(self, failures: dict[str, dict[str, str]]) -> None:
        if not failures:
            self.failures_path.unlink(missing_ok=True)
            return
        text = json.dumps(sorted(failures.values(), key=lambda f: f["name"]), indent=1)
        atomic_write_text(self.failures_path, text + "\n")


def failures_path(result_file: Path) -> Path:
    """``X.failures.json`` beside result file ``X.json``."""
    return result_file.with_name(result_file.name.removesuffix(".json") + FAILURES_SUFFIX)


def load_failures(path: Path) -> list[dict[str, str]]:
    """The failed points listed in a sidecar file ([] if there is none).

    Raises ValueError for anything but a JSON list of objects with string fields
    ``name``, ``reason`` and ``detail``: the file is data from elsewhere, not trusted.
    """
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"unreadable failures file ({type(exc).__name__})") from exc
    if not isinstance(data, list):
        raise ValueError("a failures file must hold a JSON list")
    out = []
    for item in data:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(key), str) for key in FAILURE_FIELDS
        ):
            raise ValueError("a failures file entry lacks a string name, reason or detail")
        out.append({key: item[key] for key in FAILURE_FIELDS})
    return out


@dataclass
class LoadedSuite:
    """A result file that passed every check."""

    path: Path
    machine: str
    suite: pyperf.BenchmarkSuite


@dataclass
class LoadReport:
    """What a results folder held: usable suites, skipped files with reasons, machines."""

    suites: list[LoadedSuite] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    machines: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Points that produced no result: machine, file, name, reason, detail.
    failures: list[dict[str, str]] = field(default_factory=list)


def _check_suite(suite: pyperf.BenchmarkSuite) -> None:
    benches = suite.get_benchmarks()
    if not benches:
        raise ValueError("no benchmarks")
    for bench in benches:
        version = bench.get_metadata().get(SCHEMA_KEY)
        if version is None:
            raise ValueError(f"benchmark {bench.get_name()!r} was not written by gilbench")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ValueError(
                f"schema version {version!r} is newer than this gilbench understands "
                f"({SCHEMA_VERSION}); upgrade gilbench to read it"
            )


def _v1_to_v2(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Schema 1 -> 2: a latency point's CPU load leaves the throughput coordinates.

    Its workers were the K CPU workers (now load_workers) and its backend and start
    method where they ran (now load_in: ``asyncio`` + ``inline`` is ``asyncio[inline]``,
    ``threads`` + ``-`` is ``threads``); its workers become 1 and its start method ``-``.
    """
    if metadata.get("kind") != LATENCY_KIND:
        return {"load_in": "-"}
    method = str(metadata.get("start_method", "-"))
    return {
        "load_in": load_place(str(metadata["backend"]), None if method == "-" else method),
        "load_workers": int(metadata["workers"]),
        "workers": 1,
        "start_method": "-",
    }


def _v2_to_v3(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Schema 2 -> 3: nothing changes; the new per-run keys (pairs, capacity, shares, the
    CPU list) are simply absent, and the tidy table shows them as NaN or empty."""
    return {}


def _v3_to_v4(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Schema 3 -> 4: a schema 3 point's serial partner timed its whole batch, so its
    sample (``serial_tasks``) is the batch; its other new keys are simply absent."""
    return {"serial_tasks": int(metadata["tasks"])} if "tasks" in metadata else {}


#: Schema version -> the metadata that brings a benchmark of that version to the next.
_UPGRADES: dict[int, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    1: _v1_to_v2,
    2: _v2_to_v3,
    3: _v3_to_v4,
}


def upgrade(suite: pyperf.BenchmarkSuite) -> None:
    """Convert every benchmark of ``suite`` written under an older schema to the current
    one, in place (the file is not touched); ValueError if one cannot be."""
    for bench in suite.get_benchmarks():
        version = bench.get_metadata().get(SCHEMA_KEY)
        if not isinstance(version, int) or version < 1:
            raise ValueError(f"benchmark {bench.get_name()!r}: unknown schema {version!r}")
        while version < SCHEMA_VERSION:
            try:
                changes = _UPGRADES[version](bench.get_metadata())
                bench.update_metadata({**changes, SCHEMA_KEY: version + 1})
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(
                    f"benchmark {bench.get_name()!r} cannot be converted from schema "
                    f"{version} ({type(exc).__name__}: {exc})"
                ) from None
            version += 1


def load_suite(path: Path) -> pyperf.BenchmarkSuite:
    """Parse, check and convert (to the current schema) one result file; raise
    ValueError saying what is wrong with it."""
    try:
        suite = pyperf.BenchmarkSuite.load(str(path))
    except Exception as exc:  # pyperf raises many types on malformed JSON or schema
        raise ValueError(f"not a readable pyperf file ({type(exc).__name__}: {exc})") from exc
    _check_suite(suite)
    upgrade(suite)
    return suite


def iter_result_files(results_dir: Path) -> Iterator[tuple[str, Path]]:
    """(machine, path) for every candidate result file, in a stable order."""
    for machine_dir in sorted(p for p in results_dir.iterdir() if p.is_dir()):
        for path in _result_files_in(machine_dir):
            yield machine_dir.name, path


def _result_files_in(machine_dir: Path) -> list[Path]:
    return [
        p
        for p in sorted(machine_dir.glob("*.json"))
        if p.name != MACHINE_FILE
        and not p.name.startswith(".")
        and not p.name.endswith(FAILURES_SUFFIX)
    ]


def load_machine_facts(path: Path) -> dict[str, Any] | None:
    """machine.json as a dict, or None when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def load_results(*sources: Path) -> LoadReport:
    """Load result files from folders of machines, machine folders, or single files."""
    report = LoadReport()
    for source in sources:
        if source.is_file():
            candidates = [(source.parent.name, source)]
        elif source.is_dir() and any(source.glob("*.json")):  # one machine's folder
            candidates = [(source.name, p) for p in _result_files_in(source)]
        elif source.is_dir():  # a folder of machine folders
            candidates = list(iter_result_files(source))
        else:
            report.skipped.append((source, "no such file or folder"))
            continue
        for machine, path in candidates:
            try:
                suite = load_suite(path)
            except ValueError as exc:
                report.skipped.append((path, str(exc)))
                continue
            report.suites.append(LoadedSuite(path, machine, suite))
            try:
                failed = load_failures(failures_path(path))
            except ValueError as exc:
                report.skipped.append((failures_path(path), str(exc)))
                failed = []
            measured = set(suite.get_benchmark_names())
            report.failures.extend(
                {"machine": machine, "file": path.name, **f}
                for f in failed
                if f["name"] not in measured
            )
            if machine not in report.machines:
                facts = load_machine_facts(path.parent / MACHINE_FILE)
                report.machines[machine] = facts or {}
    return report
