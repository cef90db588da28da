"""The sides of an interleaved A/B run: ``gilbench run --python A,B``.

Two interpreters (or one free-threaded build with the GIL off and forced on) measured in
one run, alternating point by point and round by round in a random order, so that both
see the same minutes of a drifting machine (randomised multiple interleaved trials).
Each side is measured by its own pyperf workers, started with its interpreter from an
environment that has this gilbench installed, and writes its own result file; what ties
them together (``ab_run``, ``ab_side``, ``ab_partner``) goes into every benchmark's
metadata, and ``gilbench compare`` reads the pair as interleaved (gilbench.analysis.
compare).

A side is named as ``GILBENCH_INTERPRETERS`` names interpreters: a version (``3.14``:
the default build), a version with ``t`` (``3.14t``: the free-threaded build, GIL as
the build sets it), either with ``-gil`` (``3.14t-gil``: PYTHON_GIL=1), a tag
(``cpython3.14t``), or a path to an interpreter.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from gilbench.run.pythons import FoundPython, cache_dir, describe, discover
from gilbench.run.selection import UsageError

#: What a side's interpreter reports about itself, run inside its environment.
_SIDE_PROBE = (
    "import json, os; from gilbench.measure.interpreter import InterpreterInfo; "
    "from gilbench.measure.backends import backend_names, get_backend; "
    "info = InterpreterInfo.current(os.environ.get('PYTHON_GIL') or None); "
    "print(json.dumps({'tag': info.tag, 'version': info.version, "
    "'unavailable': {n: get_backend(n).unavailable_reason() for n in backend_names()}}))"
)


@dataclass(frozen=True)
class Side:
    """One side of an A/B run: the interpreter that measures it and how."""

    label: str  # "A" or "B"
    spec: str  # as the user named it
    python: str  # the interpreter the side's pyperf workers run (in its environment)
    tag: str  # its interpreter tag, as its result file is named
    version: str
    gil_requested: str | None  # PYTHON_GIL for its workers
    unavailable: dict[str, str | None] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """The environment variables the side's workers get beside the usual ones."""
        return {"PYTHON_GIL": self.gil_requested} if self.gil_requested else {}


def split_spec(spec: str) -> tuple[str, str | None]:
    """``3.14t-gil`` -> (``3.14t``, "1"); ``3.14`` -> (``3.14``, None)."""
    if spec.endswith("-gil"):
        return spec.removesuffix("-gil"), "1"
    return spec, None


def _matches(found: FoundPython, wanted: str) -> bool:
    """``3.14`` is the default build of 3.14.x, ``3.14t`` the free-threaded one; a full
    version or a tag match exactly."""
    if wanted in (found.tag, found.executable):
        return True
    free = wanted.endswith("t")
    version = wanted.removesuffix("t")
    same_version = found.version == version or found.version.startswith(version + ".")
    return same_version and found.free_threaded == free


def find_python(spec: str, found: Sequence[FoundPython] | None = None) -> FoundPython:
    """The interpreter ``spec`` (without ``-gil``) names; UsageError listing what there is."""
    if os.sep in spec or Path(spec).is_file():
        given = describe(spec)
        if given is None:
            raise UsageError(f"--python {spec}: not an interpreter that runs")
        return given
    candidates = list(discover() if found is None else found)
    matching = [p for p in candidates if _matches(p, spec)]
    if not matching:
        known = ", ".join(f"{p.version}{'t' if p.free_threaded else ''}" for p in candidates)
        raise UsageError(
            f"--python {spec}: no such interpreter found (found: {known or 'none'}; "
            "build one with `gilbench python build VERSION --both --source TARBALL`)"
        )
    return matching[-1]  # the newest patch release


def gilbench_source() -> str:
    """What ``pip install`` takes to put this gilbench into another environment: the
    folder it was installed from, else this version from the package index."""
    dist = importlib.metadata.distribution("gilbench")
    text = dist.read_text("direct_url.json")
    if text:
        url = json.loads(text).get("url", "")
        if url.startswith("file://"):
            return unquote(urlparse(url).path)
    return f"gilbench=={dist.version}"


def environment(python: FoundPython, log: Path) -> str:
    """The interpreter of an environment of ``python``'s with this gilbench installed
    (made or refreshed under gilbench's cache); this interpreter itself where it is
    the one running.  Raises UsageError when it cannot be made."""
    running = getattr(sys, "_base_executable", sys.executable)
    if os.path.realpath(python.executable) == os.path.realpath(running):
        return sys.executable
    home = cache_dir().parent / "envs" / f"{python.tag}-{python.version}"
    venv_python = home / "bin" / "python"
    steps = []
    if not venv_python.exists():
        steps.append([python.executable, "-m", "venv", str(home)])
    steps.append([str(venv_python), "-m", "pip", "install", "--quiet", gilbench_source()])
    with log.open("a") as out:
        for step in steps:
            done = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, check=False)
            if done.returncode != 0:
                raise UsageError(
                    f"could not prepare {python.tag} ({python.executable}) for measuring: "
                    f"`{' '.join(step)}` failed; see {log}"
                )
    return str(venv_python)


def probe(python: str, gil_requested: str | None) -> dict[str, object]:
    """What a side's interpreter, in its environment, says of itself (tag, version,
    backends it cannot run); UsageError when it cannot."""
    env = {**os.environ, **({"PYTHON_GIL": gil_requested} if gil_requested else {})}
    if not gil_requested:
        env.pop("PYTHON_GIL", None)
    done = subprocess.run([python, "-c", _SIDE_PROBE], capture_output=True, text=True,
                          env=env, timeout=120, check=False)  # fmt: skip
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise UsageError(f"{python}: cannot run gilbench there ({last})")
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


def prepare_sides(specs: Sequence[str], log: Path) -> list[Side]:
    """The two sides named by ``specs``, each with an environment to measure in."""
    if len(specs) != 2:
        raise UsageError(f"--python takes two interpreters, A,B; got {len(specs)}")
    found = discover()
    sides = []
    for label, spec in zip("AB", specs, strict=True):
        name, gil = split_spec(spec)
        python = find_python(name, found)
        if gil and not python.free_threaded:
            raise UsageError(f"--python {spec}: -gil needs a free-threaded build")
        runner = environment(python, log)
        facts = probe(runner, gil)
        unavailable = facts["unavailable"]
        assert isinstance(unavailable, dict)
        sides.append(
            Side(label, spec, runner, str(facts["tag"]), str(facts["version"]), gil, unavailable)
        )
    if sides[0].tag == sides[1].tag and sides[0].version == sides[1].version:
        raise UsageError(f"--python {','.join(specs)}: both sides are {sides[0].tag}")
    return sides
