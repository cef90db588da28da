"""An open-loop schedule for a latency point: requests due at intended times.

A closed loop sends a request when the previous one came back, so a responder that stalls
for 100 ms delays the requests behind it without their latency showing it: one slow
value, not twenty (coordinated omission).  Here every request has a time it is *due*,
drawn in advance from an arrival process; its latency runs from that time to its answer.
If the responder is still busy (or waiting for the GIL, or for a core) when a request is
due, the request starts late and the wait is part of its latency.  The wait until the
next request is due is never counted.

Arrivals are Poisson (exponential gaps) at a rate calibrated per process: a target
utilisation (:data:`TARGET_UTILISATION`) over the mean service time of a few paced
requests, capped at :data:`MAX_RATE`, then re-aimed every :data:`AIM_EVERY` timed requests
at the mean service time of the timed requests so far (:func:`reaimed_rate`).  Poisson,
not a fixed interval, because Poisson arrivals see time averages (PASTA): a request
lands at a random phase of whatever the load does periodically (the GIL's switch
interval, a CPU chunk, a timer tick), so its latency samples the responder's state as it
is over time; a fixed interval could lock onto a period and see the same phase every
time.  Rate, utilisation and every latency
are recorded, so a reader knows the load at which the percentiles were taken.

One responder serves one request at a time: a request due while the previous one runs
queues behind it.  Clocks and sleeps are parameters, so the arithmetic is tested with a
fake clock (tests/test_open_loop.py).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

Clock = Callable[[], float]
Sleep = Callable[[float], None]

#: The share of the time the responder is kept busy: far enough below 1 that a queue
#: drains between bursts (mean queueing at most about half a service time), close enough
#: that a point's requests fit its time budget.
TARGET_UTILISATION = 0.5
#: At most this many requests per second (a mean gap of 2 ms): a fast responder's
#: requests still spread over the load's cycles instead of all falling into one.
MAX_RATE = 500.0
#: Timed requests between two re-aims of a calibrated rate (:func:`reaimed_rate`).  The
#: calibration's few paced requests misjudge the service time of the open-loop requests
#: that follow, most under a GIL convoy, so the rate is aimed again at what the timed
#: requests showed (docs/method.md, "Evidence behind the constants").
AIM_EVERY = 20
#: A re-aim changes the rate by at most this factor either way.
AIM_MAX_STEP = 2.0
#: time.sleep wakes 50-100 µs late (the kernel's timer slack): the last stretch before a
#: request is due is waited for by reading the clock, holding the GIL for at most this long.
SPIN_S = 0.0002
#: asyncio's timers fire up to 1 ms late (epoll waits in whole milliseconds): the loop
#: sleeps until this long before a due time, then turns (asyncio.sleep(0)) until it is due,
#: so CPU chunks inline on the loop still run, and delay the request, as they would.
ASYNC_SPIN_S = 0.0015


def rate_for(
    service_s: float, utilisation: float = TARGET_UTILISATION, max_rate: float = MAX_RATE
) -> float:
    """Requests per second that keep a responder whose requests take ``service_s`` on
    average busy ``utilisation`` of the time, at most ``max_rate``."""
    if not service_s > 0:
        return max_rate
    return min(utilisation / service_s, max_rate)


def reaimed_rate(
    rate: float,
    mean_busy_s: float,
    utilisation: float = TARGET_UTILISATION,
    max_step: float = AIM_MAX_STEP,
    max_rate: float = MAX_RATE,
) -> float:
    """The rate to go on at, once the timed requests served so far took ``mean_busy_s``
    each on average: :func:`rate_for` that, at most ``max_step`` times the current
    ``rate`` either way (one stretch of heavy-tailed service times moves it little)."""
    if not (rate > 0 and mean_busy_s > 0):
        return rate
    aimed = rate_for(mean_busy_s, utilisation, max_rate)
    return min(max(aimed, rate / max_step), rate * max_step)


class Arrivals(Protocol):
    """Gaps between the due times of consecutive requests."""

    @property
    def rate(self) -> float:
        """Mean requests per second."""
        ...

    def gap(self) -> float:
        """Seconds from one request's due time to the next one's."""
        ...


@dataclass
class Poisson:
    """Poisson arrivals: exponential gaps with mean 1 / ``rate``."""

    rate: float
    rng: random.Random = field(default_factory=random.Random)

    def gap(self) -> float:
        return self.rng.expovariate(self.rate)


@dataclass(frozen=True)
class Fixed:
    """A request every ``interval`` seconds."""

    interval: float

    @property
    def rate(self) -> float:
        return 1 / self.interval if self.interval > 0 else math.inf

    def gap(self) -> float:
        return self.interval


@dataclass(frozen=True)
class Timed:
    """One request as the schedule saw it: ``latency`` from due to answer, ``busy`` the
    part the responder spent on it (from when it was both due and free to the answer:
    its service time, including waits for the GIL or a core), and ``gap`` the time until
    the next request was due (the time this request accounts for in the rate)."""

    due: float
    ended: float
    latency: float
    busy: float
    gap: float


def wait_until(due: float, clock: Clock, sleep: Sleep, spin_s: float = SPIN_S) -> None:
    """Return at ``due`` (at once if it has passed): sleep until ``spin_s`` before, then
    read the clock until then."""
    while True:
        left = due - clock()
        if left <= 0:
            return
        if left > spin_s:
            sleep(left - spin_s)


async def wait_until_async(
    due: float, clock: Clock = time.perf_counter, spin_s: float = ASYNC_SPIN_S
) -> None:
    """:func:`wait_until` on a running event loop: other tasks run while it waits."""
    while True:
        left = due - clock()
        if left <= 0:
            return
        await asyncio.sleep(left - spin_s if left > spin_s else 0)


class OpenLoop:
    """The due times of a series of requests, and what each request then cost.

    ``paced`` makes it a closed loop with a pause: the next request is due ``gap`` after
    the previous one ended, so no request ever queues.  Calibration uses it to measure
    the service time a request has when it arrives at an idle responder (after a pause,
    as an open-loop request does: a thread that slept must take the GIL back).
    """

    def __init__(
        self,
        arrivals: Arrivals,
        *,
        paced: bool = False,
        clock: Clock = time.perf_counter,
        sleep: Sleep = time.sleep,
        spin_s: float = SPIN_S,
    ) -> None:
        self.arrivals = arrivals
        self.paced = paced
        self.clock = clock
        self.sleep = sleep
        self.spin_s = spin_s
        self._due: float | None = None
        self._free_at = -math.inf  # when the responder answered its last request

    @property
    def rate(self) -> float:
        """Mean requests per second of the arrivals."""
        return self.arrivals.rate

    def restart(self, at: float | None = None) -> None:
        """Start a fresh stretch of arrivals: the next request is due one gap after ``at``
        (now by default).  Poisson arrivals are memoryless, so a stretch that starts
        anew is the same process (an asyncio load's bursts each start one)."""
        self._due = (self.clock() if at is None else at) + self.arrivals.gap()
        self._free_at = -math.inf

    @property
    def next_due(self) -> float:
        """When the next request is due (the schedule starts now if it has not yet)."""
        if self._due is None:
            self.restart()
        assert self._due is not None
        return self._due

    def wait(self) -> float:
        """Wait, untimed, until the next request is due; return its due time."""
        due = self.next_due
        wait_until(due, self.clock, self.sleep, self.spin_s)
        return due

    def done(self, due: float, ended: float) -> Timed:
        """Account the request due at ``due`` that was answered at ``ended``, and schedule
        the next one."""
        started = max(due, self._free_at)
        self._free_at = ended
        gap = self.arrivals.gap()
        if self.paced:
            self._due = ended + gap
            gap = self._due - due
        else:
            self._due = due + gap
        return Timed(due, ended, ended - due, max(ended - started, 0.0), gap)
