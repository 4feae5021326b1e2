"""What the DAG tasks share: the pool and retry defaults, the failure callback, the per-source
raw check task and the build lock of the scorecard tasks. Each task calls the same cxscore
function as the CLI; these are the Airflow-shaped wrappers around them.

Standard library only at import time (the DAG files import this module while parsing).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cxscore.orchestration.connections import settings_from_connections

if TYPE_CHECKING:
    from cxscore.settings import Settings

# the Airflow pool that bounds concurrent warehouse writers (not the connection cx_warehouse)
WAREHOUSE_POOL = "cx_warehouse_writers"


def dag_policy(theme: str) -> dict[str, Any]:
    """The ``@dag`` arguments every cxscore DAG shares: no catchup (history comes from the
    loaders' own state, never from backfilled runs), one active run at a time (runs write
    the same tables), the tags ``cxscore`` and the DAG's theme."""
    return {
        "start_date": datetime(2026, 1, 1, tzinfo=UTC),
        "catchup": False,
        "max_active_runs": 1,
        "tags": ["cxscore", theme],
    }


def alert_on_failure(context: Any) -> None:
    """``on_failure_callback`` of every task: hand over to cxscore.alerts (imported only
    when it fires)."""
    from cxscore.alerts import airflow_failure_callback

    airflow_failure_callback(context)


def task_defaults(
    *,
    retries: int,
    execution_timeout: timedelta,
    retry_delay: timedelta = timedelta(seconds=30),
) -> dict[str, Any]:
    """The ``default_args`` of every cxscore DAG: owner, the warehouse writers' pool, the
    failure alert, and retries with exponential backoff (at most 10 minutes apart)."""
    return {
        "owner": "cx-data",
        "pool": WAREHOUSE_POOL,
        "execution_timeout": execution_timeout,
        "on_failure_callback": alert_on_failure,
        "retries": retries,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
    }


def check_source(source: str, run_id: str) -> dict[str, Any]:
    """The ``check`` task of a source in cx_ingest: the gate for this source
    (:func:`cxscore.quality.gate.enforce_gate` with ``sources=[source]``). Raises
    QualityGateFailed (the source is not published) while one of its batches is
    quarantined."""
    from cxscore.quality.gate import enforce_gate
    from cxscore.warehouse import ensure_warehouse

    settings = settings_from_connections()
    return enforce_gate(settings, url=ensure_warehouse(settings), run_id=run_id, sources=[source])


def build_lock(settings: Settings, url: str, purpose: str) -> Any:
    """The build lock as a context manager, for the scorecard check and publish tasks."""
    from cxscore.locks import BUILD_LOCK, held

    return held(
        url,
        BUILD_LOCK,
        wait_seconds=settings.scorecard.build_lock_wait_seconds,
        setting="scorecard.build_lock_wait_seconds",
        purpose=purpose,
    )
