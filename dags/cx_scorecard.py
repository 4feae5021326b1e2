"""cx_scorecard: gate on the raw checks, dbt build (one Airflow task per dbt node, via
astronomer-cosmos), scorecard checks, publish.

Wiring only. The dbt graph is rendered from ``dbt_project/target/manifest.json`` (written by
``dbt parse``; a build artefact, not committed) with ``LoadMode.DBT_MANIFEST``: parsing this
file never runs dbt. ``ExecutionMode.WATCHER`` runs ONE ``dbt build`` (a dbt subprocess) in
the producer task; every model/seed/test task is a sensor that turns green or red as dbt
finishes that node, so the overhead over a plain ``cxscore build`` stays small. Cosmos is
the only heavy import (measured in tests/dags); the cxscore pieces are imported inside the
tasks.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode

from cxscore.orchestration.dbt_cosmos import (
    alert_dbt_tests_after_build,
    cx_warehouse_profile_mapping,
    dbt_executable,
    dbt_manifest_path,
    dbt_runtime_settings,
    order_fallback_tests,
)
from cxscore.orchestration.tasks import WAREHOUSE_POOL, dag_policy, task_defaults
from cxscore.paths import dbt_project_dir
from cxscore.registry import RAW_TABLES, raw_asset_uri

MANIFEST = dbt_manifest_path()
if not MANIFEST.exists():
    raise FileNotFoundError(
        f"{MANIFEST} is missing: cx_scorecard renders its dbt tasks from the manifest. Run "
        "`.venv/bin/dbt parse --project-dir dbt_project --profiles-dir <any profiles dir>` "
        "(or `python -c 'from cxscore.orchestration.dbt_cosmos import ensure_dbt_manifest; "
        "ensure_dbt_manifest()'`) when deploying or after changing the dbt project."
    )

RAW_ASSETS = [
    Asset(name=f"raw.{table}", uri=raw_asset_uri(table), group="cx_raw")
    # a table several sources write (the sentiment scores) is one asset
    for table in dict.fromkeys(t for tables in RAW_TABLES.values() for t in tables)
]
ANY_RAW_ASSET = RAW_ASSETS[0]
for _asset in RAW_ASSETS[1:]:
    ANY_RAW_ASSET = ANY_RAW_ASSET | _asset  # type: ignore[assignment]


DOC = """
### cx_scorecard: dbt build of the touchpoint scorecard (on new raw data, and daily)

Scheduled on the raw Assets that `cx_ingest` publishes after its raw checks pass
(`cxscore://cx_warehouse/raw.<table>`, any of them), and daily at 05:00 UTC
(`AssetOrTimeSchedule`).

1. `raw_checks_gate`: the quality gate (`cxscore quality status`): fails (no retries) while
   any load batch is quarantined (`quality.gate`), so neither the asset trigger, the daily
   schedule, a backfill nor a re-run builds on data that failed its checks; batches that
   were never checked are checked first.
2. `dbt`: the dbt project rendered from `dbt_project/target/manifest.json` by Cosmos, built
   into the internal schema `marts_build`;
   `dbt_producer_watcher` runs one `dbt build` (a dbt subprocess), each model/test task shows
   its node's result; dbt tests that start failing or recover (warnings included) are
   alerted after the build. Param `full_refresh=true` rebuilds the incremental models and
   marts from scratch.
3. `scorecard_checks`: the GX suites on the build (results in `quality.check_results`); a
   critical failure fails the task and nothing is published.
4. `publish`: copies the checked build to `marts` (what BI reads) in one transaction,
   records it in `meta.published_builds`, and writes the static report (param
   `report_path`, default `<state_dir>/reports/scorecard.html`).
5. `notify_owners`: on the published build only, a metric row of the latest complete
   period (at its `alert_grain`) that turned red or recovered alerts its owner once, and the
   hourly signals (negative interactions, phone first response in the last complete peak
   hour) go to their owners once (`cxscore signals`; docs/signals.md). This DAG runs after
   every `cx_ingest` (its Assets), so these are the hourly signals "after each ingest".
