"""Finding and building interpreters (the build itself is exercised by hand: minutes)."""

from __future__ import annotations

import io
import sys
import tarfile
from pathlib import Path

import pytest
from helpers import gilbench

from gilbench.run.pythons import PythonBuildError, build, built_python, describe, discover


def test_describe_reports_this_interpreter() -> None:
    info = describe(sys.executable)
    assert info is not None
    assert info.version == ".".join(map(str, sys.version_info[:3]))
    assert info.tag.startswith("cpython3.")


def test_describe_returns_none_for_a_broken_executable(tmp_path: Path) -> None:
    assert describe(str(tmp_path / "no-python")) is None


def test_discover_finds_distinct_runnable_interpreters() -> None:
    found = discover()
    assert len({p.executable for p in found}) == len(found)
    assert all(p.version.startswith("3.") for p in found)


def test_build_refuses_a_tarball_of_another_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GILBENCH_CACHE", str(tmp_path / "cache"))
    tarball = tmp_path / "Python-3.13.0.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        data = b"not a real configure"
        member = tarfile.TarInfo("Python-3.13.0/configure")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    with pytest.raises(PythonBuildError, match=r"not Python-3\.14\.7"):
        build("3.14.7", tarball, free_threaded=True, echo=False)
    with pytest.raises(PythonBuildError, match="does not exist"):
        build("3.14.7", tmp_path / "missing.tar.xz", free_threaded=False, echo=False)
    assert built_python("3.14.7", True).name == "python3.14t"
    assert built_python("3.14.7", False).name == "python3.14"


def test_python_commands_from_the_command_line(tmp_path: Path) -> None:
    listed = gilbench("python", "list", "--paths")
    assert listed.returncode == 0, listed.stderr
    bad = gilbench("python", "build", "3.14", "--source", str(tmp_path / "x.tar.xz"))
    assert bad.returncode == 2
    assert "not like 3.14.7" in bad.stderr
