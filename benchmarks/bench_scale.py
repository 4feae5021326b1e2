"""Landing to scorecard at scale (issue 15): wall time, CPU and peak memory per stage.

Opt-in (it takes many minutes): ``CX_BENCH_SCALE=1``. Generates a synthetic world of
``CX_BENCH_SCALE_CUSTOMERS`` (default 100,000, about 1 M contacts) over
``CX_BENCH_SCALE_DAYS`` (default 90) days plus one more day, in daily deliveries; serves
its Zendesk part on the local stand-in; then, from an empty warehouse, runs ``cxscore run``
(:func:`cxscore.pipeline.run_pipeline`, in a process of its own, as the command does:
extract, raw checks, gate, dbt build, scorecard checks, publish, owner alerts), reading
the wall time of each stage from the run's summary and the peak memory of each stage from
the process itself (its ``VmHWM``, reset between stages through ``/proc/self/clear_refs``;
for the extract, also its child processes' ``ru_maxrss``: the parallel sources), and where
each stage's core-seconds went: cxscore's own processes, the Zendesk stand-in (a thread of
the benchmark, doing on these cores what Zendesk's servers do in production), PostgreSQL
and the rest of the machine's busy time, idle (and of it the time waiting for the disk), and
the time the hypervisor took the cores for others (steal). Then the
one more day is delivered and ``cxscore run`` runs again, ``CX_BENCH_SCALE_REPEAT`` times
(default 3) from the same 90-day state (the warehouse database copied as a template and the
state folder copied before the first, restored before each other one): its figure is the
median, as one such run varied by a quarter within an hour on one machine; then once more
with nothing new (what a run costs whatever arrived). ``CX_BENCH_SCALE_SURVEYS=distinct``
measures a what-if instead of the world as generated: each survey record only in the first
export that holds it (:mod:`benchmarks._survey_repeats`). Before the runs and after them it
times a fixed reference workload that is not cxscore's (:mod:`benchmarks._machine`): the same code's
seconds differ by 3x between machines, and two machines compare through their reference
times. Goals: the first run under 5 minutes on 2 cores; the one
more day under 10 % of it.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg2
import psycopg2.errors

from benchmarks import _machine, _pg
from benchmarks._rss import own_peak_rss_mb
from benchmarks._survey_repeats import drop_repeated_survey_records

EMAIL, TOKEN = "bench@example.com", "bench-token"


def _dbt_times(settings: Any, n: int = 6) -> dict[str, Any]:
    """The build's node time per kind (models, seeds, tests; summed, so more than the wall
    time with several threads) and its slowest nodes (seconds), from run_results.json."""
    path = Path(settings.state_dir) / "dbt" / "target" / "run_results.json"
    results = json.loads(path.read_text(encoding="utf-8"))["results"]
    per_kind: dict[str, float] = {}
    for r in results:
        kind = r["unique_id"].split(".")[0]
        per_kind[kind] = per_kind.get(kind, 0.0) + float(r.get("execution_time") or 0)
    ranked = sorted(results, key=lambda r: -float(r.get("execution_time") or 0))[:n]
    return {
        "node_seconds": {k: round(v, 1) for k, v in sorted(per_kind.items())},
        "slowest": {
            r["unique_id"].split(".")[-1][:40]: round(float(r["execution_time"]), 1) for r in ranked
        },
    }


def _reset_peak_rss() -> bool:
    """Reset this process's VmHWM to its current resident set (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def _cpu_now() -> dict[str, float]:
    """CPU seconds so far: this process and its waited-for children (cxscore), the parent
    (the benchmark, whose only work during a run is the Zendesk stand-in's thread), and the
    whole machine's busy and idle time (``/proc/stat``; the rest of busy is PostgreSQL's
    server processes and anything else running)."""
    tick = os.sysconf("SC_CLK_TCK")
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(f"/proc/{os.getppid()}/stat", encoding="ascii") as fh:
        parent = fh.read().rsplit(")", 1)[1].split()
    with open("/proc/stat", encoding="ascii") as fh:
        machine = [int(v) for v in fh.readline().split()[1:9]]
    idle = machine[3] + machine[4]  # idle + iowait
    steal = machine[7]  # time the hypervisor gave this machine's cores to others
    return {
        "cxscore": own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime,
        "stand-in": (int(parent[11]) + int(parent[12])) / tick,  # utime, stime
        "busy": (sum(machine) - idle - steal) / tick,
        "idle": idle / tick,
        "iowait": machine[4] / tick,
        "steal": steal / tick,
    }