6. `create_followups` (next to 5, after publish): closed-loop follow-up tickets in Zendesk
   for the due follow-ups, exactly once (`cxscore followup`; opt-in `closed_loop.enabled`).

Connection `cx_warehouse` (postgres). Pool `cx_warehouse_writers`.
"""


@dag(
    dag_id="cx_scorecard",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 5 * * *", timezone="UTC"), assets=ANY_RAW_ASSET
    ),
    doc_md=DOC,
    **dag_policy("scorecard"),
    params={
        "full_refresh": Param(False, type="boolean", description="rebuild the marts"),
        "report_path": Param(
            None, type=["null", "string"], description="where publish writes the HTML report"
        ),
    },
    default_args=task_defaults(retries=2, execution_timeout=timedelta(minutes=30)),
)
def cx_scorecard() -> None:
    @task(retries=0, execution_timeout=timedelta(minutes=30))
    def raw_checks_gate() -> dict[str, Any]:
        """Stop while any load batch is quarantined (the one gate of cxscore.quality.gate)."""
        from airflow.sdk import get_current_context

        from cxscore.orchestration.connections import settings_from_connections
        from cxscore.quality.gate import enforce_gate
        from cxscore.warehouse import ensure_warehouse

        settings = settings_from_connections()
        run_id = str(get_current_context()["run_id"])
        return enforce_gate(settings, url=ensure_warehouse(settings), run_id=run_id)

    project = ProjectConfig(
        dbt_project_path=dbt_project_dir(), manifest_path=MANIFEST, install_dbt_deps=False
    )
    # Cosmos wraps a manifest path in ObjectStoragePath, whose first use loads every Airflow
    # plugin (~1.7 s of parse time). The manifest is a local file: read it as one.
    project.manifest_path = MANIFEST
    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=project,
        profile_config=ProfileConfig(
            profile_name="cxscore",
            target_name="airflow",
            profile_mapping=cx_warehouse_profile_mapping(),
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER,
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=dbt_executable(),
        ),
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, emit_datasets=False),
        operator_args={
            "full_refresh": "{{ params.full_refresh }}",
            "install_deps": False,
            "pool": WAREHOUSE_POOL,
            "execution_timeout": timedelta(minutes=60),
            "pre_execute": dbt_runtime_settings,
            "poke_interval": 2,
            # what `cxscore build` runs: seeds, models, data tests; unit tests run in CI only.
            # As dbt's variable, not a flag: `dbt build` and `dbt test` read it, while `dbt run`
            # and `dbt seed` (a node task's fallback when the producer was lost) have no such
            # option and failed on the flag (usage error, exit 2).
            "env": {"DBT_EXCLUDE_RESOURCE_TYPES": "unit_test"},
        },
    )

    @task(retries=0, execution_timeout=timedelta(minutes=30))
    def scorecard_checks() -> dict[str, Any]:
        """GX suites on the build in marts_build (`cxscore check --stage marts`); a critical
        failure raises: nothing is published."""
        from airflow.sdk import get_current_context

        from cxscore.orchestration.connections import settings_from_connections
        from cxscore.orchestration.tasks import build_lock
        from cxscore.pipeline import check_scorecard
        from cxscore.warehouse import ensure_warehouse

        settings = settings_from_connections()
        url = ensure_warehouse(settings)
        run_id = str(get_current_context()["run_id"])
        with build_lock(settings, url, f"dag {run_id} scorecard checks"):
            outcome = check_scorecard(settings, url=url, run_id=run_id)
        print(outcome.describe())
        return dict(outcome.summary())

    @task(execution_timeout=timedelta(minutes=10))
    def publish() -> dict[str, Any]:
        """Publish the checked build to marts, then write the static scorecard page."""
        from pathlib import Path

        from airflow.sdk import get_current_context

        from cxscore.orchestration.connections import settings_from_connections
        from cxscore.orchestration.tasks import build_lock
        from cxscore.pipeline import publish_scorecard
        from cxscore.report import write_report
        from cxscore.warehouse import ensure_warehouse

        settings = settings_from_connections()
        url = ensure_warehouse(settings)
        context = get_current_context()
        run_id = str(context["run_id"])
        with build_lock(settings, url, f"dag {run_id} publish"):
            published = publish_scorecard(url, run_id=run_id)
        params = context["params"]
        out = Path(params.get("report_path") or Path(settings.state_dir) / "reports")
        if out.suffix != ".html":
            out = out / "scorecard.html"
        summary = write_report(settings, out, url=url)
        return {
            "published_rows": sum(published["relations"].values()),
            **{k: v for k, v in summary.items() if isinstance(v, (str, int, float))},
        }

    # The per-node sensors start once the producer's single `dbt build` has finished and read
    # each node's result from XCom (green/red per model and test). Starting them alongside
    # the producer would only add live progress, and deadlocks `airflow dags test`, which
    # runs one task at a time. They also run when the producer was skipped ("none_failed";
    # Cosmos' own DbtDag wiring uses "always"): Cosmos skips a retried producer (one dbt
    # build per run), and the sensors then fall back to running their own node (`dbt run` /
    # `dbt test --select`). With the default rule the skip cascaded to every task, and a
    # failed dbt build (a failing data test included) ended the run "successful" without
    # building anything.
    producer = dbt.children["dbt.dbt_producer_watcher"]
    # after the build (failed or not): alert dbt tests that started failing or recovered,
    # as `cxscore build` does (warn-level failures do not fail any task)
    producer.callback = alert_dbt_tests_after_build
    for root in dbt.get_roots():
        if root is not producer:
            producer >> root
            root.trigger_rule = "none_failed"
    # A lost producer leaves each node task to build or test its own node: a test task then
    # also waits for the other parents of the tests its `dbt test --select <model>` picks
    # (relationships to a dimension or another fact), as `dbt build` would have ordered them.
    order_fallback_tests(dbt)

    @task(execution_timeout=timedelta(minutes=10))
    def notify_owners() -> dict[str, Any]:
        """Owner status alerts and hourly signals on the build just published
        (`cxscore signals`); each goes out once (state in meta)."""
        from airflow.sdk import get_current_context

        from cxscore.orchestration.connections import settings_from_connections
        from cxscore.signals import notify_owners as notify
        from cxscore.warehouse import ensure_warehouse

        settings = settings_from_connections()
        run_id = str(get_current_context()["run_id"])
        summary = notify(settings, url=ensure_warehouse(settings), run_id=run_id)
        status = summary["status_alerts"]
        return {
            "turned_red": status["turned_red"],
            "recovered": status["recovered"],
            "status_messages": status["messages"],
            "hourly": str(summary["hourly_signals"])[:500],
        }

    @task(execution_timeout=timedelta(minutes=20))
    def create_followups() -> dict[str, Any]:
        """Closed-loop follow-up tickets for the due follow-ups of the build just published
        (`cxscore followup`; nothing when closed_loop.enabled is false); exactly once
        (ledger meta.followups)."""
        from airflow.sdk import get_current_context

        from cxscore.orchestration.connections import settings_from_connections
        from cxscore.signals.followup import run_followups
        from cxscore.warehouse import ensure_warehouse

        settings = settings_from_connections()
        run_id = str(get_current_context()["run_id"])
        summary = run_followups(settings, url=ensure_warehouse(settings), run_id=run_id)
        return {k: v for k, v in summary.items() if k != "would_create"}

    published = publish()
    raw_checks_gate() >> dbt >> scorecard_checks() >> published
    published >> [notify_owners(), create_followups()]


cx_scorecard()
