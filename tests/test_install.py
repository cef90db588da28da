"""gilbench as a user installs it: one import name, ``gilbench``, beside a project's own
``benchmarks`` and ``harness`` packages.

The repository's folders keep their names (harness/, benchmarks/) but install as
``gilbench`` and ``gilbench.benchmarks`` (pyproject.toml's package-dir), so gilbench never
imports, and never shadows, a project's packages of those names.  The end-to-end test
builds a wheel from this checkout, installs it (not editable) into a fresh virtual
environment and measures a workload of a scratch project from that project's root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from importlib import metadata
from pathlib import Path

import pyperf
import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
#: Import name -> folder in the repository, e.g. {"gilbench": "harness", ...}.
PACKAGE_DIRS: dict[str, str] = SETUPTOOLS["package-dir"]
#: What an install leaves out of a package folder: notes for maintainers and caches.
#: Everything else (code, templates, the type marker) must be installed.
NOT_INSTALLED_SUFFIXES = (".md", ".pyc")
TIMEOUT_S = 300


def _folders_below(folder: Path) -> list[Path]:
    """``folder`` and every folder below it, skipping caches and hidden folders."""
    return [folder] + [
        path
        for path in sorted(folder.rglob("*"))
        if path.is_dir()
        and not any(p == "__pycache__" or p.startswith(".") for p in path.relative_to(folder).parts)
    ]


def _import_name(folder: Path) -> str:
    """The dotted name ``folder`` installs as (the deepest package-dir holding it)."""
    mapped = [(name, ROOT / base) for name, base in PACKAGE_DIRS.items()]
    mapped = [(name, base) for name, base in mapped if folder.is_relative_to(base)]
    name, base = max(mapped, key=lambda item: len(item[1].parts))
    return ".".join((name, *folder.relative_to(base).parts))


def test_every_package_folder_is_listed_for_the_install() -> None:
    """A new room (a folder with an ``__init__.py`` under harness/ or benchmarks/) must be
    in pyproject.toml's packages, or installs silently lack it while the editable
    checkout works."""
    listed = set(SETUPTOOLS["packages"])
    on_disk: set[str] = set()
    not_packages = []
    for base in PACKAGE_DIRS.values():
        for folder in _folders_below(ROOT / base):
            if (folder / "__init__.py").is_file():
                on_disk.add(_import_name(folder))
            elif any(folder.glob("*.py")):
                not_packages.append(str(folder.relative_to(ROOT)))
    assert not sorted(on_disk - listed), (
        f"package folders missing from [tool.setuptools] packages: {sorted(on_disk - listed)}"
    )
    assert not sorted(listed - on_disk), f"listed but not on disk: {sorted(listed - on_disk)}"
    # A folder of modules without __init__.py imports in the editable checkout (as a
    # namespace package) but is left out of the install.
    assert not not_packages, f"folders of modules without an __init__.py: {not_packages}"


# -- the end-to-end install ------------------------------------------------------------------

# Both of the project's own packages record who imported them: gilbench must import
# neither, and the project's own `import benchmarks` must get its own package.
_RECORD_IMPORT = """
import sys
from pathlib import Path

_frame = sys._getframe().f_back  # skip the import machinery to the importing module
while _frame is not None and (
    _frame.f_code.co_filename.startswith("<frozen")
    or str(_frame.f_globals.get("__name__", "")).startswith("importlib")
):
    _frame = _frame.f_back
_importer = _frame.f_globals.get("__name__", "?") if _frame is not None else "?"
with open(Path(__file__).resolve().parents[1] / "imports.log", "a") as _log:
    _log.write(f"{__name__} imported by {_importer}\\n")
"""

PROJECT_BENCHMARKS = (
    '"""The project\'s own benchmarks package: not gilbench\'s catalogue."""\n'
    + _RECORD_IMPORT
    + """
OFFSET = 7


def _not_gilbench(*args, **kwargs):
    raise RuntimeError("this is the project's own benchmarks package, not gilbench's")


# Names gilbench's catalogue has: a gilbench that imported this package would break.
workload = get_workload = all_workloads = Workload = _not_gilbench
"""
)

PROJECT_HARNESS = (
    '"""The project\'s own harness package: gilbench must never import it."""\n'
    + _RECORD_IMPORT
    + """

def _not_gilbench(*args, **kwargs):
    raise RuntimeError("this is the project's own harness package, not gilbench's")


main = cli = run = measure = _not_gilbench
"""
)

ITS_WORK = '''\
"""A project's own workload, measured with gilbench installed beside its own packages."""

from pathlib import Path

import benchmarks  # the project's own package
from gilbench.benchmarks import workload

assert Path(benchmarks.__file__).resolve().parents[1] == Path(__file__).resolve().parent, (
    f"`import benchmarks` found {benchmarks.__file__}, not the project's own package"
)


def _is_square(result: int, n: int) -> bool:
    return result == n * n + benchmarks.OFFSET


@workload("mine.square", kind="cpu", params={"n": [300]}, tasks=4, check=_is_square)
def square(n: int) -> int:
    """n squared the long way (n additions), plus the project's own offset."""
    return sum(n for _ in range(n)) + benchmarks.OFFSET
'''


def _write_project(root: Path) -> None:
    (root / "benchmarks").mkdir(parents=True)
    (root / "benchmarks" / "__init__.py").write_text(PROJECT_BENCHMARKS)
    (root / "harness").mkdir()
    (root / "harness" / "__init__.py").write_text(PROJECT_HARNESS)
    (root / "its_work.py").write_text(ITS_WORK)


def _run(command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
         ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT_S, check=False)  # fmt: skip


