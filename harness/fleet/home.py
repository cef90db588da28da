"""The fleet at home: options as ``gilbench run`` takes them, files in, files out, the log.

Result files, failures sidecars and machine.json come home as bytes and are written into
``results/<machine>/`` with the store's atomic writes, exactly as a local run writes
them, under names checked here (never trusted as paths).

The fleet log, ``results/<machine>/fleet.jsonl``, has one JSON line per attempt on that
machine: which cluster (scheduler address) and worker ran it, on which host and
interpreter, into which result file, when it started and ended (UTC, from the host's
clock), and how it ended.  It is not a ``*.json`` file, so the result loader never takes
it for a result; ``--resume`` reads it to skip machines already done.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gilbench.analysis.store import FAILURES_SUFFIX, MACHINE_FILE, atomic_write_text
from gilbench.fleet.records import DONE, Snapshot, pack, unpack
from gilbench.run.command import RunOptions
from gilbench.run.profiles import get_profile
from gilbench.run.selection import (
    UsageError,
    parse_param_overrides,
    select_backends,
    select_workloads,
)

FLEET_LOG = "fleet.jsonl"
MACHINE_FROM = ("host", "worker")

# Only these names come home: result files, their failures sidecars and machine.json.
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\.json")


@dataclass(frozen=True)
class FleetOptions:
    """What ``gilbench fleet`` was asked for, beyond the matrix options of ``gilbench run``.

    ``run.results`` is the results folder at home; ``run.resume`` re-runs only machines
    whose last attempt did not end ``done`` with the same matrix, each with
    ``gilbench run --resume``; ``run.machine`` is ignored: machine names come from the
    hosts (``machine_from="host"``) or the Dask worker names (``"worker"``).
    ``timeout`` limits each machine's measurement (seconds); ``python`` is the
    interpreter to run on every host (default: the one the Dask worker runs on);
    ``wait_for`` is how many workers to wait for (batch jobs join one by one).
    """

    run: RunOptions = field(default_factory=RunOptions)
    machine_from: str = "host"
    timeout: float | None = None
    python: str | None = None
    wait_for: int = 1  # workers to wait for (up to 10 minutes) before starting

    @property
    def results(self) -> Path:
        """The results folder at home (machine folders inside)."""
        return Path(self.run.results)

    def check(self) -> None:
        """Raise UsageError (or an unknown-name error) for options no host could honour:
        names and parameters are checked here, before any host is asked."""
        get_profile(self.run.profile)
        select_workloads(self.run.workloads)
        select_backends(self.run.backends)
        parse_param_overrides(self.run.params)
        if self.machine_from not in MACHINE_FROM:
            raise UsageError(f"--machine-from must be one of {', '.join(MACHINE_FROM)}")
        if self.timeout is not None and self.timeout <= 0:
            raise UsageError("--timeout must be a positive number of seconds")
        if self.wait_for < 1:
            raise UsageError("--wait-for must be a number of workers, 1 or more")


def run_arguments(options: RunOptions) -> list[str]:
    """The ``gilbench run`` options that ask for ``options``' matrix (not where it goes)."""
    args = ["--profile", options.profile]
    if options.workloads:
        args += ["--workload", ",".join(options.workloads)]
    if options.backends:
        args += ["--backend", ",".join(options.backends)]
    if options.workers is not None:
        args += ["--workers", ",".join(map(str, options.workers))]
    if options.cores is not None:
        args += ["--cores", ",".join(map(str, options.cores))]
    for param in options.params:
        args += ["--param", param]
    if options.tasks is not None:
        args += ["--tasks", str(options.tasks)]
    if options.tasks_per_worker is not None:
        args += ["--tasks-per-worker", str(options.tasks_per_worker)]
    if options.processes is not None:
        args += ["--processes", str(options.processes)]
    if options.point_timeout is not None:
        args += ["--point-timeout", repr(float(options.point_timeout))]
    return args


def matrix_options(options: RunOptions) -> dict[str, Any]:
    """The options that choose the matrix, as JSON data (for the probe and the log)."""
    names = (
        "profile",
        "workloads",
        "backends",
        "workers",
        "cores",
        "params",
        "tasks",
        "tasks_per_worker",
        "processes",
    )
    data = {name: getattr(options, name) for name in (*names, "point_timeout")}
    return {k: list(v) if isinstance(v, tuple | list) else v for k, v in data.items()}


def home_files(machine_dir: Path, tag: str, resume: bool) -> dict[str, bytes]:
    """What a host needs from home to go on as a local run would: machine.json (so a
    change of hardware under one name is noticed), and to resume, the latest result
    file of interpreter ``tag`` with its failures sidecar.  Packed, by name."""
    wanted = [machine_dir / MACHINE_FILE]
    runs = sorted(machine_dir.glob(f"*-{tag}.json")) if resume and tag else []
    if runs:
        wanted += [runs[-1], runs[-1].with_name(runs[-1].stem + FAILURES_SUFFIX)]
    return {p.name: pack(p.read_bytes()) for p in wanted if p.is_file()}


def bring_home(snapshot: Snapshot, machine_dir: Path, written: dict[str, bytes]) -> list[str]:
    """Write the snapshot's files into ``machine_dir`` as a local run writes them
    (atomically), skipping those unchanged since ``written`` (which is updated), and
    remove the failures sidecars the run removed.  Returns the names changed."""
    changed = []
    for name, blob in snapshot.files.items():
        if not _SAFE_NAME.fullmatch(name):
            continue
        data = unpack(blob)
        if written.get(name) == data:
            continue
        atomic_write_text(machine_dir / name, data.decode("utf-8"))
        written[name] = data
        changed.append(name)
    for name in snapshot.removed:
        if _SAFE_NAME.fullmatch(name) and name.endswith(FAILURES_SUFFIX):
            if (machine_dir / name).exists():
                changed.append(name)
            (machine_dir / name).unlink(missing_ok=True)
            written.pop(name, None)
    return changed


def utc(seconds: float | None) -> str | None:
    """Seconds since the epoch as ISO 8601 UTC (None stays None)."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def log_attempt(machine_dir: Path, record: Mapping[str, Any]) -> None:
    """Append one attempt to the machine's fleet log (rewritten atomically)."""
    path = machine_dir / FLEET_LOG
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    atomic_write_text(path, old + json.dumps(dict(record), sort_keys=True) + "\n")


def read_log(machine_dir: Path) -> list[dict[str, Any]]:
    """The machine's attempts, oldest first (unreadable lines are skipped)."""
    path = machine_dir / FLEET_LOG
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def complete_run(machine_dir: Path, tag: str, options: Mapping[str, Any]) -> str | None:
    """The result file's name if the machine's last attempt with interpreter ``tag``
    measured every point of the same matrix and the file is still there (``--resume``
    skips the machine), else None."""
    attempts = [r for r in read_log(machine_dir) if r.get("interpreter") == tag]
    if not attempts:
        return None
    last = attempts[-1]
    run_file = str(last.get("run_file") or "")
    if last.get("status") == DONE and last.get("options") == options and run_file:
        return run_file if (machine_dir / run_file).is_file() else None
    return None


def logged_options(options: FleetOptions) -> dict[str, Any]:
    """What the fleet log records of the options (and ``--resume`` compares)."""
    return {**matrix_options(options.run), "python": options.python}


def task_error(exc: BaseException) -> str:
    """Why a Dask task failed, in one line (naming a missing gilbench as such)."""
    text = f"{type(exc).__name__}: {exc}"
    if "gilbench" in str(exc) and isinstance(exc, ImportError | AttributeError):
        return f"gilbench is not importable by the Dask worker ({text})"
    return text
