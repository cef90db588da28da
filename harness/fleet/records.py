"""What travels between the fleet's driver and its hosts: a job out, snapshots back.

Everything is plain data (str, int, float, bytes and dicts or lists of them), so Dask
moves it with msgpack, and result files travel as zlib-compressed bytes.  This module
imports only the standard library: it is loaded inside Dask workers and by the guard
process that sits beside a measurement, which should cost the measured host nothing.
"""

from __future__ import annotations

import dataclasses
import json
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: A machine's states, in the order a measurement goes through them.
QUEUED, CHECKING, WAITING, MEASURING = "queued", "checking", "waiting", "measuring"
DONE, INCOMPLETE, FAILED, TIMED_OUT, CANCELLED = (
    "done",
    "incomplete",
    "failed",
    "timed out",
    "cancelled",
)
FINISHED = frozenset({DONE, INCOMPLETE, FAILED, TIMED_OUT, CANCELLED})


def pack(data: bytes) -> bytes:
    """Bytes as they travel (pyperf's JSON compresses about tenfold)."""
    return zlib.compress(data, 6)


def unpack(data: bytes) -> bytes:
    """The inverse of :func:`pack`."""
    return zlib.decompress(data)


@dataclass(frozen=True)
class HostJob:
    """One machine's measurement, as the driver sends it to a host."""

    machine: str
    run_args: tuple[str, ...]  # the options of `gilbench run` that choose the matrix
    files: Mapping[str, bytes]  # packed home files to start from (machine.json, resume)
    resume: bool
    timeout: float | None
    python: str | None
    key: str  # the Dask task key, also where its snapshots are published


@dataclass(frozen=True)
class Snapshot:
    """A host's report on one machine: published while measuring, returned at the end."""

    machine: str
    state: str
    hostname: str = ""
    worker: str = ""
    python: str = ""
    started: float = 0.0  # time.time() on the host
    ended: float | None = None
    exit_code: int | None = None
    detail: str = ""  # the run's summary line, or why it failed
    run_file: str = ""  # the result file's name
    files: Mapping[str, bytes] = field(default_factory=dict)  # packed, by name
    removed: Sequence[str] = ()  # files shipped from home that the run deleted

    def to_dict(self) -> dict[str, Any]:
        """Plain data for msgpack."""
        data = dataclasses.asdict(self)
        data["files"], data["removed"] = dict(self.files), list(self.removed)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        """Rebuild a snapshot from plain data (unknown keys are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def replace(self, **changes: Any) -> Snapshot:
        """A copy with ``changes``."""
        return dataclasses.replace(self, **changes)

    def value_runs(self) -> int:
        """Runs with values in the result file so far: what progress counts."""
        blob = self.files.get(self.run_file)
        if not blob:
            return 0
        try:
            suite = json.loads(unpack(blob))
            return sum(
                1 for bench in suite["benchmarks"] for run in bench["runs"] if run.get("values")
            )
        except (ValueError, KeyError, TypeError, zlib.error):
            return 0


@dataclass(frozen=True)
class MachineStatus:
    """One machine of the fleet as the driver last saw it (what the live view shows)."""

    machine: str
    host: str = ""
    worker: str = ""  # the Dask worker's address
    state: str = QUEUED
    interpreter: str = ""
    runs_done: int = 0  # pyperf runs with values in its result file
    runs_total: int = 0  # planned (extra settling rounds come on top)
    runs_before: int = 0  # already in the file when this attempt began (--resume)
    started: float | None = None  # time.monotonic() here, when measuring began
    ended: float | None = None
    detail: str = ""
    run_file: str = ""

    def elapsed(self, now: float | None = None) -> float:
        """Seconds spent measuring so far (or in all, once ended)."""
        if self.started is None:
            return 0.0
        return (self.ended or now or time.monotonic()) - self.started

    def eta(self, now: float | None = None) -> float | None:
        """Seconds left at this attempt's pace (None until a run has come home)."""
        done = self.runs_done - self.runs_before
        left = self.runs_total - self.runs_done
        if self.state != MEASURING or done <= 0 or left < 0:
            return None
        return self.elapsed(now) * left / done


@dataclass(frozen=True)
class FleetOutcome:
    """What a fleet did: one status per machine, where the results are."""

    scheduler: str
    results: Path
    machines: tuple[MachineStatus, ...] = ()
    interrupted: bool = False

    @property
    def measured(self) -> tuple[MachineStatus, ...]:
        """Machines with a result file at home from this fleet (complete or not)."""
        return tuple(m for m in self.machines if m.run_file)

    @property
    def failed(self) -> tuple[MachineStatus, ...]:
        """Machines that did not end ``done``."""
        return tuple(m for m in self.machines if m.state != DONE)

    def summary(self) -> str:
        """``3 machines: 2 done, 1 failed``."""
        counts: dict[str, int] = {}
        for machine in self.machines:
            counts[machine.state] = counts.get(machine.state, 0) + 1
        said = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        return f"{len(self.machines)} machines: {said or 'none'}"
