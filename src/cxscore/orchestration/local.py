"""An isolated local Airflow (SQLite metadata, LocalExecutor) that runs the repository's DAGs:
what ``make demo``, the end-to-end tests and the orchestration benchmark use. Not used in a
deployment (docker-compose.yml configures Airflow itself)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cxscore.orchestration.connections import connection_json_for_url, zendesk_connection_json
from cxscore.orchestration.tasks import WAREHOUSE_POOL
from cxscore.paths import dags_dir


def airflow_env(
    home: Path,
    *,
    warehouse_url: str,
    zendesk: tuple[str, str, str] | None = None,
    landing: Path | None = None,
    state: Path | None = None,
    extra: Mapping[str, str] | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Environment for an isolated local Airflow (SQLite metadata under ``home``) that runs
    the repository's DAGs against ``warehouse_url`` (and the Zendesk API at
    ``zendesk = (base_url, email, token)``), with cxscore's landing and state directories
    (``CX_LANDING_DIR``, ``CX_STATE_DIR``) when given; ``extra`` adds settings."""
    env = dict(os.environ if base is None else base)
    for name in list(env):
        if name.startswith("AIRFLOW__") or name.startswith("AIRFLOW_CONN_"):
            del env[name]
    home = home.resolve()
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir()),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            # Cosmos keeps dbt's partial-parse state here between runs (not in a shared /tmp)
            "AIRFLOW__COSMOS__CACHE_DIR": str(home / "cosmos_cache"),
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",  # no calls home from a local run
            # Cosmos re-compresses ALL of the producer's XComs into a Variable on every push
            # (O(n^2), 4 s of a 16 s producer on the demo); with False the backup is written
            # once, by the producer's failure/retry callback (docs/operating.md).
            "AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
            "AIRFLOW_CONN_CX_WAREHOUSE": connection_json_for_url(warehouse_url),
            "NO_PROXY": "*",
            "no_proxy": "*",
        }
    )
    if zendesk is not None:
        env["AIRFLOW_CONN_ZENDESK_DEFAULT"] = zendesk_connection_json(*zendesk)
    for name, path in (("CX_LANDING_DIR", landing), ("CX_STATE_DIR", state)):
        if path is not None:
            env[name] = str(path)
    if extra:
        env.update(extra)
    return env


def airflow_bin() -> str:
    return shutil.which("airflow", path=str(Path(sys.executable).parent)) or "airflow"


def init_airflow_home(env: Mapping[str, str], *, pool_slots: int = 4) -> bool:
    """``airflow db migrate`` once (skipped when the SQLite DB exists) and the pool
    ``cx_warehouse``. Returns True when it migrated."""
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    marker = home / ".cxscore_initialised"
    if marker.exists() and (home / "airflow.db").exists():
        return False
    for cmd in (
        [airflow_bin(), "db", "migrate"],
        [
            airflow_bin(),
            "pools",
            "set",
            WAREHOUSE_POOL,
            str(pool_slots),
            "cxscore warehouse writers",
        ],
    ):
        proc = subprocess.run(cmd, env=dict(env), capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            from cxscore.errors import CxError

            raise CxError(
                f"`{' '.join(cmd[1:])}` failed (AIRFLOW_HOME={home}):\n{proc.stderr[-3000:]}"
            )
    marker.write_text("ok\n", encoding="utf-8")
    return True


def dags_test(
    dag_id: str,
    env: Mapping[str, str],
    *,
    logical_date: str | None = None,
    conf: Mapping[str, Any] | None = None,
    timeout: float = 1800,
) -> subprocess.CompletedProcess[str]:
    """``airflow dags test DAG_ID [DATE] [--conf JSON]`` in a subprocess; returns the result
    (returncode 0 only when every task succeeded)."""
    cmd = [airflow_bin(), "dags", "test", dag_id]
    if logical_date:
        cmd.append(logical_date)
    if conf:
        cmd += ["--conf", json.dumps(dict(conf))]
    return subprocess.run(
        cmd, env=dict(env), capture_output=True, text=True, check=False, timeout=timeout
    )
