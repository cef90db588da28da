"""The mixed family: CPU loads, latency points, their matrix, and latency in the report."""

from __future__ import annotations

import csv
import io
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import gilbench, make_bench

from gilbench.analysis.tidy import benchmark_row, with_param_columns
from gilbench.benchmarks import all_workloads, get_workload
from gilbench.measure import latency as latency_module
from gilbench.measure import run_facts
from gilbench.measure.latency import LOAD_RATE_FACT, LatencyMeasurement
from gilbench.measure.load import LoadError, ThreadLoad, load_counts, load_variants, make_load
from gilbench.report.latency import load_sentence, mixed_figures, switch_sentence
from gilbench.run.matrix import build_matrix
from gilbench.run.profiles import get_profile
from gilbench.vocabulary import Point, split_load_place

MIXED = sorted(name for name, wl in all_workloads().items() if wl.kind == "mixed")
LOADS = ["threads", "processes[fork]", "asyncio[inline]", "asyncio[executor]"]
SMALL_CHUNK = 2_000


def _tiny_chunk(chunk: int, **_: Any) -> int:
    return sum(range(chunk))


@pytest.mark.parametrize("load_in", LOADS)
def test_every_load_runs_its_workers_counts_chunks_and_stops(load_in: str) -> None:
    load = make_load(load_in, 2, _tiny_chunk, {"chunk": SMALL_CHUNK})
    load.start()
    try:
        deadline = time.monotonic() + 10
        while load.chunks_done() < 10 and time.monotonic() < deadline:
            if load.loop is not None:  # an asyncio load progresses only while its loop runs
                load.loop.run_until_complete(__import__("asyncio").sleep(0.01))
            else:
                time.sleep(0.01)
        assert load.chunks_done() >= 10
    finally:
        load.stop()


def _failing_chunk(raised: threading.Event) -> None:
    raised.set()
    raise ZeroDivisionError("a broken load")


def test_a_load_whose_chunk_raises_says_so_when_stopped() -> None:
    raised = threading.Event()
    load = ThreadLoad(1, _failing_chunk, {"raised": raised})
    load.start()
    # Stop once the chunk has raised (a state), not after a fixed sleep that a busy
    # machine may not give the load thread time to use.
    assert raised.wait(timeout=60)
    with pytest.raises(LoadError, match="ZeroDivisionError"):
        load.stop()


def test_load_counts_start_at_the_responder_alone_and_reach_twice_the_cores() -> None:
    assert load_counts(2, dense=True) == [0, 1, 2, 3, 4]
    assert load_counts(2, dense=False) == [0, 1, 2, 4]
    assert load_counts(16, dense=True) == [0, 1, 2, 4, 8, 16, 32]
    assert load_variants("asyncio") == ("inline", "executor")
    with pytest.raises(ValueError, match="no CPU load"):
        load_variants("serial")


def test_the_matrix_puts_loads_beside_responders_and_sweeps_the_switch_interval() -> None:
    workloads = [get_workload(name) for name in MIXED]
    points = build_matrix(workloads, ["serial", "threads", "processes", "asyncio"],
                          get_profile("quick"), 2)  # fmt: skip
    echo = [p for p in points if p.workload == "mixed.echo"]
    assert {p.load_in for p in echo} == {
        "threads", "processes[forkserver]", "asyncio[inline]", "asyncio[executor]"
    }  # fmt: skip
    # Quick: K up to one CPU worker per core (open-loop requests cost whole switch
    # intervals each, 200 of them per point); rigorous: up to twice the cores.
    assert sorted({p.load_workers for p in echo}) == [0, 1, 2]
    rigorous = build_matrix(workloads, ["threads"], get_profile("rigorous"), 2)
    assert sorted({p.load_workers for p in rigorous if p.workload == "mixed.echo"}) == [
        0, 1, 2, 3, 4
    ]  # fmt: skip
    assert sorted(
        float(p.params["interval_ms"]) for p in rigorous
        if p.workload == "mixed.switch_interval" and p.cores == 2
    ) == [0.1, 0.5, 1, 5, 20, 50]  # fmt: skip
    assert {p.tasks for p in points} == {1}
    # The throughput coordinates keep their meaning: one responder, no pool variant.
    assert {(p.workers, p.start_method) for p in points} == {(1, None)}
    assert {p.backend for p in echo} == {"threads", "processes", "asyncio"}
    assert all(p.is_latency for p in points)
    switch = [p for p in points if p.workload == "mixed.switch_interval"]
    # Quick keeps the first two intervals the workload declares (swept_values); the
    # default 5 ms is mixed.echo's threads load at K = cores.
    assert sorted(float(p.params["interval_ms"]) for p in switch) == [0.1, 1]
    assert {(p.backend, p.load_in, p.load_workers) for p in switch} == {("threads", "threads", 2)}


