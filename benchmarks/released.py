"""cpu-released: C code that drops the GIL while it works, and a control that does not.

CPython's hashlib releases the GIL while hashing a buffer of 2048 bytes or more
(``HASHLIB_GIL_MINSIZE``); zlib, bz2 and lzma release it around their C loops.  The
control hashes the same bytes in 1 KiB pieces, below the threshold, so it holds the GIL:
the report shows it beside the others.
"""

from __future__ import annotations

import bz2
import hashlib
import lzma
import random
import zlib
from functools import cache

from gilbench.benchmarks._registry import BATCH_TASKS, workload


@cache
def _buffer(kib: int) -> bytes:
    return random.Random(kib).randbytes(kib * 1024)


@cache
def _compressible(kib: int) -> bytes:
    rng = random.Random(kib)
    words = [rng.randbytes(rng.randint(3, 9)) for _ in range(64)]
    out = bytearray()
    while len(out) < kib * 1024:
        out += rng.choice(words) + b" "
    return bytes(out[: kib * 1024])


@cache
def _sha256_expected(kib: int, total_kib: int) -> str:
    return hashlib.sha256(_buffer(kib) * (total_kib // kib)).hexdigest()


def _sha256_ok(result: str, kib: int, total_kib: int) -> bool:
    return result == _sha256_expected(kib, total_kib)


def _sha256(kib: int, total_kib: int) -> str:
    data = _buffer(kib)
    digest = hashlib.sha256()
    for _ in range(total_kib // kib):
        digest.update(data)
    return digest.hexdigest()


@workload(
    "released.sha256",
    kind="cpu-released",
    params={"kib": [64, 1024], "total_kib": [8192]},
    tasks=BATCH_TASKS,
    check=_sha256_ok,
)
def sha256(kib: int, total_kib: int) -> str:
    """hashlib.sha256 over 64 KiB buffers: the GIL is released while each buffer hashes."""
    return _sha256(kib, total_kib)


@workload(
    "released.sha256_control",
    kind="cpu",
    params={"kib": [1], "total_kib": [8192]},
    tasks=BATCH_TASKS,
    check=_sha256_ok,
)
def sha256_control(kib: int, total_kib: int) -> str:
    """Control: the same sha256 bytes in 1 KiB pieces, below 2048 bytes: holds the GIL."""
    return _sha256(kib, total_kib)


def _round_trip_ok(result: int, kib: int) -> bool:
    return result == kib * 1024


@workload(
    "released.zlib",
    kind="cpu-released",
    params={"kib": [96, 1024]},
    tasks=BATCH_TASKS,
    check=_round_trip_ok,
)
def zlib_round_trip(kib: int) -> int:
    """zlib.compress then zlib.decompress of compressible text: the GIL is released."""
    data = _compressible(kib)
    restored = zlib.decompress(zlib.compress(data, 6))
    return len(restored) if restored == data else -1


@workload(
    "released.bz2",
    kind="cpu-released",
    params={"kib": [64, 512]},
    tasks=BATCH_TASKS,
    check=_round_trip_ok,
)
def bz2_round_trip(kib: int) -> int:
    """bz2.compress then bz2.decompress: slow, GIL-releasing C code."""
    data = _compressible(kib)
    restored = bz2.decompress(bz2.compress(data, 9))
    return len(restored) if restored == data else -1


@workload(
    "released.lzma",
    kind="cpu-released",
    params={"kib": [64, 512]},
    tasks=BATCH_TASKS,
    check=_round_trip_ok,
)
def lzma_round_trip(kib: int) -> int:
    """lzma.compress then lzma.decompress (preset 1): GIL-releasing C code."""
    data = _compressible(kib)
    restored = lzma.decompress(lzma.compress(data, preset=1))
    return len(restored) if restored == data else -1
