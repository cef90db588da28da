"""The guard beside a fleet measurement: the host's one slot, and a stop that always reaches.

``python -m gilbench.fleet.guard --folder DIR -- python -m gilbench run ...`` is
what a fleet task starts on a host (:mod:`gilbench.fleet.host`).  It does three
things the Dask worker cannot:

- **One measurement per host.**  It holds an exclusive lock on a file in the host's
  temporary folder for as long as it lives, and starts ``gilbench run`` only once it
  holds it.  The kernel drops the lock when the guard exits, however it exits, so the
  slot is never left taken; and a measurement still stopping after its worker was killed,
  or one started by another fleet on the same cluster, keeps the next one waiting.
  It writes the times it took and gave up the slot (``slot-started``, ``slot-ended`` in
  DIR): the intervals of two measurements on one host never overlap.
- **A stop that always reaches.**  It reads its standard input, a pipe from the Dask
  task: a line means "stop" (the task was cancelled or ran out of time); the end of the
  input means the worker process died, however it died.  Either way it sends SIGTERM to
  ``gilbench run``, which kills its point's pyperf workers and saves what it has (exit
  130), and after a grace period SIGKILLs whatever is left of the process tree.  An
  orphaned guard also removes DIR: nobody is left to read it.
- **Nothing while it waits.**  Measuring, it blocks in read() and wait(): it costs the
  measured host nothing.

Standard library and psutil only: it sits beside the measurement for its whole length.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

STOP_GRACE_S = 20.0  # from SIGTERM to SIGKILL: gilbench saves and stops its point in this
SLOT_POLL_S = 0.2  # while waiting for the host's slot (never while measuring)
SLOT_FILE = "gilbench-fleet-host.lock"
SLOT_ENV = "GILBENCH_FLEET_SLOT"
STARTED, ENDED = "slot-started", "slot-ended"


def slot_path() -> Path:
    """The file whose lock is the host's one measurement slot: ``$GILBENCH_FLEET_SLOT``
    (for workers that see different temporary folders on one host), else one in the
    temporary folder."""
    return Path(os.environ.get(SLOT_ENV) or Path(tempfile.gettempdir()) / SLOT_FILE)


def _take_slot(stop: threading.Event) -> int | None:
    """Wait for the host's slot (or a stop); return the locked file descriptor."""
    try:
        fd = os.open(slot_path(), os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:  # e.g. another user's lock file: measure, but say so
        print(f"gilbench fleet: no host slot ({exc}); measuring without it", flush=True)
        return None
    while not stop.is_set():
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            stop.wait(SLOT_POLL_S)
    os.close(fd)
    return None


def _stamp(folder: Path, name: str) -> None:
    with contextlib.suppress(OSError):
        (folder / name).write_text(repr(time.time()), encoding="ascii")


def read_stamp(folder: Path, name: str) -> float | None:
    """A time the guard wrote in ``folder`` (None if not yet)."""
    try:
        return float((folder / name).read_text(encoding="ascii"))
    except (OSError, ValueError):
        return None


def stop_tree(child: subprocess.Popen[bytes]) -> None:
    """SIGTERM to ``child`` (``gilbench run`` stops its point and saves), then SIGKILL to
    whatever of its process tree is left after the grace period."""
    tree: list[psutil.Process] = []
    with contextlib.suppress(psutil.Error):
        tree = psutil.Process(child.pid).children(recursive=True)
    with contextlib.suppress(ProcessLookupError):
        child.send_signal(signal.SIGTERM)
    try:
        child.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(psutil.Error):
            tree += psutil.Process(child.pid).children(recursive=True)
    for process in tree:
        with contextlib.suppress(psutil.Error):
            process.kill()
    with contextlib.suppress(ProcessLookupError):
        child.kill()


def guard(command: list[str], folder: Path) -> int:
    """Take the host's slot, run ``command``, stop it when told to on stdin or when
    stdin closes.  Returns its exit status (128 + N for signal N, as a shell would)."""
    stop, orphaned, stopped = threading.Event(), threading.Event(), threading.Event()
    lock = threading.Lock()
    running: list[subprocess.Popen[bytes]] = []

    def watch() -> None:
        # A raw read: a daemon thread in a buffered one would stop the interpreter's exit.
        try:
            line = os.read(sys.stdin.fileno(), 64)
        except OSError:
            line = b""
        if not line:
            orphaned.set()
        with lock:
            stop.set()
        if running:
            stop_tree(running[0])
        stopped.set()

    threading.Thread(target=watch, daemon=True, name="gilbench-guard").start()
    slot = _take_slot(stop)
    code = 128 + signal.SIGTERM
    with lock:
        if not stop.is_set():
            _stamp(folder, STARTED)
            running.append(subprocess.Popen(command, stdin=subprocess.DEVNULL))
    if running:
        code = running[0].wait()
        if stop.is_set():
            stopped.wait()  # the watcher is still clearing the tree
        code = code if code >= 0 else 128 - code
    _stamp(folder, ENDED)  # before the slot is given up, when this process exits
    if orphaned.is_set():
        shutil.rmtree(folder, ignore_errors=True)
    if slot is not None:
        os.close(slot)
    return code


def main(argv: list[str] | None = None) -> int:
    """``python -m gilbench.fleet.guard --folder DIR -- COMMAND ...``."""
    parser = argparse.ArgumentParser(prog="python -m gilbench.fleet.guard")
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    return guard(command, args.folder)


if __name__ == "__main__":
    sys.exit(main())
