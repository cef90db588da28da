"""mixed: a responder's latency while CPU-bound workers run beside it (the convoy effect).

Each timed value is one request: an echo round trip over loopback, or a wake-up handed
over by an ``Event``.  Requests arrive open loop, at scheduled times (the harness's
gilbench.measure.open_loop), and a request's latency runs from the time it was due: a
responder that sleeps between requests must win the GIL back to answer, and a stall
delays every request due during it.  Beside it run K workers that repeat ``spin`` (pure
Python, holding the GIL): as threads, as processes, or for asyncio inline on the loop or
in an executor (the backend of the point).  A thread that blocks on I/O gives the GIL up
and must win it back after every wake-up; with CPU threads holding it, each wake-up can
wait a whole switch interval (``sys.setswitchinterval``, 5 ms by default): CPython
bpo-7946.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import threading
from collections.abc import Iterator
from typing import Any

from gilbench.benchmarks._echo_server import echo_server
from gilbench.benchmarks._registry import HELPER_PIDS, workload

MIXED_BACKENDS = ("threads", "processes", "asyncio")
# How long a responder waits for an answer before the request counts as lost.
ANSWER_TIMEOUT_S = 30.0


def spin(chunk: int, **_: Any) -> int:
    """The CPU load's unit of work: ``chunk`` additions in pure Python (a few hundred µs)."""
    total = 0
    for i in range(chunk):
        total += i
    return total


# --- echo: a round trip over loopback ------------------------------------------------


@contextlib.contextmanager
def _connected(**_: Any) -> Iterator[dict[str, Any]]:
    """An echo server process that answers at once, and one connected client socket."""
    with (
        echo_server(0.0) as server,
        socket.create_connection(
            (server["host"], server["port"]), timeout=ANSWER_TIMEOUT_S
        ) as sock,
    ):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        yield {"sock": sock, HELPER_PIDS: server[HELPER_PIDS]}


def _round_trip(sock: socket.socket, size: int) -> int:
    sock.sendall(b"x" * size)
    received = 0
    while received < size:
        data = sock.recv(size - received)
        if not data:
            raise ConnectionError("the echo server closed the connection")
        received += len(data)
    return received


async def _round_trip_async(sock: socket.socket, size: int) -> int:
    if sock.gettimeout() != 0:
        sock.setblocking(False)  # the loop's sock_* calls need a non-blocking socket
    loop = asyncio.get_running_loop()
    await loop.sock_sendall(sock, b"x" * size)
    received = 0
    while received < size:
        data = await loop.sock_recv(sock, size - received)
        if not data:
            raise ConnectionError("the echo server closed the connection")
        received += len(data)
    return received


def _echoed(result: int, size: int, **_: Any) -> bool:
    return result == size


async def _echo_async(size: int, chunk: int, sock: socket.socket) -> int:
    return await _round_trip_async(sock, size)


@workload(
    "mixed.echo",
    kind="mixed",
    params={"size": [64], "chunk": [20_000]},
    tasks=1,
    check=_echoed,
    async_form=_echo_async,
    setup=_connected,
    backends=MIXED_BACKENDS,
    load=spin,
)
def echo(size: int, chunk: int, sock: socket.socket) -> int:
    """An echo round trip over loopback (a request a web handler answers) beside K CPU workers."""
    return _round_trip(sock, size)


# --- event: a wake-up handed to another thread ---------------------------------------


@contextlib.contextmanager
def _responder_thread(**_: Any) -> Iterator[dict[str, Any]]:
    """A thread that answers every ``request`` Event by setting ``reply``."""
    request, reply, stop = threading.Event(), threading.Event(), threading.Event()

    def respond() -> None:
        while request.wait() and not stop.is_set():
            request.clear()
            reply.set()

    thread = threading.Thread(target=respond, name="gilbench-responder", daemon=True)
    thread.start()
    try:
        yield {"request": request, "reply": reply}
    finally:
        stop.set()
        request.set()
        thread.join(timeout=ANSWER_TIMEOUT_S)


def _answered(result: bool, **_: Any) -> bool:
    return result is True


async def _wake_async(chunk: int, **_: Any) -> bool:
    # The asyncio counterpart: wake a coroutine waiting on an asyncio.Event, through
    # the loop's ready queue, where inline CPU chunks are queued too.
    woken = asyncio.Event()
    asyncio.get_running_loop().call_soon(woken.set)
    await asyncio.wait_for(woken.wait(), ANSWER_TIMEOUT_S)
    return True


@workload(
    "mixed.event",
    kind="mixed",
    params={"chunk": [20_000]},
    tasks=1,
    check=_answered,
    async_form=_wake_async,
    setup=_responder_thread,
    backends=MIXED_BACKENDS,
    load=spin,
)
def event(chunk: int, request: threading.Event, reply: threading.Event) -> bool:
    """Set an Event another thread waits on and wait for its reply (a heartbeat's wake-up)."""
    reply.clear()
    request.set()
    return reply.wait(ANSWER_TIMEOUT_S)


# --- the switch interval: latency against the CPU threads' throughput ----------------


@contextlib.contextmanager
def _switch_interval(interval_ms: float, **params: Any) -> Iterator[dict[str, Any]]:
    """Set ``sys.setswitchinterval`` for the whole measurement, then connect."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(interval_ms / 1000)
    try:
        with _connected(**params) as extras:
            yield extras
    finally:
        sys.setswitchinterval(before)


@workload(
    "mixed.switch_interval",
    kind="mixed",
    # In the order a narrow profile keeps them (its swept_values): every request waits a
    # few switch intervals, so 1,000 requests at 50 ms take minutes.  The interpreter's
    # default, 5 ms, comes after the short ones: beside cores CPU threads it is the same
    # measurement as mixed.echo's threads load at K = cores (same responder, same load),
    # which every profile measures; quick and default would pay minutes to repeat it.
    params={"interval_ms": [0.1, 1.0, 5.0, 20.0, 0.5, 50.0], "size": [64], "chunk": [20_000]},
    tasks=1,
    check=_echoed,
    setup=_switch_interval,
    backends=("threads",),
    load=spin,
    load_workers="cores",
    sweep_params=True,
)
def switch_interval(interval_ms: float, size: int, chunk: int, sock: socket.socket) -> int:
    """Echo round trips beside a CPU thread per core, per switch interval: latency vs throughput."""
    return _round_trip(sock, size)
