"""Shared fixtures: every test must leave no child processes or threads behind."""

from __future__ import annotations

import multiprocessing.forkserver
import multiprocessing.resource_tracker
import signal
import threading
import time
from collections.abc import Iterator

import psutil
import pytest

# A shell starts background jobs with SIGINT ignored (`bash .ci/run &`), and an ignored
# signal stays ignored across exec: the `gilbench run` and `gilbench fleet` processes the
# tests interrupt with SIGINT would then never see it, and those tests would hang until
# their timeouts.  A handled signal is reset to its default in exec'd children, so
# handling it here gives every child the Ctrl-C a user's terminal would.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# multiprocessing keeps one forkserver and one resource tracker per parent process for
# its whole life; they are infrastructure, not leaks, until the session ends.
_MP_SINGLETONS = ("multiprocessing.forkserver", "multiprocessing.resource_tracker")


def _live_children(allow_mp_singletons: bool) -> list[psutil.Process]:
    out = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            cmdline = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if allow_mp_singletons and any(s in cmdline for s in _MP_SINGLETONS):
            continue
        out.append(child)
    return out


# How long children and threads may take to finish exiting: the wait ends as soon as they
# are gone, so this only bounds a real leak, and is long enough for a busy machine.
LEAK_WAIT_S = 30


def _assert_no_leaks(threads_before: set[threading.Thread], allow_mp: bool) -> None:
    deadline = time.monotonic() + LEAK_WAIT_S
    while True:
        children = _live_children(allow_mp)
        extra = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
        if (not children and not extra) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not children, f"child processes left behind: {[c.cmdline() for c in children]}"
    assert not extra, f"threads left behind: {extra}"


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Fail a test that leaves child processes or extra threads running."""
    threads_before = set(threading.enumerate())
    yield
    _assert_no_leaks(threads_before, allow_mp=True)


@pytest.fixture(autouse=True, scope="session")
def no_leaks_at_the_end() -> Iterator[None]:
    """Stop multiprocessing's helpers at the end and check that nothing at all is left."""
    threads_before = set(threading.enumerate())
    yield
    for stop in (
        multiprocessing.forkserver._forkserver._stop,
        multiprocessing.resource_tracker._resource_tracker._stop,
    ):
        stop()
    _assert_no_leaks(threads_before, allow_mp=False)


@pytest.fixture(autouse=True)
def no_leaked_sockets() -> Iterator[None]:
    """Fail a test that leaves TCP sockets open in this process."""
    me = psutil.Process()
    before = {c.laddr for c in me.net_connections(kind="tcp")}
    yield
    after = {c.laddr for c in me.net_connections(kind="tcp")}
    assert after <= before, f"sockets left open: {after - before}"
