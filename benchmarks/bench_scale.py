"""Landing to scorecard at scale (issue 15): wall time and peak memory per stage.

Opt-in (it takes many minutes): ``CX_BENCH_SCALE=1``. Generates a synthetic world of
``CX_BENCH_SCALE_CUSTOMERS`` (default 100,000, about 1 M contacts) over
``CX_BENCH_SCALE_DAYS`` (default 90) days plus one more day, in daily deliveries; serves
its Zendesk part on the local stand-in; then, from an empty warehouse, runs the stages of
``cxscore run`` (extract all, raw checks, dbt build, marts checks) each in its own process
(peak RSS per stage: the larger of the stage process's own ``VmHWM`` and its children's
``ru_maxrss``: the extract's parallel sources are child processes). Then the one more day is
delivered and the same stages run again. Goals: the first run under 5 minutes on 2
cores; the one more day under 10 % of it.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import _pg
from benchmarks._rss import own_peak_rss_mb

STAGES = ("extract", "raw checks", "dbt build", "marts checks")
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


def _stage(name: str, environ: dict[str, str], url: str) -> None:
    """One stage in this (child) process, as ``cxscore run`` does it."""
    from cxscore.settings import load_settings

    settings = load_settings(environ=environ)
    if name == "extract":
        from cxscore.extract import extract_sources

        summary = extract_sources(settings, None, url=url)
        result: dict[str, Any] = {"rows_loaded": summary["rows_loaded"]}
    elif name in ("raw checks", "marts checks"):
        from cxscore.quality import run_checks

        outcome = run_checks(
            settings, stage=name.split()[0], url=url, run_id=f"bench-{time.time()}", alert=False
        )
        result = {"critical": len(outcome.critical_failures)}
    else:
        from cxscore.transform import build_models

        built = build_models(settings, url=url, alert=False)
        result = {"models": built["models"], **_dbt_times(settings)}
    # the extract's sources run in processes of their own (load.parallel_sources): their
    # peaks are the children's (fresh interpreters started from this small process)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({**result, "peak_rss_mb": max(own_peak_rss_mb(), children)}))


def _run_stage(name: str, environ: dict[str, str], url: str) -> tuple[float, float, Any]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_scale", "--stage", name, json.dumps(environ), url],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[1],
    )
    out, _ = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"stage {name} failed")
    result = json.loads(out.splitlines()[-1])
    return time.perf_counter() - started, result.pop("peak_rss_mb"), result


def _run(environ: dict[str, str], url: str, label: str) -> tuple[float, list[str]]:
    total = 0.0
    lines = []
    for name in STAGES:
        seconds, rss, result = _run_stage(name, environ, url)
        total += seconds
        lines.append(f"    {label} {name:13} {seconds:7.1f} s  peak RSS {rss:6.0f} MB  {result}")
    return total, lines


def main() -> list[str]:
    if os.environ.get("CX_BENCH_SCALE") != "1":
        return ["skipped (opt-in: CX_BENCH_SCALE=1; about 15 minutes on 2 cores)"]
    from cxscore.demo import _manifest_deliveries, deliver
    from cxscore.generate import generate_world
    from cxscore.standins.zendesk import start_stub
    from cxscore.warehouse import init_warehouse

    customers = int(os.environ.get("CX_BENCH_SCALE_CUSTOMERS", "100000"))
    days = int(os.environ.get("CX_BENCH_SCALE_DAYS", "90"))
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
                first, first_lines = _run(environ, url, f"{days} days")
                for delivery in deliveries[days:]:
                    deliver(world, landing, delivery)
                stub.set_increment(days + 1)
                more, more_lines = _run(environ, url, "+1 day".ljust(len(f"{days} days")))
        finally:
            stub.stop()
        return [
            f"world: {customers:,} customers x {days} days + 1 day, generated in "
            f"{generated:.0f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
            *first_lines,
            f"    empty warehouse to scorecard: {first:.0f} s (goal < 300 s)",
            *more_lines,
            f"    one more day: {more:.0f} s = {more / first:.1%} of the first run (goal < 10 %)",
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--stage"]:
        _stage(sys.argv[2], json.loads(sys.argv[3]), sys.argv[4])
    else:
        for line in main():
            print(line)