def _cpu_split(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Core-seconds of a stretch of time: cxscore, the stand-in, PostgreSQL and the rest
    (busy minus the two), idle (of which waiting for the disk), and stolen by the
    hypervisor: a machine that slows down under the same code shows there (the reference
    workload counts CPU time, which neither waiting nor stolen time enters)."""
    d = {k: after[k] - before[k] for k in after}
    return {
        "cxscore": round(d["cxscore"], 1),
        "stand-in": round(d["stand-in"], 1),
        "postgres+rest": round(max(d["busy"] - d["cxscore"] - d["stand-in"], 0.0), 1),
        "idle": round(d["idle"], 1),
        "of which iowait": round(d["iowait"], 1),
        "steal": round(d["steal"], 1),
    }


def _run(environ: dict[str, str], url: str) -> None:
    """One ``cxscore run`` in this (child) process; prints its stages as one JSON line."""
    from cxscore.pipeline import StageTimes, run_pipeline
    from cxscore.settings import load_settings

    class Measured(StageTimes):
        def __init__(self) -> None:
            super().__init__()
            self.peak_mb: dict[str, float] = {}
            self.cpu: dict[str, dict[str, float]] = {}
            self.resets = True
            self._cpu_begin: dict[str, float] = {}

        def begin(self, name: str) -> None:
            self.resets = _reset_peak_rss() and self.resets
            self._cpu_begin = _cpu_now()

        def end(self, name: str) -> None:
            peak = own_peak_rss_mb()
            if name == "extract":  # the parallel sources run in child processes
                peak = max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
            if name == "dbt build":  # dbt runs in a child process (cxscore.dbt_process)
                from cxscore import dbt_process

                peak = max(peak, dbt_process.last_peak_rss_mb or 0.0)
            self.peak_mb[name] = round(peak)
            self.cpu[name] = _cpu_split(self._cpu_begin, _cpu_now())

    settings = load_settings(environ={**environ, "CX_WAREHOUSE__URL": url})
    stages = Measured()
    summary = run_pipeline(settings, run_id=f"bench-{time.time():.0f}", stages=stages)
    print(
        json.dumps(
            {
                "stages": summary["stages"],
                "peak_mb": stages.peak_mb,
                "cpu": stages.cpu,
                "peak_per_stage": stages.resets,
                "rows_loaded": summary["rows_loaded"],
                "sources": {k: v.get("seconds") for k, v in summary["sources"].items()},
                # the sentiment scoring pass of each source (part of its seconds above)
                "scoring": {
                    k: (v.get("sentiment") or {}).get("seconds")
                    for k, v in summary["sources"].items()
                    if v.get("sentiment")
                },
                "dbt": _dbt_times(settings),
            }
        )
    )


def _run_process(environ: dict[str, str], url: str, label: str) -> tuple[float, list[str]]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_scale", "--run", json.dumps(environ), url],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[1],
        check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode:
        raise RuntimeError(f"cxscore run ({label}) failed")
    result = json.loads(proc.stdout.splitlines()[-1])
    lines = [f"    {label} cxscore run  {seconds:7.1f} s  rows loaded {result['rows_loaded']:,}"]
    for name, stage_seconds in result["stages"].items():
        extra = f"  {result['dbt']}" if name == "dbt build" else ""
        if name == "extract":
            extra = (
                f"  per source (s): {result['sources']}, of which scoring the text (s): "
                f"{result.get('scoring')}"
            )
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in result["cpu"].get(name, {}).items())
        lines.append(
            f"    {label}   {name:16} {stage_seconds:7.1f} s  "
            f"peak RSS {result['peak_mb'].get(name, 0):5.0f} MB  CPU s: {cpu}{extra}"
        )
    if not result["peak_per_stage"]:
        lines.append("    (peak RSS: /proc/self/clear_refs not writable; peaks are cumulative)")
    return seconds, lines


class _Snapshot:
    """The warehouse database at ``url`` and the state folder as they are now, to restore
    (a copy of the database made from it as a template, and of the folder); the landing
    files are left as they are (the restored ledger loads the new ones again)."""

    def __init__(self, server: str, url: str, state: Path) -> None:
        self._server, self._name = server, urlsplit(url).path.lstrip("/")
        self._copy = f"{self._name}_before"
        self._state, self._state_copy = state, state.with_name(state.name + "_before")
        self._admin(f'create database "{self._copy}" template "{self._name}"')
        shutil.copytree(state, self._state_copy)

    def _admin(self, statement: str) -> None:
        # a run's server processes may still be ending: a template needs no session on it
        for attempt in range(30):
            conn = psycopg2.connect(self._server)
            conn.autocommit = True
            try:
                with conn.cursor() as cur:
                    cur.execute(statement)
                return
            except psycopg2.errors.ObjectInUse:
                if attempt == 29:
                    raise
                time.sleep(1.0)
            finally:
                conn.close()

    def restore(self) -> None:
        self._admin(f'drop database "{self._name}" with (force)')
        self._admin(f'create database "{self._name}" template "{self._copy}"')
        shutil.rmtree(self._state)
        shutil.copytree(self._state_copy, self._state)

    def drop(self) -> None:
        self._admin(f'drop database if exists "{self._copy}"')
        shutil.rmtree(self._state_copy, ignore_errors=True)


def main() -> list[str]:
    if os.environ.get("CX_BENCH_SCALE") != "1":
        return ["skipped (opt-in: CX_BENCH_SCALE=1; about 17 minutes on 2 cores)"]
    from cxscore.demo import _manifest_deliveries, deliver
    from cxscore.generate import generate_world
    from cxscore.standins.zendesk import start_stub
    from cxscore.warehouse import init_warehouse

    customers = int(os.environ.get("CX_BENCH_SCALE_CUSTOMERS", "100000"))
    days = int(os.environ.get("CX_BENCH_SCALE_DAYS", "90"))
    repeat = max(1, int(os.environ.get("CX_BENCH_SCALE_REPEAT", "3")))
    # a what-if: each survey record only in the first export holding it (_survey_repeats)
    distinct_surveys = os.environ.get("CX_BENCH_SCALE_SURVEYS", "") == "distinct"
    surveys_line = "survey exports as generated (each response in about 8 daily exports)"
    work = Path(tempfile.mkdtemp(prefix="cxbench-scale-"))
    try:
        started = time.perf_counter()
        world = work / "world"
        generate_world(world, days=days + 1, customers=customers, seed=7, increments=days + 1)
        generated = time.perf_counter() - started
        deliveries = _manifest_deliveries(world)
        landing = work / "landing"
        stub = start_stub(world, port=0, email=EMAIL, token=TOKEN, increment=days)
        try:
            with _pg.server() as server, _pg.scratch_database(server, "cxbench_scale") as url:
                init_warehouse(url)
                # the machine's speed, by a workload that is not cxscore's (runs on different
                # machines compare through it), before the runs and after them
                reference_before = _machine.reference(url)
                environ = {
                    "CX_LANDING_DIR": str(landing),
                    "CX_STATE_DIR": str(work / "state"),
                    "CX_IDENTITY__HASH_KEY": "bench-hmac-key",
                    "CX_SOURCES__ZENDESK__BASE_URL": stub.base_url,
                    "CX_SOURCES__ZENDESK__EMAIL": EMAIL,
                    "CX_SOURCES__ZENDESK__API_TOKEN": TOKEN,
                    "CX_SOURCES__ZENDESK__START_TIME": "2000-01-01T00:00:00Z",
                }
                for delivery in deliveries[:days]:
                    deliver(world, landing, delivery)
                if distinct_surveys:
                    kept, dropped = drop_repeated_survey_records(landing)
                    surveys_line = (
                        f"survey exports without repeats (CX_BENCH_SCALE_SURVEYS=distinct): "
                        f"{kept:,} records kept, {dropped:,} repeats dropped"
                    )
                first, first_lines = _run_process(environ, url, f"{days} days".ljust(12))
                for delivery in deliveries[days:]:
                    deliver(world, landing, delivery)
                if distinct_surveys:
                    drop_repeated_survey_records(landing)
                stub.set_increment(days + 1)
                # the one more day `repeat` times from the same 90-day state (the warehouse
                # and the state folder restored between runs): one run of it varied by a
                # quarter within an hour on the same machine (docs/performance.md), so
                # its figure is the median
                snapshot = _Snapshot(server, url, work / "state") if repeat > 1 else None
                more_runs: list[tuple[float, list[str]]] = []
                try:
                    for attempt in range(repeat):
                        if snapshot is not None and attempt:
                            snapshot.restore()
                        label = f"+1 day{f' ({attempt + 1})' if repeat > 1 else ''}"
                        more_runs.append(_run_process(environ, url, label.ljust(12)))
                finally:
                    if snapshot is not None:
                        snapshot.drop()
                more = statistics.median(seconds for seconds, _ in more_runs)
                more_lines = [line for _, lines in more_runs for line in lines]
                # the fixed cost of a run: the same again with nothing new
                label = "no new".ljust(12)
                idle, idle_lines = _run_process(environ, url, label)
                reference_after = _machine.reference(url)
        finally:
            stub.stop()
        return [
            f"world: {customers:,} customers x {days} days + 1 day, generated in "
            f"{generated:.0f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
            f"{_machine.describe(reference_before)} before the runs, "
            f"{reference_after['python_cpu_s']:.2f} and {reference_after['postgres_s']:.2f} s "
            "after",
            surveys_line,
            *first_lines,
            f"    empty warehouse to scorecard: {first:.0f} s (goal < 300 s)",
            *more_lines,
            f"    one more day: {more:.1f} s = {more / first:.1%} of the first run (goal < 10 %)"
            + (
                f"; the median of {repeat} runs from the same state: "
                + ", ".join(f"{seconds:.1f}" for seconds, _ in more_runs)
                + " s"
                if repeat > 1
                else ""
            ),
            *idle_lines,
            f"    nothing new (a run's fixed cost): {idle:.0f} s = {idle / first:.1%} "
            "of the first run",
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--run"]:
        _run(json.loads(sys.argv[2]), sys.argv[3])
    else:
        for line in main():
            print(line)
