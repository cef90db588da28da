"""The user's entry points: bench, report, fleet, tests, lint.

``nox -s bench`` installs gilbench into a fresh environment, measures the default
profile and writes the HTML report; ``nox -s bench -- --profile quick`` is a first look.
Everything after ``--`` goes to ``gilbench run``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent


def _gilbench_from_source() -> None:
    """Make ``import gilbench`` find harness/ in this checkout (it installs under that
    name), so that interpreter discovery, which is stdlib-only, works before installing."""
    if "gilbench" in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(
        "gilbench", ROOT / "harness" / "__init__.py", submodule_search_locations=[]
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    module.__path__ = [str(ROOT / "harness")]
    sys.modules["gilbench"] = module
    spec.loader.exec_module(module)


_gilbench_from_source()
from gilbench.run.pythons import FoundPython, cache_dir, describe, discover  # noqa: E402

# Interpreters built by `gilbench python build` join PATH, so that
# `nox -s bench --force-python 3.14t` finds them like any other.
if cache_dir().is_dir():
    BUILT = [str(p / "bin") for p in sorted(cache_dir().glob("cpython-*")) if (p / "bin").is_dir()]
    os.environ["PATH"] = os.pathsep.join([*BUILT, os.environ.get("PATH", "")])

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint"]  # `nox` alone never starts a long benchmark
nox.options.reuse_venv = "yes"

PYPROJECT = nox.project.load_toml("pyproject.toml")
RESULTS_DIR = "results"
REPORTS_DIR = "reports"


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmark suite (default profile) and write results and the HTML report."""
    session.install(".")
    session.run(
        "gilbench", "run", "--results", RESULTS_DIR, "--reports", REPORTS_DIR, *session.posargs
    )


def _matches(python: FoundPython, wanted: str) -> bool:
    """``3.14`` matches 3.14.x (both builds); ``3.14.7`` and ``cpython3.14t`` match exactly."""
    return wanted in (python.version, python.tag) or python.version.startswith(wanted + ".")


def _gil_variants(python: FoundPython) -> list[dict[str, str]]:
    """The GIL states to measure: a free-threaded build runs with the GIL off and forced on."""
    if python.free_threaded:
        return [{"PYTHON_GIL": "0"}, {"PYTHON_GIL": "1"}]
    return [{}]


@nox.session(python=False)
def bench_all(session: nox.Session) -> None:
    """Run the suite under every interpreter found (free-threaded ones with the GIL off and on)."""
    pythons = discover()
    wanted = os.environ.get("GILBENCH_INTERPRETERS", "").split(",")
    wanted = [w.strip() for w in wanted if w.strip()]
    if wanted:  # e.g. GILBENCH_INTERPRETERS=3.14 keeps 3.14.x builds, default and free-threaded
        given = [describe(w, "given") for w in wanted if Path(w).is_file()]  # paths as given
        pythons = [p for p in pythons if any(_matches(p, w) for w in wanted)]
        known = {os.path.realpath(p.executable) for p in pythons}
        pythons += [p for p in given if p and os.path.realpath(p.executable) not in known]
    if not pythons:
        session.error("no interpreter found; see `gilbench python build --help`")
    session.log("interpreters: " + ", ".join(f"{p.tag} ({p.executable})" for p in pythons))
    envs = ROOT / ".nox" / "bench_all-envs"
    gilbench = None
    for python in pythons:
        env = envs / f"{python.tag}-{python.version}"
        if not (env / "bin" / "python").exists():
            session.run(python.executable, "-m", "venv", str(env), external=True)
        session.run(str(env / "bin" / "python"), "-m", "pip", "install", "--quiet", ".",
                    external=True)  # fmt: skip
        gilbench = str(env / "bin" / "gilbench")
        for variant in _gil_variants(python):
            # Exit status 1 means some points failed: the rest is saved and reported.
            session.run(
                gilbench, "run", "--results", RESULTS_DIR, "--reports", REPORTS_DIR,
                "--no-report", *session.posargs,
                env=variant, external=True, success_codes=[0, 1],
            )  # fmt: skip
    assert gilbench is not None
    session.run(gilbench, "report", RESULTS_DIR, "--reports", REPORTS_DIR, external=True)


@nox.session
def report(session: nox.Session) -> None:
    """Render the HTML report of the whole results folder."""
    session.install(".")
    session.run("gilbench", "report", RESULTS_DIR, *session.posargs)


@nox.session
def compare(session: nox.Session) -> None:
    """Compare two result files, machine folders or interpreter tags: nox -s compare -- A B."""
    session.install(".")
    session.run("gilbench", "compare", *session.posargs)


@nox.session
def perf(session: nox.Session) -> None:
    """gilbench's self-benchmark: overhead, dispatch floor, suite time, stability, report
    time (about 40 minutes; -- --no-default skips timing the default profile)."""
    session.install(".")
    session.run("python", "-m", "gilbench.selfcheck.selfbench", *session.posargs)


@nox.session
def chaos(session: nox.Session) -> None:
    """A quick run that loses a worker and is interrupted, then resumed: nothing is lost."""
    session.install(".")
    session.run("python", "-m", "gilbench.selfcheck.chaos", *session.posargs)


@nox.session
def fleet(session: nox.Session) -> None:
    """Run the suite on every host of a Dask cluster: nox -s fleet -- --scheduler tcp://HOST:8786."""
    session.install(".[fleet]")
    session.run(
        "gilbench", "fleet", "--results", RESULTS_DIR, "--reports", REPORTS_DIR, *session.posargs
    )


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (unit, property and end-to-end tests)."""
    # The fleet extra: tests/test_fleet.py runs a Dask cluster on 127.0.0.1.
    session.install(".[fleet]", *nox.project.dependency_groups(PYPROJECT, "test"))
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style, types and the import contracts (ruff, mypy, import-linter)."""
    session.install(".", *nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", "benchmarks", "harness", "tests", "noxfile.py")
    # Both read the installed package: harness/ and benchmarks/ install as `gilbench`.
    session.run("mypy")
    session.run("lint-imports")
