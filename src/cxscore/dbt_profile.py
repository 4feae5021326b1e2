"""The project's one dbt profile. ``cxscore build`` writes it to
``<state_dir>/dbt/profiles.yml``; ``dbt parse`` (the manifest the DAG renders from) uses it
with placeholder fields; under Airflow, Cosmos renders the same schema and threads from the
``cx_warehouse`` connection (``cxscore.orchestration.dbt_cosmos``);
``dbt_project/profiles.example.yml`` is it written out (a test keeps them equal).

Every connection field comes from the environment (``cxscore.transform.dbt_env``): the
file holds no secret. Light at import time (the DAG files use the constants while parsing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

PROFILE_NAME = "cxscore"
TARGET_NAME = "prod"
PROFILE_SCHEMA = "marts"  # dbt's default schema; every model folder sets its own
PROFILE_THREADS = 4


def profile_dict(threads: int = PROFILE_THREADS) -> dict[str, Any]:
    """profiles.yml content: every connection field comes from the environment."""
    return {
        PROFILE_NAME: {
            "target": TARGET_NAME,
            "outputs": {
                TARGET_NAME: {
                    "type": "postgres",
                    "host": "{{ env_var('CX_DBT_HOST') }}",
                    "port": "{{ env_var('CX_DBT_PORT') | as_number }}",
                    "user": "{{ env_var('CX_DBT_USER') }}",
                    "password": "{{ env_var('DBT_ENV_SECRET_CX_DBT_PASSWORD', '') }}",
                    "dbname": "{{ env_var('CX_DBT_DBNAME') }}",
                    "schema": PROFILE_SCHEMA,
                    "threads": threads,
                    "connect_timeout": 30,
                    "application_name": "cxscore-dbt",
                }
            },
        }
    }


def write_profile_to(folder: Path, *, threads: int = PROFILE_THREADS) -> Path:
    """Write :func:`profile_dict` as ``folder/profiles.yml`` (only when it changed)."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "profiles.yml"
    text = yaml.safe_dump(profile_dict(threads), sort_keys=False)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return folder
