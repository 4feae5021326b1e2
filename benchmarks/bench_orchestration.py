"""Orchestration overhead: the Airflow-orchestrated scorecard DAG vs plain cxscore, same data.

Setup (not timed): a fresh warehouse database, a synthetic world
(``CX_BENCH_ORCH_CUSTOMERS``, default 1,000 customers x ``CX_BENCH_ORCH_DAYS``, default 30
days), loaded with ``extract_sources`` and raw-checked, an isolated AIRFLOW_HOME (SQLite).

Timed, each as a cold process, all with ``--full-refresh`` so each does the same dbt work:

1. ``cxscore build --full-refresh`` (the plain dbt build);
2. the same steps as the DAG in one plain process: gate query, ``build_models``,
   ``run_checks(stage="marts")``, ``write_report``;
3. ``airflow dags test cx_scorecard --conf '{"full_refresh": true}'``: the real DAG (gate,
   Cosmos watcher producer + one sensor task per dbt node, scorecard checks, publish).

Ratios: 3 / 2 (the orchestration overhead, goal <= 1.5x) and 3 / 1.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg2

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
EMAIL, TOKEN = "bench@example.com", "bench-token"

SAME_STEPS = """
import sys, time
from pathlib import Path
from cxscore.airflow_support import assert_raw_checks_passed
from cxscore.quality import run_checks
from cxscore.report import write_report
from cxscore.settings import load_settings
from cxscore.transform import build_models
settings = load_settings()
url = settings.warehouse.url
assert_raw_checks_passed(url)
build_models(settings, url=url, full_refresh=True)
run_checks(settings, stage="marts", url=url, run_id="bench-plain")
write_report(settings, Path(sys.argv[1]), url=url)
"""


def _server_url() -> str:
    return os.environ.get("CX_BENCH_PG_URL") or os.environ.get("CX_TEST_PG_URL") or DEFAULT_PG


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd[:4])} failed ({proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return seconds


def main() -> list[str]:
    from cxscore.airflow_support import airflow_env, ensure_dbt_manifest, init_airflow_home
    from cxscore.extract import extract_sources
    from cxscore.generate import generate_world
    from cxscore.quality import run_checks
    from cxscore.settings import load_settings
    from cxscore.sources.zendesk_api_stub import start_stub
    from cxscore.warehouse import init_warehouse

    customers = int(os.environ.get("CX_BENCH_ORCH_CUSTOMERS", "1000"))
    days = int(os.environ.get("CX_BENCH_ORCH_DAYS", "30"))
    server = _server_url()
    dbname = f"cxbench_orch_{uuid.uuid4().hex[:8]}"
    url = urlsplit(server)._replace(path="/" + dbname).geturl()
    tmp = Path(tempfile.mkdtemp(prefix="cxbench-orch-"))
    admin = psycopg2.connect(server)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'create database "{dbname}"')
    stub = None
    try:
        init_warehouse(url)
        world = tmp / "world"
        start = datetime.now(UTC).date() - timedelta(days=days)
        generate_world(
            world,
            days=days,
            customers=customers,
            seed=5,
            start=start,
            increments=1,
            progress=False,
        )
        stub = start_stub(world, port=0, email=EMAIL, token=TOKEN)
        env_settings = {
            "CX_WAREHOUSE__URL": url,
            "CX_LANDING_DIR": str(world / "landing"),
            "CX_STATE_DIR": str(tmp / "state"),
            "CX_SOURCES__ZENDESK__BASE_URL": stub.base_url,
            "CX_SOURCES__ZENDESK__EMAIL": EMAIL,
            "CX_SOURCES__ZENDESK__API_TOKEN": TOKEN,
            "CX_SOURCES__ZENDESK__START_TIME": (start - timedelta(days=30)).isoformat()
            + "T00:00:00Z",
        }
        settings = load_settings(environ=env_settings)
        loaded = extract_sources(settings, None, url=url, run_id="bench-load")
        raw = run_checks(settings, stage="raw", url=url, run_id="bench-raw")
        if raw.critical_failures:
            raise RuntimeError(f"raw checks failed critically:\n{raw.describe()}")
        ensure_dbt_manifest()
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
        plain_env = {**base_env, **env_settings}
        af_env = airflow_env(
            tmp / "airflow",
            warehouse_url=url,
            zendesk=(stub.base_url, EMAIL, TOKEN),
            extra={k: v for k, v in env_settings.items() if k != "CX_WAREHOUSE__URL"},
            base=base_env,
        )
        migrate_started = time.perf_counter()
        init_airflow_home(af_env)
        migrate = time.perf_counter() - migrate_started
        bin_dir = Path(sys.executable).parent
        # warm-up (not timed): the first dbt run creates the incremental tables
        _timed([str(bin_dir / "cxscore"), "build"], plain_env, tmp)
        build = _timed([str(bin_dir / "cxscore"), "build", "--full-refresh"], plain_env, tmp)
        same = _timed([sys.executable, "-c", SAME_STEPS, str(tmp / "plain.html")], plain_env, tmp)
        dag_cmd = [
            str(bin_dir / "airflow"),
            "dags",
            "test",
            "cx_scorecard",
            "--conf",
            json.dumps({"full_refresh": True, "report_path": str(tmp / "dag.html")}),
        ]
        # warm-up (not timed), like the plain build's: Cosmos caches dbt's partial parse
        _timed(dag_cmd, af_env, tmp)
        dag = _timed(dag_cmd, af_env, tmp)
        run_s, producer_s, sensors_s = _dag_run_times(tmp / "airflow" / "airflow.db")
        rows = _count(url, "select count(*) from marts.touchpoint_scorecard")
        return [
            f"world: {customers} customers x {days} days, {loaded.get('rows_loaded', 0)} raw "
            f"rows, {rows} scorecard rows",
            f"airflow db migrate + pool (once per AIRFLOW_HOME): {migrate:.1f} s",
            f"cxscore build --full-refresh: {build:.1f} s",
            f"same steps as the DAG, plain process: {same:.1f} s",
            f"airflow dags test cx_scorecard (full_refresh): {dag:.1f} s",
            f"  of which the DAG run itself (metadata DB, start to end): {run_s:.1f} s = "
            f"dbt producer {producer_s:.1f} s + {sensors_s:.1f} s for the other tasks; the "
            f"rest is the `airflow` CLI start and DAG parsing",
            f"overhead, cold processes: DAG / same steps = {dag / same:.2f}x (goal <= 1.5x); "
            f"DAG / cxscore build = {dag / build:.2f}x",
            f"overhead, DAG run vs same steps: {run_s / same:.2f}x",
        ]
    finally:
        if stub is not None:
            stub.stop()
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{dbname}" with (force)')
        admin.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _dag_run_times(db: Path) -> tuple[float, float, float]:
    """(dag run seconds, producer seconds, sum of the other tasks) of the last cx_scorecard
    run, from the SQLite metadata database."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(db)) as conn:
        run_id, run_s = conn.execute(
            "select run_id, (julianday(end_date) - julianday(start_date)) * 86400 "
            "from dag_run where dag_id = 'cx_scorecard' order by id desc limit 1"
        ).fetchone()
        tasks = conn.execute(
            "select task_id, (julianday(end_date) - julianday(start_date)) * 86400 "
            "from task_instance where dag_id = 'cx_scorecard' and run_id = ?",
            (run_id,),
        ).fetchall()
    producer = sum(d or 0 for t, d in tasks if t.endswith("dbt_producer_watcher"))
    others = sum(d or 0 for t, d in tasks if not t.endswith("dbt_producer_watcher"))
    return float(run_s), float(producer), float(others)


def _count(url: str, sql: str) -> Any:
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(sql)
        row = cur.fetchone()
        return row[0] if row else None


if __name__ == "__main__":
    for line in main():
        print(line)
