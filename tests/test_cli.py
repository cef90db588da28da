"""The command line as a user meets it: listing, and clear errors with exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import gilbench

from gilbench.cli import main


def test_list_shows_workloads_backends_and_profiles() -> None:
    out = gilbench("list")
    assert out.returncode == 0, out.stderr
    for name in ("cpu.fib", "io.sleep", "serial", "threads", "processes", "asyncio", "quick"):
        assert name in out.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--workload", "cpu.nope"], "valid workloads: cpu.fib"),
        (["--backend", "greenlets"], "valid backends: serial, threads"),
        (["--profile", "fastest"], "valid profiles: smoke, quick"),
        (["--param", "cpu.fib:n"], "expected WORKLOAD:KEY=VALUE"),
        (["--param", "cpu.fib:m=3"], "no parameter 'm'"),
        (["--cores", "4096"], "may use only"),
    ],
)
def test_bad_input_exits_2_with_the_valid_choices(
    args: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--results", str(tmp_path / "results"), *args])
    assert exit_info.value.code == 2
    assert expected in capsys.readouterr().err.replace("\n", " ")
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").rglob("*-*.json"))


def test_unwritable_results_folder_is_reported_before_measuring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--results", str(blocker / "results"), "--workload", "cpu.fib"])
    assert exit_info.value.code == 2
    assert "not writable" in capsys.readouterr().err


def test_export_of_a_missing_folder_exits_2(tmp_path: Path) -> None:
    out = gilbench("export", str(tmp_path / "nothing"))
    assert out.returncode == 2
    assert "no such file or folder" in out.stderr
