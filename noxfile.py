"""The user's entry points: bench, report, tests, lint.

``nox -s bench`` installs gilbench into a fresh environment, measures the default
profile and writes the HTML report; ``nox -s bench -- --profile quick`` is a first look.
Everything after ``--`` goes to ``gilbench run``.
"""

from __future__ import annotations

import nox

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


@nox.session
def report(session: nox.Session) -> None:
    """Render the HTML report of the whole results folder."""
    session.install(".")
    session.run("gilbench", "report", RESULTS_DIR, *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (unit, property and end-to-end tests)."""
    session.install(".", *nox.project.dependency_groups(PYPROJECT, "test"))
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and types with ruff and mypy."""
    session.install(".", *nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", "benchmarks", "harness", "tests", "noxfile.py")
    session.run("mypy")
