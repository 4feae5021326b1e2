"""Shared fixtures for the DAG tests: a dbt manifest and one probe of the DagBag.

The probe runs in a fresh interpreter (so that parse times are not flattered by modules a
previous test imported): it imports ``airflow.sdk`` (the shared cost every DAG file pays),
then fills a DagBag from ``dags/`` and reports, as JSON, the import errors, each file's
parse duration, the heavy modules the parse pulled in, and the DAG/task attributes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent(
    """
    import json, sys, time
    t0 = time.perf_counter()
    import pendulum  # noqa: F401
    # the shared cost of every DAG file: airflow.sdk and the names it loads lazily
    from airflow.sdk import (  # noqa: F401
        Asset, AssetOrTimeSchedule, CronTriggerTimetable, Param, TaskGroup, dag, task,
    )
    from airflow.dag_processing.dagbag import DagBag
    sdk_seconds = time.perf_counter() - t0
    bag = DagBag(dag_folder=sys.argv[1])
    out = {
        "sdk_seconds": sdk_seconds,
        "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
        "parse_seconds": {s.file.lstrip("/"): s.duration.total_seconds()
                          for s in bag.dagbag_stats},
        "heavy_modules": sorted(m for m in ("great_expectations", "dbt.cli.main",
                                 "cxscore.quality", "cxscore.extract", "cxscore.transform",
                                 "cxscore.report", "psycopg2", "pandas")
                                if m in sys.modules),
        "dags": {},
    }
    def cb_names(cb):
        cbs = cb if isinstance(cb, (list, tuple)) else [cb] if cb else []
        return [getattr(c, "__name__", repr(c)) for c in cbs]
    for dag_id, dag in bag.dags.items():
        tt = dag.timetable
        out["dags"][dag_id] = {
            "tags": sorted(dag.tags),
            "doc_md": dag.doc_md or "",
            "max_active_runs": dag.max_active_runs,
            "catchup": dag.catchup,
            "schedule": type(tt).__name__,
            "schedule_summary": str(getattr(tt, "expression", "")),
            "inner_timetable": type(getattr(tt, "timetable", None)).__name__,
            "asset_uris": sorted(getattr(a, "uri", "") for a in
                                 getattr(getattr(tt, "asset_condition", None), "objects", [])),
            "params": sorted(dag.params.keys()),
            "tasks": {
                t.task_id: {
                    "type": type(t).__name__,
                    "retries": t.retries,
                    "exponential": bool(t.retry_exponential_backoff),
                    "timeout": t.execution_timeout.total_seconds() if t.execution_timeout
                               else None,
                    "pool": t.pool,
                    "on_failure": cb_names(t.on_failure_callback),
                    "upstream": sorted(t.upstream_task_ids),
                    "downstream": sorted(t.downstream_task_ids),
                    "outlets": sorted(getattr(o, "uri", str(o)) for o in t.outlets),
                    "trigger_rule": str(t.trigger_rule),
                    "invocation_mode": str(getattr(t, "invocation_mode", None)),
                    "dbt_executable": getattr(t, "dbt_executable_path", None),
                    "callback": cb_names(getattr(t, "callback", None)),
                    "pre_execute": cb_names(getattr(t, "_pre_execute_hook", None)),
                    "runs_dbt": callable(getattr(t, "build_and_run_cmd", None)),
                    "dbt_cmd_flags": [str(f) for f in getattr(t, "dbt_cmd_flags", None) or []],
                }
                for t in dag.tasks
            },
        }
    print("PROBE" + json.dumps(out))
    """
)


def airflow_test_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "CX_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
    )
    return env


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """``dbt parse`` of dbt_project/ (what cx_scorecard renders from)."""
    from cxscore.paths import dbt_project_dir

    project = dbt_project_dir()
    from cxscore.orchestration.dbt_cosmos import ensure_dbt_manifest

    return ensure_dbt_manifest(project)


@pytest.fixture(scope="session")
def dagbag_probe(dbt_manifest: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("airflow_home")
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(REPO / "dags")],
        env=airflow_test_env(home),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=home,
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("PROBE")), None)
    assert line is not None, f"probe failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    result: dict[str, Any] = json.loads(line[len("PROBE") :])
    return result
