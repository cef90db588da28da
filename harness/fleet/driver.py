"""``gilbench fleet`` without the terminal: the same matrix on every host of a Dask cluster.

Dask is the engine: its scheduler places the tasks, its connections carry the bytes, its
cancellation stops them; gilbench adds no transport, scheduler or retries of its own.

- **One measurement per host.**  The driver groups the cluster's workers by host (the
  address the scheduler sees them at) and keeps at most one measuring task in flight per
  host, pinned to one worker (``workers=[address]``, ``allow_other_workers=False``), so
  two workers on one host (or two Dask jobs landing on one node) never measure at the
  same time, and nothing else of ours runs on a host while it measures.  The task runs
  ``gilbench run`` in a guarded subprocess (:mod:`gilbench.fleet.host`).
- **Results come home** as bytes: published in the scheduler after every point, and as
  the task's value at the end; they are written into ``results/<machine>/`` as soon as
  they arrive (:mod:`gilbench.fleet.home`), so a host that dies later loses nothing
  it measured, and ``--resume`` ships that partial file back to measure only the rest.
- **A fleet degrades, never loses.**  A host that cannot run gilbench, crashes, loses
  its worker or runs out of time is reported with its reason while the others go on.
- **Ctrl-C** cancels every task; each host's guard stops its measurement and the final
  bytes still come home (see :func:`run_fleet`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from distributed import Client, Future

from gilbench import __version__
from gilbench.fleet.guard import STOP_GRACE_S
from gilbench.fleet.home import (
    FleetOptions,
    bring_home,
    complete_run,
    home_files,
    log_attempt,
    logged_options,
    matrix_options,
    run_arguments,
    task_error,
    utc,
)
from gilbench.fleet.host import measure_task, probe_task
from gilbench.fleet.records import (
    CANCELLED,
    CHECKING,
    DONE,
    FAILED,
    FINISHED,
    MEASURING,
    TIMED_OUT,
    WAITING,
    FleetOutcome,
    HostJob,
    MachineStatus,
    Snapshot,
    unpack,
)
from gilbench.measure.machine import sanitize_machine_name
from gilbench.run.selection import UsageError

__all__ = ["FleetOptions", "FleetOutcome", "MachineStatus", "run_fleet"]

POLL_S = 0.5
WORKERS_WAIT_S = 600.0  # for the workers to join (batch jobs may queue for minutes)
PROBE_WAIT_S = 300.0  # a probe imports gilbench and plans: seconds, unless the worker is busy
CANCEL_WAIT_S = STOP_GRACE_S + 30.0  # for the hosts to stop and send their last bytes
LATE_S = 120.0  # past --timeout, a host that has not answered is given up


def run_fleet(
    cluster: Any,
    options: FleetOptions,
    on_change: Callable[[Sequence[MachineStatus]], None] = lambda machines: None,
) -> FleetOutcome:
    """Measure ``options``' matrix on every host of ``cluster`` and bring it home.

    ``cluster`` is a ``distributed.Client``, a scheduler address (``tcp://host:8786``)
    or a cluster object (``SSHCluster``, a ``dask-jobqueue`` cluster, ``LocalCluster``,
    ...); a client made here is closed here.  ``on_change`` gets every machine's status
    whenever one changes.  On KeyboardInterrupt every task is cancelled, the hosts stop
    their measurements, what they saved comes home, and the outcome says
    ``interrupted``.
    """
    options.check()
    if isinstance(cluster, Client):
        return _Fleet(cluster, options, on_change).run()
    with Client(cluster, timeout="30s") as client:
        return _Fleet(client, options, on_change).run()


def _workers(client: Client) -> dict[str, dict[str, Any]]:
    """The cluster's workers: address -> the scheduler's facts (name, host, ...)."""
    try:
        info = client.scheduler_info(n_workers=-1)
    except TypeError:  # distributed before 2025: every worker, always
        info = client.scheduler_info()
    return dict(info.get("workers", {}))


class _Fleet:
    """One fleet run: its client, options, and every machine's state and files."""

    def __init__(
        self,
        client: Client,
        options: FleetOptions,
        on_change: Callable[[Sequence[MachineStatus]], None],
    ) -> None:
        self.client = client
        self.options = options
        self.on_change = on_change
        self.token = uuid.uuid4().hex[:8]
        self.scheduler = str(client.scheduler.address if client.scheduler else "")
        self.status: dict[str, MachineStatus] = {}
        self.host_of: dict[str, str] = {}  # machine -> host key (what serialises it)
        self.pin: dict[str, str] = {}  # machine -> its worker's name, or its host
        self.queues: dict[str, list[str]] = {}  # host key -> machines waiting for it
        self.running: dict[str, tuple[Future[dict[str, Any]], HostJob]] = {}
        self.written: dict[str, dict[str, bytes]] = {}
        self.snapshots: dict[str, Snapshot] = {}
        self.counted: set[str] = set()  # machines whose runs before this attempt are known
        self.submitted: dict[str, float] = {}

    def update(self, machine: str, **changes: Any) -> None:
        old = self.status.get(machine, MachineStatus(machine))
        self.status[machine] = dataclasses.replace(old, **changes)
        self.on_change(list(self.status.values()))

    def run(self) -> FleetOutcome:
        interrupted = False
        try:
            self._probe(self._wait_for_workers())
            self._measure()
        except KeyboardInterrupt:
            interrupted = True
            self._cancel()
        return FleetOutcome(
            self.scheduler, self.options.results, tuple(self.status.values()), interrupted
        )

    def _wait_for_workers(self) -> dict[str, dict[str, Any]]:
        wanted = self.options.wait_for
        if len(_workers(self.client)) < wanted:
            try:
                self.client.wait_for_workers(wanted, timeout=WORKERS_WAIT_S)
            except TimeoutError:
                raise UsageError(
                    f"the cluster at {self.scheduler} has {len(_workers(self.client))} of "
                    f"{wanted} workers after {WORKERS_WAIT_S:g} s"
                ) from None
        return _workers(self.client)

    def _probe(self, workers: dict[str, dict[str, Any]]) -> None:
        """Ask each host (each worker, for ``--machine-from worker``) what it would
        measure; fail those that cannot; queue the rest by host."""
        by_worker = self.options.machine_from == "worker"
        chosen: dict[str, tuple[str, dict[str, Any]]] = {}  # worker or host -> one worker
        for address, info in sorted(workers.items()):
            chosen.setdefault(address if by_worker else str(info.get("host")), (address, info))
        matrix = matrix_options(self.options.run)
        probes = {}
        for address, _ in chosen.values():
            probes[address] = self.client.submit(
                probe_task,
                self.options.machine_from,
                matrix,
                self.options.python,
                key=f"gilbench-probe-{self.token}-{address}",
                workers=[address],
                allow_other_workers=False,
                pure=False,
            )
        for address, info in chosen.values():
            self.update(
                _label(info, by_worker), host=str(info.get("host")), worker=address, state=CHECKING
            )
        try:
            answers = self._answers(probes)
        finally:
            self.client.cancel(list(probes.values()))
        self.status.clear()
        for address, info in chosen.values():
            self._accept(address, info, answers[address], by_worker)

    def _answers(self, probes: dict[str, Future[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
        """Each probe's answer, or why there is none (its worker left, or no time)."""
        answers: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + PROBE_WAIT_S
        while len(answers) < len(probes):
            time.sleep(POLL_S / 5)
            alive = set(_workers(self.client))
            for address, future in probes.items():
                if address in answers:
                    continue
                if future.done():
                    try:
                        answers[address] = future.result()
                    except Exception as exc:  # the task could not run there
                        answers[address] = {"error": task_error(exc)}
                elif address not in alive:
                    answers[address] = {"error": f"worker lost: {address} left the cluster"}
                elif time.monotonic() > deadline:
                    answers[address] = {"error": f"no answer in {PROBE_WAIT_S:g} s: is the "
                                        "worker busy with other tasks?"}  # fmt: skip
        return answers

    def _accept(
        self, address: str, info: dict[str, Any], answer: dict[str, Any], by_worker: bool
    ) -> None:
        host = str(answer.get("hostname") or info.get("host"))
        name = str(answer.get("machine") or _label(info, by_worker))
        if "error" not in answer and name in self.status:
            answer = {
                "error": f"machine name {name!r} is taken by host "
                f"{self.status[name].host}; use --machine-from worker"
            }
        if "error" not in answer and answer.get("gilbench") != __version__:
            answer = {
                "error": f"gilbench {answer.get('gilbench')} on the host, "
                f"{__version__} here: install the same version"
            }
        if "error" in answer:
            name = f"{name}@{address}" if name in self.status else name
            self.update(name, host=host, worker=address, state=FAILED, detail=answer["error"])
            return
        tag = str(answer["interpreter"])
        done = None
        if self.options.run.resume:
            done = complete_run(self.options.results / name, tag, logged_options(self.options))
        said = f"{answer['points']} points on {answer['cpus']} CPUs, {tag}"
        self.update(
            name, host=host, worker=address, interpreter=tag, runs_total=answer["runs"], detail=said
        )
        if done:
            self.update(name, state=DONE, run_file=done, detail="complete before (--resume)")
            return
        self.pin[name] = str(info.get("name") if by_worker else info.get("host"))
        self.host_of[name] = str(info.get("host"))
        self.queues.setdefault(self.host_of[name], []).append(name)
        self.queues[self.host_of[name]].sort()

    def _measure(self) -> None:
        """Run the queues, one machine per host at a time, until every machine ended."""
        while self.running or any(self.queues.values()):
            busy = {self.host_of[m] for m in self.running}
            for host, queue in self.queues.items():
                if queue and host not in busy:
                    self._start(queue.pop(0))
            time.sleep(POLL_S)
            try:
                alive = set(_workers(self.client))
            except OSError as exc:  # the scheduler is gone: its workers stop on their own
                self._abandon(f"lost the scheduler {self.scheduler}: {exc}")
                return
            for machine in list(self.running):
                self._check(machine, alive)

    def _abandon(self, reason: str) -> None:
        """End every machine not ended, with ``reason`` (nothing more will come home)."""
        for machine in [m for q in self.queues.values() for m in q]:
            self.update(machine, state=FAILED, detail=f"not started: {reason}")
        self.queues.clear()
        for machine in list(self.running):
            self._end(machine, FAILED, f"{reason}; what it saved is home")

    def _worker_for(self, machine: str) -> str | None:
        """The machine's worker now: the one probed, or (if it was restarted or left) a
        worker of the same name, or for a host, any worker on it."""
        workers = _workers(self.client)
        if self.status[machine].worker in workers:
            return self.status[machine].worker
        by_worker = self.options.machine_from == "worker"
        for address, info in sorted(workers.items()):
            if str(info.get("name") if by_worker else info.get("host")) == self.pin[machine]:
                return address
        return None

    def _start(self, machine: str) -> None:
        address = self._worker_for(machine)
        if address is None:
            self.update(machine, state=FAILED, detail="its worker left before its turn")
            return
        self.update(machine, worker=address)
        status = self.status[machine]
        tag, resume = status.interpreter, self.options.run.resume
        job = HostJob(
            machine=machine,
            run_args=tuple(run_arguments(self.options.run)),
            files=home_files(self.options.results / machine, tag, resume),
            resume=resume,
            timeout=self.options.timeout,
            python=self.options.python,
            key=f"gilbench-measure-{self.token}-{machine}",
        )
        future = self.client.submit(
            measure_task,
            job,
            key=job.key,
            workers=[status.worker],
            allow_other_workers=False,
            pure=False,
        )
        self.running[machine] = (future, job)
        self.submitted[machine] = time.monotonic()
        self.written[machine] = {name: unpack(blob) for name, blob in job.files.items()}
        self.update(machine, state=WAITING, detail="starting")

    def _check(self, machine: str, alive: set[str]) -> None:
        """Take in what the machine's task sent; end it if it finished or was lost."""
        future, job = self.running[machine]
        status = self.status[machine]
        if future.done():
            try:
                final = Snapshot.from_dict(future.result())
            except Exception as exc:
                self._end(machine, FAILED, f"the task failed: {task_error(exc)}")
                return
            self._take(machine, final)
            self._end(machine, final.state, final.detail, final)
        elif status.worker not in alive:
            self._take(machine, self._published(job))
            self._end(
                machine,
                FAILED,
                f"worker lost: {status.worker} left the cluster "
                "(killed or crashed) while measuring; what it saved is home",
            )
        else:
            self._take(machine, self._published(job))
            limit = self.options.timeout
            if limit is not None and status.elapsed() > limit + STOP_GRACE_S + LATE_S:
                self._end(
                    machine,
                    TIMED_OUT,
                    f"no answer {limit:g} s + {LATE_S:g} s after its start; what it saved is home",
                )

    def _published(self, job: HostJob) -> Snapshot | None:
        try:
            data = self.client.get_metadata([job.key], None)
        except Exception:  # progress is best effort
            return None
        return Snapshot.from_dict(data) if isinstance(data, dict) else None

    def _take(self, machine: str, snapshot: Snapshot | None) -> None:
        """Write a snapshot's new bytes home and update the machine's state and progress."""
        if snapshot is None:
            return
        self.snapshots[machine] = snapshot
        bring_home(snapshot, self.options.results / machine, self.written[machine])
        status = self.status[machine]
        changes: dict[str, Any] = {}
        if snapshot.state == WAITING and time.monotonic() > self.submitted[machine] + 2:
            changes.update(state=WAITING, detail="for the host's measurement slot")
        elif snapshot.state == MEASURING and status.state != MEASURING:
            changes.update(state=MEASURING, detail="", started=time.monotonic())
        if snapshot.run_file:
            changes.update(run_file=snapshot.run_file, runs_done=snapshot.value_runs())
        if machine not in self.counted:  # the first snapshot holds what was shipped
            self.counted.add(machine)
            changes["runs_before"] = changes.get("runs_done", 0)
        if status != dataclasses.replace(status, **changes):
            self.update(machine, **changes)

    def _end(self, machine: str, state: str, detail: str, final: Snapshot | None = None) -> None:
        future, job = self.running.pop(machine)
        if state not in FINISHED:
            state, detail = FAILED, f"ended as {state!r}: {detail}"
        if not future.done():
            with contextlib.suppress(Exception):  # the scheduler may be gone
                future.cancel()
        last = final or self.snapshots.get(machine) or Snapshot(machine, state)
        self.update(machine, state=state, detail=detail, ended=time.monotonic())
        status = self.status[machine]
        log_attempt(
            self.options.results / machine,
            {
                "machine": machine,
                "status": state,
                "reason": detail,
                "scheduler": self.scheduler,
                "worker": status.worker,
                "host": last.hostname or status.host,
                "python": last.python,
                "interpreter": status.interpreter,
                "run_file": status.run_file,
                "started": utc(last.started or None),
                "ended": utc(last.ended),
                "started_s": last.started or None,
                "ended_s": last.ended,
                "exit_code": last.exit_code,
                "resumed": job.resume,
                "options": logged_options(self.options),
                "gilbench": __version__,
            },
        )

    def _cancel(self) -> None:
        """Cancel everything; wait for the hosts to stop and send what they saved."""
        for machine in [m for q in self.queues.values() for m in q]:
            self.update(machine, state=CANCELLED, detail="not started: the fleet was cancelled")
        self.queues.clear()
        if not self.running:
            return
        self.client.cancel([future for future, _ in self.running.values()])
        cancelled = time.monotonic()
        try:
            while self.running and time.monotonic() < cancelled + CANCEL_WAIT_S:
                time.sleep(POLL_S)
                for machine, (_, job) in list(self.running.items()):
                    last = self._published(job)
                    self._take(machine, last)
                    if last is not None and last.state in FINISHED:
                        with contextlib.suppress(Exception):  # it came after the cancel
                            self.client.set_metadata([job.key], None)
                        self._end(machine, CANCELLED, last.detail, last)
                    elif machine not in self.snapshots and time.monotonic() > cancelled + 2:
                        self._end(machine, CANCELLED, "cancelled before it started")
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting (the hosts still stop)
            pass
        for machine in list(self.running):
            self._end(machine, CANCELLED, "cancelled: the host did not confirm it stopped")


def _label(info: dict[str, Any], by_worker: bool) -> str:
    """A machine's name before its host has answered: the worker's name, or its host."""
    raw = str(info.get("name") if by_worker else info.get("host"))
    try:
        return sanitize_machine_name(raw)
    except ValueError:
        return raw
