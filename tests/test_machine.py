"""Choosing CPUs: one per physical core before hyperthread siblings, CPU 0 last, a cgroup
quota caps how many a sweep may use."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gilbench.measure.machine import choose_cpus, cpu_cores, cpus_by_cores, usable_cpu_count
from gilbench.vocabulary import format_cpu_list, parse_cpu_list

# 4 physical cores with 2 hyperthreads each: CPU n and n + 4 share a core.
SMT = {cpu: (0, cpu % 4) for cpu in range(8)}


def test_physical_cores_come_before_siblings_and_cpu0_comes_last() -> None:
    assert choose_cpus(1, list(range(8)), SMT) == [1]
    assert choose_cpus(2, list(range(8)), SMT) == [1, 2]
    assert choose_cpus(4, list(range(8)), SMT) == [1, 2, 3, 4]  # core 0 through CPU 4
    assert choose_cpus(5, list(range(8)), SMT) == [1, 2, 3, 4, 5]
    assert choose_cpus(8, list(range(8)), SMT) == list(range(8))
    assert choose_cpus(1, [0, 1], {0: (0, 0), 1: (0, 1)}) == [1]


def test_more_cpus_than_allowed_is_an_error() -> None:
    with pytest.raises(ValueError, match="only 2 are allowed"):
        choose_cpus(3, [0, 1], {})


@given(
    allowed=st.sets(st.integers(0, 31), min_size=1, max_size=16).map(sorted),
    threads_per_core=st.integers(1, 4),
    data=st.data(),
)
def test_a_choice_is_a_subset_using_as_many_cores_as_it_can(
    allowed: list[int], threads_per_core: int, data: st.DataObject
) -> None:
    cores = {cpu: (0, cpu // threads_per_core) for cpu in allowed}
    count = data.draw(st.integers(1, len(allowed)))
    chosen = choose_cpus(count, allowed, cores)
    assert len(chosen) == count == len(set(chosen))
    assert set(chosen) <= set(allowed)
    distinct = len({cores[c] for c in allowed})
    assert len({cores[c] for c in chosen}) == min(count, distinct)
    if 0 in chosen and count < len(allowed):
        # CPU 0 only once every other core is used, and only instead of a sibling.
        others = {cores[c] for c in allowed if c != 0}
        assert others <= {cores[c] for c in chosen if c != 0} or cores[0] not in others


def test_topology_is_read_from_sysfs_and_unknown_cpus_are_their_own_core(
    tmp_path: Path,
) -> None:
    for cpu, core in ((0, 0), (1, 0)):
        topology = tmp_path / f"cpu{cpu}" / "topology"
        topology.mkdir(parents=True)
        (topology / "physical_package_id").write_text("0\n")
        (topology / "core_id").write_text(f"{core}\n")
    assert cpu_cores([0, 1, 2], tmp_path) == {0: (0, 0), 1: (0, 0), 2: (-1, 2)}


def test_a_cgroup_quota_caps_the_usable_cpus() -> None:
    assert usable_cpu_count(16, 2.0) == 2
    assert usable_cpu_count(16, 2.5) == 2
    assert usable_cpu_count(16, None) == 16
    assert usable_cpu_count(4, 0.5) == 1
    assert usable_cpu_count(2, 8.0) == 2


@given(st.sets(st.integers(0, 255), max_size=64))
def test_a_cpu_list_reads_back_as_written(cpus: set[int]) -> None:
    text = format_cpu_list(sorted(cpus))
    assert parse_cpu_list(text) == sorted(cpus)


def test_cpu_lists_as_linux_writes_them() -> None:
    assert format_cpu_list([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8"
    assert parse_cpu_list("0-2,5, 7-8") == [0, 1, 2, 5, 7, 8]
    assert parse_cpu_list("") == []
    with pytest.raises(ValueError, match="invalid literal"):
        parse_cpu_list("0-x")


def test_the_plan_chooses_once_per_core_count() -> None:
    assert cpus_by_cores([2, 1, 2, 8], list(range(8)), SMT) == {
        1: [1],
        2: [1, 2],
        8: list(range(8)),
    }