def test_workers_given_on_the_command_line_are_the_cpu_workers_of_latency_points() -> None:
    echo = get_workload("mixed.echo")
    points = build_matrix([echo], ["threads"], get_profile("quick"), 2, workers=[2, 0, 1])
    assert [(p.load_in, p.load_workers) for p in points] == [("threads", k) for k in (0, 1, 2)]
    assert points[0].name == "mixed.echo(chunk=20000,size=64) load=threads load_workers=0 cores=2"
    # --backend picks the latency points whose load runs there.
    asyncio_points = build_matrix([echo], ["asyncio"], get_profile("quick"), 2, workers=[1])
    assert [p.load_in for p in asyncio_points] == ["asyncio[inline]", "asyncio[executor]"]


def test_a_latency_point_keeps_its_load_out_of_the_throughput_coordinates() -> None:
    point = Point.latency("mixed.echo", {"size": 64}, "processes[spawn]", 0, 2)
    assert (point.backend, point.workers, point.start_method, point.tasks) == (
        "processes", 1, None, 1
    )  # fmt: skip
    assert Point.from_json(point.to_json()) == point
    assert split_load_place("processes[spawn]") == ("processes", "spawn")
    assert split_load_place("threads") == ("threads", None)
    for bad in ("serial", "threads[x]", "asyncio", "asyncio[pool]", "processes[]", "processes[x"):
        with pytest.raises(ValueError, match="no CPU load runs in"):
            split_load_place(bad)
    with pytest.raises(ValueError, match="workers 1"):
        Point("mixed.echo", {}, "threads", 0, 2, 1, load_in="threads", load_workers=0)
    with pytest.raises(ValueError, match="its backend is 'asyncio'"):
        Point("mixed.echo", {}, "threads", 1, 2, 1, load_in="asyncio[inline]", load_workers=1)
    with pytest.raises(ValueError, match="both load_in and load_workers"):
        Point("mixed.echo", {}, "threads", 1, 2, 1, load_in="threads")


def test_workers_zero_is_refused_for_throughput_workloads() -> None:
    with pytest.raises(ValueError, match="only to mixed"):
        build_matrix([get_workload("cpu.fib")], ["threads"], get_profile("smoke"), 2, workers=[0])


@pytest.mark.parametrize(
    ("name", "load_in"),
    [
        (name, load)
        for name in MIXED
        for load in LOADS
        if get_workload(name).runs_on(split_load_place(load)[0])
    ],
)
def test_every_responder_answers_beside_every_load(name: str, load_in: str) -> None:
    wl = get_workload(name)
    params = {**wl.default_params, "chunk": SMALL_CHUNK}
    point = Point.latency(name, params, load_in, 1, 1)
    run_facts._rates.clear()
    measurement = LatencyMeasurement(point)
    try:
        for _ in range(25):
            assert measurement.time_requests(1) > 0
    finally:
        measurement.close()
    metadata: dict[str, Any] = {}
    run_facts.RunFactsHook().teardown(metadata)
    assert metadata[f"fact_{LOAD_RATE_FACT}"] > 0


