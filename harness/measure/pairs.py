"""Time-paired batches (docs/design.md, rule 10): each backend batch gets a serial partner.

A speedup divides a serial time by a backend time.  Measured minutes apart (the serial
point in one pass over the matrix, the backend's point in another), the two see
different machines: on a shared VM the speed drifts by tens of percent.  So inside the
worker that times a throughput point, next to each timed backend batch, the same tasks
run serially in this process (the measuring thread, the same pinned CPUs, the pool warm
and idle) and that time is the batch's partner.

The order, over consecutive batches (values; warmups count too)::

    B0 S0 | B1 (S0) | B2 S2 | B3 (S2) | ...

Every serial batch S sits between two backend batches and is the partner of both: of
the one just before it and of the one just after it.  So each backend batch has a
partner measured back to back with it, the serial side comes after the backend side in
one pair and before it in the next (ABBA: a linear drift of the machine's speed cancels
over the pairs), and a process pays one serial batch per two backend batches, not one
each.  For I/O work, whose serial batch is many times longer than its backend's, that is
the difference between pairs that fit a profile's budget and pairs that do not.  Two
pairs that share a partner are not independent (a disturbed serial batch touches both);
the speedup is their median, which sets such a pair aside like any other outlier.

The partner's results are checked like the backend's, outside the timing.  The partner
times go into run metadata (``paired_serial_s``, one per value, a shared one twice),
where pyperf's tools ignore them and gilbench.analysis.tidy reads them: the backend's
batches stay the benchmark's values.

**A fixed sample, compared as a rate.**  A pool's batch grows with its workers (at
least the profile's tasks per worker each: gilbench.run.matrix.batch_tasks); its serial
partner times a fixed sample of the same tasks (``Point.serial_tasks``), and the time
recorded is the sample's scaled to the batch (sample seconds x batch / sample tasks):
the serial time of the batch at the sample's rate, valid because the tasks are
identical.  So a partner costs the same at 2 workers as at 128.

**On the CPUs the backend used.**  The partner's tasks are split evenly over the CPUs
the backend's workers ran on, this thread moved onto each in turn
(gilbench.measure.backends.serial): all the pinned CPUs, or, with fewer workers than
CPUs, the ones the workers were pinned to one each (gilbench.measure.pinning.
worker_cpus).  A speedup is then the backend's rate over the rate of an average CPU of
that set, whatever CPU this thread happened to be on.  Backends whose work runs in this
thread (asyncio) get their partner where they ran, in this thread, unmoved.

The pinned CPUs' capacity is measured now and then (gilbench.measure.capacity): every
:data:`CAPACITY_EVERY` batches, alternately just before a backend batch and just before
a serial partner, so that the readings describe the moments of both sides alike.  A
reading before a partner sits between that partner and the backend batch before it (a
reading takes about 20 ms, far inside the second a pair must fit in); the partner's pair
with the batch after it stays back to back.  A serial point (no partners) reads it before
its batches the same way, so its CPUs' capacity and speeds are known too.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from gilbench.benchmarks import Workload
from gilbench.measure import capacity, run_facts
from gilbench.measure.backends.serial import SerialBackend
from gilbench.measure.batch import Batch
from gilbench.measure.python_capacity import PythonHelpers
from gilbench.vocabulary import THROUGHPUT_KINDS

#: Capacity is measured before batch 0 and then before every this many batches (warmups
#: count; even, so it falls between pairs): 2 measurements per process of 4 values
#: (quick and default), about 15 ms each.  On a shared machine capacity moves
#: within seconds, so it is measured close to the pairs it qualifies.
CAPACITY_EVERY = 2


def wants_pairs(workload: Workload, backend: str) -> bool:
    """Whether a point's batches get serial partners: a throughput workload (each value is
    a batch) that runs serially too, under a backend other than serial."""
    return backend != "serial" and workload.kind in THROUGHPUT_KINDS and workload.runs_on("serial")


class Pairing:
    """One worker process's pairing state: where the next backend batch's partner comes
    from, and when capacity is due.  ``enabled`` False makes every method a no-op."""

    def __init__(
        self,
        batch: Batch,
        enabled: bool,
        capacity_every: int = CAPACITY_EVERY,
        *,
        sample: int | None = None,
        cpus: Sequence[int] = (),
        capacity_only: bool = False,
        helpers: PythonHelpers | None = None,
    ) -> None:
        if capacity_every < 2 or capacity_every % 2:
            raise ValueError("capacity is measured between pairs: every 2, 4, ... batches")
        self.batch = batch
        #: The partner's tasks: ``sample`` of the batch's (all of them by default).
        self.sample = batch.resized(min(sample, batch.size)) if sample else batch
        self.enabled = enabled
        #: Pairs off but capacity on: a serial point's batches.
        self.capacity_only = capacity_only and not enabled
        self.capacity_every = capacity_every
        #: One sleeping process per pinned CPU: capacity for pure Python, CPU speeds.
        self.helpers = helpers
        self._capacity_due = False  # a reading owed just before the next partner
        self.batches = 0  # backend batches begun in this process, warmups included
        self._serial = SerialBackend(1)
        self._serial.rotate_over(cpus)
        self._shared: float | None = None  # the serial batch just timed, for the next pair

    def before(self) -> float | None:
        """Call before a backend batch: measures capacity if due; returns the partner's
        seconds when the serial batch timed just before is this batch's partner (odd
        batches), else None (its partner comes after it: :meth:`after`)."""
        index = self.batches
        self.batches += 1
        if self.capacity_only and index % self.capacity_every == 0:
            self._read_capacity()
        if not self.enabled:
            return None
        if index == 0:
            self._serial.start(self.sample)  # one task: the serial path's first call, untimed
        if index % 2:
            shared, self._shared = self._shared, None
            return shared
        if index % self.capacity_every == 0:
            # Alternately before this backend batch and before its partner (after()).
            if (index // self.capacity_every) % 2 == 0:
                self._read_capacity()
            else:
                self._capacity_due = True
        return None

    def _read_capacity(self) -> None:
        python = self.helpers.read() if self.helpers else None
        reading = capacity.read(speeds=python is None)
        if python is None:
            run_facts.record_capacity(reading.cores, reading.speed_ratio)
        else:
            run_facts.record_capacity(reading.cores, python.speed_ratio, python.cores)

    def after(self) -> tuple[float, float]:
        """Call after a backend batch whose :meth:`before` returned None: time its
        partner now and keep it for the next batch.  Returns (the partner's seconds
        scaled to the batch, the seconds newly timed): (0, 0) when pairs are off."""
        if not self.enabled:
            return 0.0, 0.0
        if self._capacity_due:
            self._capacity_due = False
            self._read_capacity()
        timed = self.partner()
        self._shared = timed * self.batch.size / self.sample.size
        return self._shared, timed

    def partner(self) -> float:
        """Time the serial sample of the same tasks in this thread (over the CPUs it
        rotates over); check its results (outside the timing) and return its seconds."""
        start = time.perf_counter()
        results = self._serial.run(self.sample)
        elapsed = time.perf_counter() - start
        self.sample.verify(results)
        run_facts.record_task_times(self._serial.take_chunk_times())
        return elapsed
