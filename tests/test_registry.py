"""The workload registry: declaring, finding, parameters."""

from __future__ import annotations

import pickle

import pytest

from gilbench.benchmarks import (
    Fact,
    Presentation,
    UnknownWorkloadError,
    Workload,
    _registry,
    all_workloads,
    format_params,
    get_workload,
    workload,
)
from gilbench.benchmarks import cpu as cpu_family


def test_builtin_workloads_are_registered_with_kind_and_description() -> None:
    registry = all_workloads()
    assert {"cpu.fib", "io.sleep"} <= set(registry)
    for wl in registry.values():
        assert wl.description, wl.name
        assert wl.family == wl.name.split(".")[0]


def test_unknown_workload_lists_valid_names() -> None:
    with pytest.raises(UnknownWorkloadError, match=r"cpu\.fib"):
        get_workload("cpu.nope")


def test_decorator_returns_the_function_so_pools_can_pickle_it() -> None:
    wl = get_workload("cpu.fib")
    assert wl.func is cpu_family.fib
    assert pickle.loads(pickle.dumps(wl.func)) is cpu_family.fib


def test_every_builtin_check_accepts_its_own_default_result() -> None:
    for name in ("cpu.fib", "io.sleep"):
        wl = get_workload(name)
        params = wl.default_params
        if name == "io.sleep":
            params = {"ms": 0.5}
        assert wl.check(wl.func(**params), **params)


def test_fib_check_rejects_wrong_results() -> None:
    wl = get_workload("cpu.fib")
    assert wl.check(28657, n=23)
    assert not wl.check(28656, n=23)


def test_param_grid_is_the_cartesian_product_and_first_value_is_default() -> None:
    wl = Workload(
        "t.x",
        "cpu",
        func=lambda **_: None,
        params={"a": (1, 2), "b": ("x", "y", "z")},
        check=lambda *_: True,
        tasks=1,
    )
    assert wl.default_params == {"a": 1, "b": "x"}
    grid = list(wl.param_grid())
    assert len(grid) == 6
    assert {"a": 2, "b": "z"} in grid


def test_coerce_params_types_overrides_like_defaults_and_rejects_unknown() -> None:
    wl = get_workload("cpu.fib")
    assert wl.coerce_params({"n": "15"}) == {"n": 15}
    with pytest.raises(ValueError, match="no parameter 'm'"):
        wl.coerce_params({"m": "1"})
    with pytest.raises(ValueError, match="is not int"):
        wl.coerce_params({"n": "ten"})


def test_decorator_rejects_bad_declarations() -> None:
    def documented() -> int:
        """Docstring."""
        return 1

    with pytest.raises(ValueError, match="unknown kind"):
        workload("t.a", kind="gpu", check=lambda *_: True)(documented)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"family\.name"):
        workload("nodot", kind="cpu", check=lambda *_: True)(documented)

    def undocumented() -> int:
        return 1

    with pytest.raises(ValueError, match="docstring"):
        workload("t.undocumented", kind="cpu", check=lambda *_: True)(undocumented)


def test_format_params_is_sorted_and_stable() -> None:
    assert format_params({"b": 2, "a": 1.5}) == "a=1.5,b=2"
    assert format_params({}) == ""


def test_a_fact_declares_its_label_unit_and_how_it_combines() -> None:
    late = Fact("timer_late_ms", "timer late", "ms")
    assert late.heading == "timer late (ms)"
    assert late.combined([1.0, 3.0]) == 2.0
    worst = Fact("late_worst", "late", combine="worst")
    assert worst.heading == "late"
    assert worst.combined([1.0, 3.0]) == 3.0


def test_a_fact_must_combine_as_result_files_do() -> None:
    with pytest.raises(ValueError, match="key and combine must agree"):
        Fact("lost_worst", "lost")  # files combine *_worst by maximum
    with pytest.raises(ValueError, match="key and combine must agree"):
        Fact("lost", "lost", combine="worst")
    with pytest.raises(ValueError, match="identifier"):
        Fact("lost updates", "lost")
    with pytest.raises(ValueError, match="label"):
        Fact("lost", "")


def test_every_declared_fact_combines_like_the_result_files() -> None:
    from gilbench import vocabulary

    assert vocabulary.WORST_SUFFIX == _registry.WORST_SUFFIX
    declared = [f for wl in all_workloads().values() for f in wl.shown_facts]
    assert {"lost_updates", "lost_updates_worst", "timer_late_ms"} <= {f.key for f in declared}
    for fact in declared:
        values = [1.0, 2.0, 6.0]
        assert fact.combined(values) == vocabulary.combine_fact(fact.key, values), fact.key


def test_decorator_rejects_facts_shown_without_a_facts_function_or_twice() -> None:
    def documented() -> int:
        """Docstring."""
        return 1

    shown = (Fact("seen", "seen"),)
    with pytest.raises(ValueError, match="needs a facts function"):
        workload("t.nofacts", kind="probe", check=lambda *_: True,
                 present=Presentation(facts=shown))(documented)  # fmt: skip
    with pytest.raises(ValueError, match="shown twice"):
        workload(
            "t.twice",
            kind="probe",
            check=lambda *_: True,
            facts=lambda results: {"seen": 1},
            present=Presentation(facts=shown * 2),
        )(documented)


def test_private_workloads_are_not_the_catalogue_unless_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The self-benchmark imports its own no-op workload; a run of "the catalogue" in that
    # process must not select it (its workers could not import it).
    import gilbench.selfcheck.noop_workloads  # noqa: F401
    from gilbench.benchmarks import USER_WORKLOADS_ENV, get_workload

    monkeypatch.delenv(USER_WORKLOADS_ENV, raising=False)
    assert "self.noop" not in all_workloads()
    assert get_workload("self.noop").name == "self.noop"  # still there by name
    monkeypatch.setenv(USER_WORKLOADS_ENV, "gilbench.selfcheck.noop_workloads")
    assert "self.noop" in all_workloads()
