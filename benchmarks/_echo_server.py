"""A TCP echo server for the io.echo workload, run as its own process.

``python -m benchmarks._echo_server DELAY_MS`` listens on 127.0.0.1 (never another
address) on a free port, prints the port on one line, and echoes every message after
DELAY_MS milliseconds, the latency of a service one network hop away.  It stops when its
standard input closes, so it never outlives the process that started it.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

HOST = "127.0.0.1"


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    try:
        while data := await reader.read(65536):
            if delay:
                await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def _serve(delay_ms: float) -> None:
    delay = delay_ms / 1000
    server = await asyncio.start_server(lambda r, w: _echo(r, w, delay), HOST, 0, backlog=512)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    loop = asyncio.get_running_loop()
    # Stop when the parent closes our stdin (or dies).
    await loop.run_in_executor(None, sys.stdin.buffer.read)
    server.close()
    await server.wait_closed()


@contextlib.contextmanager
def echo_server(delay_ms: float) -> Iterator[dict[str, Any]]:
    """Start the server process; yield its port and pid; stop it and wait for it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gilbench.benchmarks._echo_server", str(delay_ms)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.strip().isdigit():
            raise RuntimeError(f"echo server did not start (printed {line!r})")
        yield {"host": HOST, "port": int(line), "helper_pids": (proc.pid,)}
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


if __name__ == "__main__":
    asyncio.run(_serve(float(sys.argv[1]) if len(sys.argv) > 1 else 0.0))