def test_the_load_stops_after_the_last_announced_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyperf collects metadata after the last value; a CPU load still running then made
    that wait for the GIL (1.5 s at K = 2).  So the measurement stops the load after
    the calls pyperf announced, and refuses a call beyond them.  After calibration, one
    untimed warm-up request runs on the schedule before the first value."""
    wl = get_workload("mixed.echo")
    point = Point.latency(
        "mixed.echo", {**wl.default_params, "chunk": SMALL_CHUNK}, "threads", 1, 1
    )
    measurement = LatencyMeasurement(point, calls=3)
    requests = []
    real = measurement._sync_request
    monkeypatch.setattr(measurement, "_sync_request", lambda s: requests.append(1) or real(s))
    try:
        measurement.time_requests(1)
        load = measurement.load
        assert isinstance(load, ThreadLoad)
        calibration = len(requests) - 2  # the warm-up and the first value
        assert calibration >= latency_module.CALIBRATION_MIN
        assert all(thread.is_alive() for thread in load._threads)
        measurement.time_requests(1)
        measurement.time_requests(1)
        assert len(requests) == calibration + latency_module.WARMUP_REQUESTS + 3
        assert not any(thread.is_alive() for thread in load._threads)
        with pytest.raises(RuntimeError, match="more calls than announced"):
            measurement.time_requests(1)
    finally:
        measurement.close()  # the load is stopped once, not twice


def test_a_point_writes_schema_2_coordinates_into_its_metadata() -> None:
    from gilbench.measure.bridge import point_metadata
    from gilbench.measure.interpreter import InterpreterInfo
    from gilbench.metadata import SCHEMA_KEY, SCHEMA_VERSION, typed

    info = InterpreterInfo.current()
    echo = Point.latency("mixed.echo", get_workload("mixed.echo").default_params,
                         "asyncio[executor]", 0, 1)  # fmt: skip
    latency = typed(point_metadata(echo, info))
    assert latency[SCHEMA_KEY] == SCHEMA_VERSION >= 2  # the schema 2 coordinates stay
    assert (latency["backend"], latency["workers"], latency["start_method"]) == (
        "asyncio", 1, "-"
    )  # fmt: skip
    assert (latency["load_in"], latency["load_workers"]) == ("asyncio[executor]", 0)
    fib = typed(point_metadata(Point("cpu.fib", {"n": 12}, "threads", 2, 1, 4), info))
    assert (fib["workers"], fib["load_in"]) == (2, "-")
    assert "load_workers" not in fib


def _spread(latency: float) -> tuple[float, ...]:
    """1,000 requests (enough for a p99: 10 beyond it), 100 values 10 times each."""
    return tuple(latency * (1 + i / 100) for i in range(100) for _ in range(10))


def _latency_rows(machine: str = "box") -> pd.DataFrame:
    rows = []
    for load_in, load_workers, latency in [
        ("threads", 0, 0.0001), ("threads", 2, 0.02),
        ("processes[forkserver]", 0, 0.0001), ("processes[forkserver]", 2, 0.0002),
    ]:  # fmt: skip
        bench = make_bench(
            "mixed.echo", split_load_place(load_in)[0], 1, values=_spread(latency),
            kind="mixed", load_in=load_in, load_workers=load_workers,
            params="chunk=20000,size=64", tasks=1,
            fact_load_chunks_per_s=1000.0 * load_workers, machine=machine,
        )  # fmt: skip
        rows.append(benchmark_row(bench, machine, Path("x.json")))
    return with_param_columns(pd.DataFrame(rows))


def test_latency_percentiles_come_from_every_value() -> None:
    frame = _latency_rows()
    assert set(frame["workers"]) == {1}
    threads = frame[(frame["load_in"] == "threads") & (frame["load_workers"] == 2)].iloc[0]
    assert threads["p50_ms"] == pytest.approx(20 * 1.495, rel=0.01)
    assert threads["p99_ms"] == pytest.approx(20 * 1.98, rel=0.01)
    assert threads["max_ms"] == pytest.approx(20 * 1.99)
    throughput_row = benchmark_row(make_bench(), "box", Path("x.json"))
    assert pd.isna(throughput_row["p99_ms"])


def test_the_load_sentence_reads_the_numbers_of_its_chart() -> None:
    sentence = load_sentence(_latency_rows())
    assert "2 CPU-bound workers" in sentence
    assert "threads 39.6 ms, 200.0x" in sentence
    assert "processes[forkserver] 0.4 ms, 2.0x" in sentence


def test_the_switch_sentence_states_latency_and_throughput_at_both_ends() -> None:
    rows = pd.DataFrame(
        {"interpreter": ["cpython3.11"] * 2, "param_interval_ms": [0.1, 50.0],
         "p99_ms": [1.0, 300.0],
         "fact_load_chunks_per_s": [1500.0, 1800.0]}
    )  # fmt: skip
    assert switch_sentence(rows) == (
        "cpython3.11: from 0.1 ms to 50 ms, p99 latency went from 1.0 ms to 300.0 ms and the "
        "CPU threads' throughput from 1,500 to 1,800 chunks/s (+20%)."
    )


def test_mixed_figures_put_every_interpreter_on_one_chart() -> None:
    frame = pd.concat([
        _latency_rows(),
        _latency_rows().assign(interpreter="cpython3.14t"),
    ])  # fmt: skip
    (figure,) = mixed_figures(frame)
    assert "cpython3.14t" in str(figure.svg)
    assert "cpython3.11" in str(figure.svg)
    assert "p99 latency with 2 CPU-bound workers" in figure.caption


@pytest.fixture(scope="module")
def latency_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A smoke run of the echo responder alone and beside 2 CPU threads or processes, and
    of the switch interval at its two ends."""
    root = tmp_path_factory.mktemp("mixed")
    out = gilbench(
        "run", "--profile", "smoke", "--workload", "mixed.echo", "--backend", "threads",
        "--backend", "processes", "--workers", "0,2", "--machine", "latbox",
        "--results", "results", "--reports", "reports", cwd=root,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    for interval in ("0.1", "20"):
        out = gilbench(
            "run", "--profile", "smoke", "--workload", "mixed.switch_interval",
            "--param", f"mixed.switch_interval:interval_ms={interval}", "--resume",
            "--machine", "latbox", "--results", "results", "--no-report", cwd=root,
        )  # fmt: skip
        assert out.returncode == 0, out.stdout + out.stderr
    return root


def test_cpu_threads_delay_the_responder_far_more_than_cpu_processes(latency_run: Path) -> None:
    out = gilbench("export", "results", cwd=latency_run)
    rows = {
        (r["workload"], r["backend"], r["load_workers"], r["params"]): r
        for r in csv.DictReader(io.StringIO(out.stdout))
    }
    assert {r["workers"] for r in rows.values()} == {"1"}
    assert {r["load_in"] for r in rows.values()} >= {"threads"}
    assert {r["param_interval_ms"] for r in rows.values()} == {"", "0.1", "20.0"}
    echo = "chunk=20000,size=64"
    alone = float(rows["mixed.echo", "threads", "0", echo]["p50_ms"])
    threads = float(rows["mixed.echo", "threads", "2", echo]["p50_ms"])
    processes = float(rows["mixed.echo", "processes", "2", echo]["p50_ms"])
    switch = {params: row for (name, _, _, params), row in rows.items() if "switch" in name}
    # The convoy effect is ~100x here (a switch interval of 5 ms against ~0.1 ms); the
    # margins are generous for a noisy machine.
    assert threads >= 5 * alone
    assert processes * 3 <= threads
    for row in rows.values():
        # A smoke run's 20 requests support a p50, not a p99: its cell is empty and its
        # note says what stands in for it (analysis.latency_stats).
        assert int(row["latency_samples"]) >= 20
        high = float(row["p99_ms"] or row["max_ms"])
        assert row["p99_ms"] or row["p99_note"] == f"max of {row['latency_samples']}"
        assert float(row["p50_ms"]) <= high <= float(row["max_ms"])
        assert row["speedup"] == ""
    short = switch["chunk=20000,interval_ms=0.1,size=64"]
    long = switch["chunk=20000,interval_ms=20.0,size=64"]
    assert float(long["p50_ms"]) >= 3 * float(short["p50_ms"])
    assert float(long["fact_load_chunks_per_s"]) > 0


def test_a_new_result_file_says_schema_2_and_where_the_load_ran(latency_run: Path) -> None:
    import pyperf

    from gilbench.metadata import SCHEMA_KEY, SCHEMA_VERSION

    (path,) = (latency_run / "results" / "latbox").glob("*-*.json")
    for bench in pyperf.BenchmarkSuite.load(str(path)).get_benchmarks():
        meta = bench.get_metadata()
        assert meta[SCHEMA_KEY] == SCHEMA_VERSION >= 2  # the schema 2 coordinates stay
        assert (meta["workers"], meta["start_method"]) == (1, "-")
        assert meta["load_in"] in ("threads", "processes[forkserver]", "processes[fork]",
                                   "processes[spawn]")  # fmt: skip
        assert meta["load_workers"] in (0, 2)
        for run in bench.get_runs():
            if not run.values:
                continue
            # The open-loop schedule is time spent measuring: its span (the requests'
            # gaps), within the worker's own duration.
            rate = run.get_metadata()["fact_latency_rate_per_s"]
            timed = run.get_metadata()["timed_s"]
            assert timed == pytest.approx(len(run.values) / rate, rel=0.02)
            assert timed <= run.get_metadata()["duration"]


def test_the_report_shows_latency_against_load_and_the_switch_trade_off(
    latency_run: Path,
) -> None:
    report = gilbench("report", "results", "-o", "reports/all", cwd=latency_run)
    assert report.returncode == 0, report.stderr
    html = (latency_run / "reports" / "all" / "index.html").read_text()
    assert "Latency under CPU load" in html
    assert "latency vs CPU load" in html
    assert "p99 latency with 2 CPU-bound workers beside the responder" in html
    assert "latency and throughput vs switch interval" in html
    assert "from 0.1 ms to 20 ms, p99 latency went from" in html