def _backend_is_here() -> bool:
    """Whether this environment has the build backend pyproject.toml asks for (then the
    wheel builds offline, without an isolated build environment)."""
    for text in PYPROJECT["build-system"]["requires"]:
        requirement = Requirement(text)
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            return False
        if not requirement.specifier.contains(version, prereleases=True):
            return False
    return True


@pytest.fixture(scope="module")
def gilbench_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of this checkout, built from a copy of its sources (so no build/ or
    egg-info folder of the checkout, stale or another run's, can leak into it)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for licence in ROOT.glob("LICEN[CS]E*"):
        shutil.copy2(licence, source / licence.name)
    for folder in PACKAGE_DIRS.values():
        shutil.copytree(ROOT / folder, source / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
               "--disable-pip-version-check", "--wheel-dir", str(work / "dist")]  # fmt: skip
    if _backend_is_here():
        command += ["--no-build-isolation", "--no-index"]
    # Else pip builds in an isolated environment with the backend from the package index
    # (seconds; pip caches it).  The source is a path: a bare name would be an index name.
    built = _run([*command, str(source)])
    if built.returncode != 0:
        text = built.stdout + built.stderr
        if not _backend_is_here() and ("No matching distribution" in text
                                       or "NewConnectionError" in text):  # fmt: skip
            pytest.skip("no package index to fetch the build backend from: install "
                        f"{', '.join(PYPROJECT['build-system']['requires'])} into this "
                        "environment to build offline")  # fmt: skip
        pytest.fail(f"building the wheel failed:\n{text}")
    (wheel,) = (work / "dist").glob("gilbench-*.whl")
    return wheel


def _dependency_folders() -> list[str]:
    """Where this interpreter finds gilbench's dependencies (pyperf, pandas, ...)."""
    folders = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    folders += [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    return [f for f in dict.fromkeys(folders) if Path(f).is_dir()]


@pytest.fixture
def user_venv(tmp_path: Path, gilbench_wheel: Path) -> Path:
    """A fresh virtual environment with gilbench installed from the wheel (not editable)
    and the dependencies this test environment already has made visible to it."""
    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    # pip of this environment installs into the new one (--python, pip >= 22.3): the new
    # one sees no other gilbench while pip decides what to install and where.
    installed = _run([sys.executable, "-m", "pip", "--python", str(python), "install",
                      "--no-deps", "--no-index", "--quiet", "--disable-pip-version-check",
                      str(gilbench_wheel)])  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    # Then the dependencies, without downloading them again: a .pth line puts this
    # environment's site-packages after the new one's, where gilbench now is.
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    assert purelib.returncode == 0, purelib.stderr
    site = Path(purelib.stdout.strip())
    (site / "_gilbench_test_dependencies.pth").write_text("\n".join(_dependency_folders()) + "\n")
    return venv


def _environment(venv: Path) -> dict[str, str]:
    """A user's shell with the environment activated: nothing of this test's gilbench."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GILBENCH", "PYTHON", "VIRTUAL_ENV"))
    }
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    return env


@pytest.mark.slow
def test_an_installed_gilbench_measures_a_project_with_its_own_benchmarks_and_harness(
    tmp_path: Path, user_venv: Path
) -> None:
    project = tmp_path / "project"
    _write_project(project)
    env = _environment(user_venv)
    python = str(user_venv / "bin" / "python")

    where = _run([python, "-c", "import gilbench, gilbench.benchmarks, gilbench.measure.bridge; "
                  "print(gilbench.__file__); print(gilbench.benchmarks.__file__)"],
                 cwd=project, env=env)  # fmt: skip
    assert where.returncode == 0, where.stderr
    for path in where.stdout.split():
        assert Path(path).resolve().is_relative_to(user_venv.resolve()), (
            f"gilbench imported from {path}, not from the new environment"
        )
    # One import name: the install adds `gilbench`, never a top-level harness or benchmarks.
    site = Path(where.stdout.split()[0]).parents[1]
    assert not (site / "harness").exists()
    assert not (site / "benchmarks").exists()
    missing = [
        str(path.relative_to(ROOT))
        for name, folder in PACKAGE_DIRS.items()
        for path in (ROOT / folder).rglob("*")
        if path.is_file()
        and path.suffix not in NOT_INSTALLED_SUFFIXES
        and not any(
            p == "__pycache__" or p.startswith(".") for p in path.relative_to(ROOT / folder).parts
        )
        and not (site / Path(*name.split(".")) / path.relative_to(ROOT / folder)).is_file()
    ]
    assert not missing, f"files of the checkout missing from the install: {missing}"

    listed = _run([python, "-m", "gilbench", "list", "--workloads-from", "its_work.py"],
                  cwd=project, env=env)  # fmt: skip
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "mine.square" in listed.stdout
    assert "cpu.fib" in listed.stdout  # the catalogue, beside the project's own workload

    run = _run([str(user_venv / "bin" / "gilbench"), "run", "--profile", "smoke",
                "--workloads-from", "its_work.py", "--workload", "mine", "--results", "results",
                "--no-report", "--machine", "scratch"], cwd=project, env=env)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    (result,) = [
        path
        for path in (project / "results" / "scratch").glob("*.json")
        if path.name != "machine.json" and not path.name.endswith(".failures.json")
    ]
    names = pyperf.BenchmarkSuite.load(str(result)).get_benchmark_names()
    assert names
    assert {name.split("(")[0] for name in names} == {"mine.square"}, names
    backends = {name.split(") ")[1].split()[0] for name in names}
    assert {"serial", "threads"} <= backends, names
    assert any(b.startswith("processes") for b in backends), names  # pickled by reference

    imports = (project / "imports.log").read_text().splitlines()
    assert imports, "the project's own `import benchmarks` never ran"
    assert set(imports) == {"benchmarks imported by its_work"}, imports
