"""io: work that waits (sleep, sockets, files, subprocesses) and releases the GIL meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gilbench.benchmarks._echo_server import echo_server
from gilbench.benchmarks._registry import workload


def _slept(result: float, ms: float) -> bool:
    return result == ms


async def _sleep_async(ms: float) -> float:
    await asyncio.sleep(ms / 1000)
    return ms


@workload(
    "io.sleep",
    kind="io",
    params={"ms": [10.0]},
    tasks=32,
    check=_slept,
    async_form=_sleep_async,
)
def sleep(ms: float) -> float:
    """time.sleep(ms): the lesson's five threads that sleep 1 s and end in 1 s, not 5 s."""
    import time

    time.sleep(ms / 1000)
    return ms


_PAYLOAD = b"x" * 512


def _echoed(result: int, trips: int, delay_ms: float) -> bool:
    return result == trips


def _echo_setup(trips: int, delay_ms: float) -> contextlib.AbstractContextManager[dict[str, Any]]:
    return echo_server(delay_ms)


async def _echo_async(trips: int, delay_ms: float, host: str, port: int) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for _ in range(trips):
            writer.write(_PAYLOAD)
            await writer.drain()
            await reader.readexactly(len(_PAYLOAD))
    finally:
        writer.close()
        await writer.wait_closed()
    return trips


@workload(
    "io.echo",
    kind="io",
    params={"trips": [4], "delay_ms": [0.5, 0.0]},
    tasks=32,
    check=_echoed,
    async_form=_echo_async,
    setup=_echo_setup,
)
def echo(trips: int, delay_ms: float, host: str, port: int) -> int:
    """TCP round trips of 512 bytes to an echo server on 127.0.0.1 that answers after delay_ms.

    Blocking sockets for sync backends, asyncio streams for asyncio.  The server runs in
    its own process, started before and stopped after the measurement.
    """
    with socket.create_connection((host, port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(trips):
            sock.sendall(_PAYLOAD)
            received = 0
            while received < len(_PAYLOAD):
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("echo server closed the connection")
                received += len(chunk)
    return trips


@contextlib.contextmanager
def _scratch_folder(kib: int) -> Iterator[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="gilbench-io-") as folder:
        yield {"folder": folder}


def _file_ok(result: int, kib: int) -> bool:
    return result == kib * 1024


@workload(
    "io.file",
    kind="io",
    params={"kib": [256, 1024]},
    # 64: a serial batch of 32 took under 40 ms here, the widest backends' under 20 ms.
    tasks=64,
    check=_file_ok,
    setup=_scratch_folder,
)
def file_write_fsync_read(kib: int, folder: str) -> int:
    """Write kib KiB to a new file, fsync it, read it back, delete it (a temporary folder)."""
    data = os.urandom(kib * 1024)
    fd, name = tempfile.mkstemp(dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        restored = Path(name).read_bytes()
    finally:
        os.unlink(name)
    return len(restored) if restored == data else -1


_TRUE = shutil.which("true")
_COMMAND = [_TRUE] if _TRUE else [sys.executable, "-S", "-c", "pass"]


def _exited_cleanly(result: int) -> bool:
    return result == 0


async def _spawn_async() -> int:
    proc = await asyncio.create_subprocess_exec(*_COMMAND)
    return await proc.wait()


@workload(
    "io.subprocess",
    kind="io",
    # 128: 32 spawns of a tiny program took 17 ms serially, too short a batch to time
    # against a machine whose scheduler moves things by milliseconds.
    tasks=128,
    check=_exited_cleanly,
    async_form=_spawn_async,
)
def spawn() -> int:
    """Start a short subprocess (``true``) and wait for it: fork/exec and a blocking wait."""
    return subprocess.run(_COMMAND, check=False).returncode
