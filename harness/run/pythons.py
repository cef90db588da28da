"""Interpreters to benchmark: found on PATH, in gilbench's cache, or built from source.

``gilbench python build 3.14.7 --both --source Python-3.14.7.tar.xz`` builds a default
and a free-threaded CPython with identical configure flags (only ``--disable-gil``
differs), so comparing them compares the GIL and nothing else.  Builds go to a per-user
cache, never into the project.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# The same for both builds: no PGO/LTO (a distro or uv interpreter built with them is not
# an apples-to-apples partner for a plain local build).
CONFIGURE_FLAGS = ("--with-ensurepip=install",)
MINOR_VERSIONS = range(11, 16)

_PROBE = (
    "import json, platform, sys, sysconfig; print(json.dumps({"
    "'version': platform.python_version(), 'implementation': platform.python_implementation(),"
    "'free_threaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED')),"
    "'executable': sys.executable}))"
)


class PythonBuildError(RuntimeError):
    """A build from source failed; the message says which step and where the log is."""


@dataclass(frozen=True)
class FoundPython:
    """An interpreter gilbench can run."""

    executable: str
    version: str
    implementation: str
    free_threaded: bool
    source: str  # "PATH", "cache" (built by gilbench), "uv" or "given"

    @property
    def tag(self) -> str:
        """``cpython3.14t`` (the interpreter tag with the GIL in its default state)."""
        from gilbench.measure.interpreter import interpreter_tag

        major, minor = (int(p) for p in self.version.split(".")[:2])
        return interpreter_tag(self.implementation, (major, minor), self.free_threaded, None)


def cache_dir() -> Path:
    """Where built interpreters live: $GILBENCH_CACHE, else ~/.cache/gilbench/pythons."""
    root = os.environ.get("GILBENCH_CACHE") or Path.home() / ".cache" / "gilbench"
    return Path(root) / "pythons"


def describe(executable: str, source: str = "given") -> FoundPython | None:
    """Ask ``executable`` what it is; None if it does not run."""
    try:
        out = subprocess.run(
            [executable, "-c", _PROBE], capture_output=True, text=True, timeout=30, check=True
        ).stdout
        data = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return FoundPython(
        executable=str(data["executable"]),
        version=str(data["version"]),
        implementation=str(data["implementation"]),
        free_threaded=bool(data["free_threaded"]),
        source=source,
    )


def _candidates() -> Iterator[tuple[str, str]]:
    for minor in MINOR_VERSIONS:
        for suffix in ("", "t"):
            found = shutil.which(f"python3.{minor}{suffix}")
            if found:
                yield found, "PATH"
    # gilbench's own builds, then interpreters uv installed where downloads work.
    uv_root = Path(os.environ.get("UV_PYTHON_INSTALL_DIR") or
                   Path.home() / ".local" / "share" / "uv" / "python")  # fmt: skip
    for root, source in ((cache_dir(), "cache"), (uv_root, "uv")):
        if root.is_dir():
            for prefix in sorted(root.glob("cpython-*")):
                for binary in sorted((prefix / "bin").glob("python3.*")):
                    if re.fullmatch(r"python3\.\d+t?", binary.name):
                        yield str(binary), source


def discover() -> list[FoundPython]:
    """Every distinct interpreter on PATH (python3.11 .. python3.15[t]) or in the cache."""
    seen: set[tuple[str, str, bool]] = set()
    found = []
    for executable, source in _candidates():
        info = describe(executable, source)
        if info is None:
            continue
        # One interpreter installed under two names (python3.14 and python3.14t) once.
        key = (os.path.dirname(os.path.realpath(executable)), info.version, info.free_threaded)
        if key in seen:
            continue
        seen.add(key)
        found.append(FoundPython(executable, info.version, info.implementation,
                                 info.free_threaded, source))  # fmt: skip
    return sorted(found, key=lambda p: (p.version, p.free_threaded, p.source))


def build_prefix(version: str, free_threaded: bool) -> Path:
    """The install prefix of a build: ``<cache>/cpython-3.14.7t``."""
    return cache_dir() / f"cpython-{version}{'t' if free_threaded else ''}"


def built_python(version: str, free_threaded: bool) -> Path:
    """The executable a build installs."""
    minor = ".".join(version.split(".")[:2])
    return (
        build_prefix(version, free_threaded)
        / "bin"
        / f"python{minor}{'t' if free_threaded else ''}"
    )


def _run_step(command: list[str], cwd: Path, log: Path, step: str) -> None:
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"\n$ {' '.join(command)}\n")
        handle.flush()
        result = subprocess.run(command, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT,
                                check=False)  # fmt: skip
    if result.returncode != 0:
        raise PythonBuildError(f"{step} failed (exit {result.returncode}); see {log}")


def build(
    version: str,
    source: Path,
    free_threaded: bool,
    *,
    jobs: int | None = None,
    force: bool = False,
    echo: bool = True,
) -> Path:
    """Build CPython ``version`` from the ``source`` tarball into the cache; return its python.

    An existing build is reused unless ``force``.  Raises PythonBuildError.
    """
    executable = built_python(version, free_threaded)
    if executable.exists() and not force:
        return executable
    if not source.is_file():
        raise PythonBuildError(f"source tarball {source} does not exist")
    prefix = build_prefix(version, free_threaded)
    work = cache_dir() / "build" / prefix.name
    log = cache_dir() / f"{prefix.name}.log"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log.write_text(f"building {prefix.name} from {source}\n", encoding="utf-8")
    with tarfile.open(source) as archive:
        top = {name.split("/", 1)[0] for name in archive.getnames()}
        expected = f"Python-{version}"
        if top != {expected}:
            raise PythonBuildError(f"{source} holds {sorted(top)}, not {expected}")
        archive.extractall(work, filter="data")
    tree = work / expected
    flags = [f"--prefix={prefix}", *CONFIGURE_FLAGS]
    if free_threaded:
        flags.append("--disable-gil")
    steps = [
        (["./configure", *flags], "configure"),
        (["make", f"-j{jobs or os.cpu_count() or 1}"], "make"),
        (["make", "install"], "make install"),
    ]
    for command, step in steps:
        if echo:
            print(f"[{prefix.name}] {step} ...", file=sys.stderr, flush=True)
        _run_step(command, tree, log, step)
    shutil.rmtree(work, ignore_errors=True)
    info = describe(str(executable), "cache")
    if info is None or info.free_threaded != free_threaded or info.version != version:
        raise PythonBuildError(f"{executable} does not run as expected; see {log}")
    return executable
