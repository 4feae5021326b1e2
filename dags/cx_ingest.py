"""cx_ingest: extract + load every configured source into the raw schema, then the raw checks.

Wiring only: each task resolves the Airflow connections at run time
(``cxscore.orchestration.connections.settings_from_connections``) and calls the same ``cxscore``
function as the CLI (``cxscore extract SOURCE``, ``cxscore check``). Module level imports
only ``airflow.sdk``, the standard library and cxscore's standard-library-only modules
(``cxscore.registry``, ``cxscore.orchestration.tasks``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Asset, TaskGroup, dag, task

from cxscore.orchestration.tasks import dag_policy, task_defaults
from cxscore.registry import RAW_TABLES, raw_asset_uri

RAW_ASSETS: dict[str, list[Asset]] = {
    source: [
        Asset(name=f"raw.{table}", uri=raw_asset_uri(table), group="cx_raw") for table in tables
    ]
    for source, tables in RAW_TABLES.items()
}

DOC = """
### cx_ingest: raw loads and raw checks (hourly)

One task group per source (`zendesk`, `amazon_connect`, `qualtrics`, `orders`), independent
of each other: one source's failed extract or check never stops the others.

1. `extract` loads new data into `raw.*`, driven by the loaders' own state
   (`meta.extract_state` cursors for the Zendesk API, `meta.loaded_files` for landing files):
   a re-run or a backfill of any date loads nothing twice. A source that is not configured
   is skipped (and so are its check and emit_assets).
2. `check` runs the GX suites of the source's raw tables on its new load batches (also after
   a failed extract: what did load is checked) and appends every result to
   `quality.check_results`. A critical failure quarantines the batch (`quality.gate`) and
   fails the task (no retries: the data would not change), alerts, and stops this source.
3. `emit_assets` emits the Asset events of the source's raw tables
   (`cxscore://cx_warehouse/raw.<table>`) only when its extract succeeded and its checks
   passed; they trigger `cx_scorecard`, whose gate refuses to build while any quarantine is
   open.

A run with a failed source ends failed (and alerted) after the other sources are published.
Connections: `cx_warehouse` (postgres), `zendesk_default` (http: host = base URL, login =
e-mail, password = API token). Pool: `cx_warehouse_writers`.
"""


@dag(
    dag_id="cx_ingest",
    schedule="@hourly",
    doc_md=DOC,
    **dag_policy("ingest"),
    default_args=task_defaults(retries=3, execution_timeout=timedelta(minutes=30)),
)
def cx_ingest() -> None:
    @task(task_id="extract")
    def extract(source: str) -> dict[str, Any]:
        """Extract + load one source, incrementally (`cxscore extract SOURCE`)."""
        from airflow.sdk import get_current_context
        from airflow.sdk.exceptions import AirflowSkipException

        from cxscore.extract import configured_sources, extract_source
        from cxscore.orchestration.connections import settings_from_connections
        from cxscore.warehouse import ensure_warehouse

        settings = settings_from_connections()
        if source not in configured_sources(settings):
            raise AirflowSkipException(f"source {source} is not configured")
        url = ensure_warehouse(settings)
        run_id = str(get_current_context()["run_id"])
        summary = extract_source(settings, source, url=url, run_id=run_id)
        keys = ("rows_read", "rows_loaded", "rows_rejected", "files", "pages")
        return {k: summary.get(k) for k in keys}

    @task(
        task_id="check",
        retries=0,
        execution_timeout=timedelta(minutes=30),
        trigger_rule="none_skipped",  # also after a failed extract: check what did load
    )
    def check(source: str) -> dict[str, Any]:
        """The source's raw GX suites (`cxscore check`); raises (no Asset events) while one of
        its batches is quarantined."""
        from airflow.sdk import get_current_context

        from cxscore.orchestration.tasks import check_source

        return check_source(source, str(get_current_context()["run_id"]))

    @task(task_id="emit_assets", retries=0, execution_timeout=timedelta(minutes=5))
    def emit_assets(source: str) -> str:
        """Emit the source's raw-table Asset events (reached only when the checks passed);
        they trigger cx_scorecard. (Publishing the scorecard to BI is cx_scorecard's
        ``publish``.)"""
        return f"{source}: raw table Asset events emitted"

    for source in RAW_TABLES:
        with TaskGroup(group_id=source, tooltip=f"extract + load + check {source}"):
            loaded = extract(source)
            checked = check(source)
            loaded >> checked
            [loaded, checked] >> emit_assets.override(outlets=RAW_ASSETS[source])(source)


cx_ingest()
