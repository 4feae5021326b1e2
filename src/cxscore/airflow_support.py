"""Glue between Airflow and cxscore: connections -> Settings, the raw-table Assets, the dbt
profile for Cosmos, the per-source check task, and an isolated Airflow environment for the demo,
the tests and the benchmark.

Everything here is light at import time (stdlib only): the DAG files import this module
while the DAG processor parses them. Airflow, cosmos, psycopg2 and the cxscore pipeline are
imported inside the functions that need them, i.e. at task run time.

Connections (resolved at run time, inside tasks; ``AIRFLOW_CONN_*`` env vars work):

- ``cx_warehouse`` (postgres): host (or a Unix-socket directory), port, login, password,
  schema = the database name. Missing -> the cxscore settings decide (``CX_WAREHOUSE__URL``
  or the embedded server).
- ``zendesk_default`` (http): host = the base URL (``https://acme.zendesk.com``), login =
  the agent e-mail, password = the API token. Missing -> ``sources.zendesk`` settings.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from cxscore.settings import Settings

log = logging.getLogger(__name__)

WAREHOUSE_CONN_ID = "cx_warehouse"
ZENDESK_CONN_ID = "zendesk_default"
POOL = "cx_warehouse"
REPO_ROOT = Path(__file__).resolve().parents[2]

# source -> raw tables it loads (the Asset outlets of its task group in cx_ingest)
RAW_TABLES: dict[str, tuple[str, ...]] = {
    "zendesk": (
        "zendesk__tickets",
        "zendesk__ticket_metric_sets",
        "zendesk__users",
        "zendesk__ticket_comments",
        "sentiment__message_scores",
    ),
    "amazon_connect": (
        "amazon_connect__contact_records",
        "amazon_connect__contact_lens",
        "sentiment__message_scores",
    ),
    "qualtrics": ("qualtrics__responses", "sentiment__message_scores"),
    "orders": ("crm__orders",),
}
ASSET_SCHEME = "cxscore"


def raw_asset_uri(table: str) -> str:
    """``cxscore://cx_warehouse/raw.<table>``: scheme cxscore, host = the Airflow connection
    of the warehouse, path = the schema-qualified table. A logical name, stable across
    deployments (the physical host lives in the connection)."""
    return f"{ASSET_SCHEME}://{WAREHOUSE_CONN_ID}/raw.{table}"


# --------------------------------------------------------------------------- connections


def _get_connection(conn_id: str) -> Any | None:
    """The Airflow connection, or None when it is not defined anywhere."""
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception as exc:  # AirflowNotFoundException moved between versions
        if type(exc).__name__ not in {"AirflowNotFoundException", "AirflowException"}:
            raise
        log.info("Airflow connection %s is not defined (%s); using cxscore settings", conn_id, exc)
        return None


def url_from_connection(conn: Any) -> str:
    """A postgresql:// URL from a postgres connection (host may be a Unix-socket directory)."""
    user = quote(conn.login or "postgres", safe="")
    password = conn.password or ""
    auth = f"{user}:{quote(password, safe='')}@" if password else f"{user}@"
    dbname = quote(conn.schema or "postgres", safe="")
    port = conn.port or 5432
    host = conn.host or "localhost"
    if host.startswith("/"):
        return f"postgresql://{auth}/{dbname}?host={quote(host, safe='/')}&port={port}"
    return f"postgresql://{auth}{host}:{port}/{dbname}"


def connection_json_for_url(url: str) -> str:
    """The ``AIRFLOW_CONN_CX_WAREHOUSE`` value (JSON form) for a postgresql:// URL."""
    from cxscore.warehouse import url_components

    parts = url_components(url)
    return json.dumps(
        {
            "conn_type": "postgres",
            "host": parts["host"],
            "port": parts["port"],
            "login": parts["user"],
            "password": parts["password"],
            "schema": parts["dbname"],
        }
    )


def zendesk_connection_json(base_url: str, email: str, token: str) -> str:
    """The ``AIRFLOW_CONN_ZENDESK_DEFAULT`` value (JSON form)."""
    return json.dumps({"conn_type": "http", "host": base_url, "login": email, "password": token})


def _zendesk_base_url(conn: Any) -> str | None:
    host = (conn.host or "").rstrip("/")
    if not host:
        return None
    if "://" in host:
        return str(host)
    scheme = conn.schema or "https"
    return f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")


def settings_from_connections(
    settings: Settings | None = None,
    *,
    warehouse_conn_id: str = WAREHOUSE_CONN_ID,
    zendesk_conn_id: str = ZENDESK_CONN_ID,
) -> Settings:
    """The cxscore settings (file + CX_* env) overlaid with the Airflow connections."""
    from pydantic import SecretStr

    from cxscore.redaction import mask_in_airflow, settings_secrets
    from cxscore.settings import load_settings

    settings = settings if settings is not None else load_settings()
    wh = _get_connection(warehouse_conn_id)
    if wh is not None:
        warehouse = settings.warehouse.model_copy(update={"url": url_from_connection(wh)})
        settings = settings.model_copy(update={"warehouse": warehouse})
    zd = _get_connection(zendesk_conn_id)
    if zd is not None:
        update: dict[str, Any] = {}
        base_url = _zendesk_base_url(zd)
        if base_url:
            update["base_url"] = base_url
        if zd.login:
            update["email"] = zd.login
        if zd.password:
            update["api_token"] = SecretStr(zd.password)
        zendesk = settings.sources.zendesk.model_copy(update=update)
        sources = settings.sources.model_copy(update={"zendesk": zendesk})
        settings = settings.model_copy(update={"sources": sources})
    # every task starts here: its log and rendered fields hide every secret from now on
    mask_in_airflow(settings_secrets(settings))
    return settings


# --------------------------------------------------------------------------- raw checks


def check_source(source: str, run_id: str) -> dict[str, Any]:
    """The ``check`` task of a source in cx_ingest: the raw suites of the source's tables
    (new batches, and its quarantined ones again), then the gate for this source. Raises
    QualityGateFailed (the source is not published) while one of its batches is
    quarantined; other sources are not concerned."""
    from cxscore.errors import QualityGateFailed
    from cxscore.quality.gate import run_raw_checks
    from cxscore.warehouse import ensure_warehouse

    settings = settings_from_connections()
    url = ensure_warehouse(settings)
    outcome, gate = run_raw_checks(settings, url=url, run_id=run_id, sources=[source])
    print(outcome.describe())
    held = gate.for_sources([source])
    if outcome.critical_failures or held.is_open:
        raise QualityGateFailed(
            f"{source}: critical raw check(s) failed in run {run_id}; its raw Assets are not "
            f"published and the scorecard is not rebuilt.\n{held.describe()}"
        )
    return {**outcome.summary(), "gate_open_elsewhere": gate.is_open}


# --------------------------------------------------------------------------- dbt via Cosmos


def dbt_project_dir() -> Path:
    """The dbt project (``CXSCORE_DBT_PROJECT_DIR`` overrides, for images that move it)."""
    return Path(os.environ.get("CXSCORE_DBT_PROJECT_DIR") or REPO_ROOT / "dbt_project")


def dbt_executable() -> str:
    """The dbt CLI the watcher producer and ``dbt parse`` run: ``CXSCORE_DBT_EXECUTABLE``,
    else the one next to this Python (the project's virtualenv), else ``dbt`` on PATH."""
    override = os.environ.get("CXSCORE_DBT_EXECUTABLE")
    if override:
        return override
    return shutil.which("dbt", path=str(Path(sys.executable).parent)) or "dbt"


def dbt_manifest_path() -> Path:
    return dbt_project_dir() / "target" / "manifest.json"


def cx_warehouse_profile_mapping(conn_id: str = WAREHOUSE_CONN_ID) -> Any:
    """A Cosmos profile mapping for the ``cx_warehouse`` connection that, unlike the stock
    Postgres mapping, accepts an empty password (trust / peer auth, Unix sockets)."""
    from cosmos.profiles.postgres.user_pass import PostgresUserPasswordProfileMapping

    class CxWarehouseProfileMapping(PostgresUserPasswordProfileMapping):
        required_fields = ["host", "user", "dbname"]  # noqa: RUF012 - Cosmos API shape
        secret_fields = ["password"]  # noqa: RUF012

        def get_dbt_value(self, name: str) -> Any:
            value = super().get_dbt_value(name)
            if name == "password" and value is None:
                return ""
            return value

    return CxWarehouseProfileMapping(
        conn_id=conn_id, profile_args={"schema": "marts", "threads": 4}
    )


def apply_dbt_runtime_settings(operator: Any) -> dict[str, str]:
    """Give a Cosmos dbt operator what ``cxscore build`` gives dbt, resolved now from the
    cxscore settings and the connections: the dbt vars (``operator.vars``), and returns the
    environment dbt needs (the HMAC pads for the PII hashes, PGOPTIONS). That environment
    carries key material, so it never goes into ``operator.env``: Airflow stores template
    fields (``env`` is one) as rendered fields in its metadata and shows them in the UI.
    :func:`dbt_runtime_settings` puts it in the task process' environment while dbt runs
    (Cosmos' local operators pass that environment on to dbt), and every value is registered
    with Airflow's secrets masker. The warehouse itself comes from the cx_warehouse
    connection through Cosmos' profile."""
    from cxscore.redaction import mask_in_airflow
    from cxscore.transform import dbt_env, dbt_vars
    from cxscore.warehouse import ensure_warehouse

    settings = settings_from_connections()
    url = ensure_warehouse(settings)
    operator.vars = {**dbt_vars(settings), **(operator.vars or {})}
    # CX_DBT_* feed cxscore's own profiles.yml; Cosmos renders its profile from the
    # connection, and CX_* names left in the environment would be read back as settings.
    env = {k: v for k, v in dbt_env(settings, url).items() if not k.startswith("CX_")}
    mask_in_airflow(
        v for k, v in env.items() if k.startswith("DBT_ENV_SECRET_") or k == "PGOPTIONS"
    )
    return env


def dbt_runtime_settings(context: Any) -> None:
    """``pre_execute`` of every task of the dbt group: when the task runs dbt (the producer
    always; a node task only when it falls back to building its own node, after a producer
    retry), the settings are resolved then, in its ``build_and_run_cmd``, and the secret
    environment exists only for the duration of that dbt run. The common path of a node
    task, which only reads its node's result, loads no settings."""
    from cxscore.transform import patched_environ

    operator = context["task"]
    if operator.task_id.endswith("dbt_producer_watcher"):
        # one writer of marts_build at a time: released by the post-build callback
        hold_build_lock(PRODUCER_LOCK_KEY, f"dag {context.get('run_id')} dbt build")
    run = getattr(operator, "build_and_run_cmd", None)
    if run is None or getattr(run, "_cx_runtime_settings", False):
        return

    def build_and_run_cmd(*args: Any, **kwargs: Any) -> Any:
        env = apply_dbt_runtime_settings(operator)
        with patched_environ(env):
            return run(*args, **kwargs)

    build_and_run_cmd._cx_runtime_settings = True  # type: ignore[attr-defined]
    operator.build_and_run_cmd = build_and_run_cmd


def order_fallback_tests(group: Any) -> dict[str, list[str]]:
    """Wire each dbt test task of a Cosmos watcher ``DbtTaskGroup`` after every node its
    fallback tests, as ``dbt build`` orders them. Returns {test task: tests it excludes}.

    When the producer's ``dbt build`` is lost (its worker died; a retried producer is
    skipped), every node task falls back to its own dbt call, in the order of the Airflow
    graph: ``dbt run --select <model>``, ``dbt test --select <model>``. That ``dbt test``
    selects every test touching the model (dbt's eager indirect selection), those with a
    second parent included (``relationships`` to a dimension, or from another fact), while
    Cosmos orders the test task only after its own model: it ran, and failed, against a
    parent not rebuilt yet (make compose-test, kill run: fct_interactions.test checked
    customer ids against a dim_customers the lost build had not reached). So the test task
    also waits for the task that builds each other parent; where that would be a cycle (the
    other parent is built downstream of this test task: fct_orders' test on
    fct_interactions), the test is excluded from this task's fallback and runs in the
    other parent's test task, which waits for both. The producer's path is unchanged but
    for the order in which the sensors read their results."""
    nodes = group.dbt_graph.filtered_nodes
    tasks = group.tasks_map

    def children(entry: Any) -> list[Any]:
        return list(getattr(entry, "children", {}).values())

    def built_by(entry: Any) -> Any:
        kids = [t for t in children(entry) if not t.task_id.endswith(".test")]
        return kids[0] if kids else entry if not children(entry) else None

    def downstream_of(task: Any) -> set[str]:
        seen: set[str] = set()
        todo = list(task.downstream_list)
        while todo:
            t = todo.pop()
            if t.task_id not in seen:
                seen.add(t.task_id)
                todo.extend(t.downstream_list)
        return seen

    tests = [n for n in nodes.values() if str(getattr(n.resource_type, "value", "")) == "test"]
    excluded: dict[str, list[str]] = {}
    for unique_id, entry in tasks.items():
        test_task = next((t for t in children(entry) if t.task_id.endswith(".test")), None)
        if test_task is None:
            continue
        for test in tests:
            if unique_id not in test.depends_on:
                continue
            for parent in test.depends_on:
                builder = built_by(tasks[parent]) if parent in tasks else None
                if parent == unique_id or builder is None:
                    continue
                if test_task.task_id in downstream_of(builder):
                    continue  # already after it
                if builder.task_id in downstream_of(test_task):
                    excluded.setdefault(test_task.task_id, []).append(test.unique_id)
                    break
                builder >> test_task
        names = [u.split(".")[2] for u in excluded.get(test_task.task_id, [])]
        if names:
            test_task.dbt_cmd_flags = [*(test_task.dbt_cmd_flags or []), "--exclude", *names]
    return excluded


PRODUCER_LOCK_KEY = "cx_scorecard.dbt_producer_watcher"


def hold_build_lock(key: str, purpose: str) -> None:
    """Take the warehouse build lock (cxscore.locks) for a task that cannot hold it in a
    ``with`` block: the dbt producer takes it before its ``dbt build`` and releases it in
    its post-build callback (:func:`alert_dbt_tests_after_build`); a worker's task process
    that dies releases it with its connection."""
    from cxscore.locks import hold_for_task
    from cxscore.warehouse import ensure_warehouse

    settings = settings_from_connections()
    hold_for_task(
        ensure_warehouse(settings),
        key,
        wait_seconds=settings.scorecard.build_lock_wait_seconds,
        purpose=purpose,
    )


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


def alert_dbt_tests_after_build(project_dir: str, context: Any = None, **_: Any) -> None:
    """Cosmos ``callback`` of the watcher producer (run after its ``dbt build``, also when
    the build failed): the dbt tests that started failing or recovered are alerted exactly
    as ``cxscore build`` alerts them (same channels, same start/recover rule), from the
    ``run_results.json`` the build left in Cosmos' temporary copy of the project. Warn-level
    test failures do not fail the task, so without this nobody would hear of them on the
    scheduled path. Releases the build lock the producer took. Never raises: alerting must
    not change the build's outcome."""
    from cxscore.locks import release_for_task

    release_for_task(PRODUCER_LOCK_KEY)
    try:
        from cxscore.transform import alert_test_failures, summarise_run_results
        from cxscore.warehouse import ensure_warehouse

        summary = summarise_run_results(Path(project_dir) / "target")
        if not summary["tested"]:
            return
        settings = settings_from_connections()
        run_id = str(context["run_id"]) if context and "run_id" in context else None
        alert_test_failures(settings, summary, url=ensure_warehouse(settings), run_id=run_id)
        log.info(
            "dbt build: %s tests passed, %s warned, %s failed; alerts sent: %s",
            summary["tests_passed"],
            summary["tests_warned"],
            summary["tests_failed"],
            summary.get("alerts_sent", 0),
        )
    except Exception:
        log.exception("could not evaluate the dbt test results for alerts")


def ensure_dbt_manifest(project_dir: Path | None = None) -> Path:
    """Run ``dbt parse`` (writes target/manifest.json, what cx_scorecard renders from)
    unless the manifest is newer than every project file. Returns the manifest path."""
    project = project_dir or dbt_project_dir()
    manifest = project / "target" / "manifest.json"
    if manifest.exists():
        newest = max(
            (p.stat().st_mtime for p in project.rglob("*") if "target" not in p.parts),
            default=0.0,
        )
        if manifest.stat().st_mtime >= newest:
            return manifest
    dbt = dbt_executable()
    profiles = project / "target" / "_parse_profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    (profiles / "profiles.yml").write_text(_parse_profile(project), encoding="utf-8")
    proc = subprocess.run(
        [dbt, "parse", "--project-dir", str(project), "--profiles-dir", str(profiles), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        cwd=project,
    )
    if proc.returncode != 0 or not manifest.exists():
        from cxscore.errors import CxError

        raise CxError(
            f"`dbt parse` failed in {project} (exit {proc.returncode}):\n"
            f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )
    return manifest


def _parse_profile(project: Path) -> str:
    """A placeholder profile: ``dbt parse`` needs one but never connects."""
    profile = "cxscore"
    project_yml = project / "dbt_project.yml"
    if project_yml.exists():
        for line in project_yml.read_text(encoding="utf-8").splitlines():
            if line.startswith("profile:"):
                profile = line.split(":", 1)[1].strip().strip("'\"")
    return (
        f"{profile}:\n  target: parse\n  outputs:\n    parse:\n      type: postgres\n"
        "      host: localhost\n      port: 5432\n      user: parse\n      password: ''\n"
        "      dbname: parse\n      schema: public\n      threads: 1\n"
    )


# --------------------------------------------------------------------------- local Airflow


def airflow_env(
    home: Path,
    *,
    warehouse_url: str,
    zendesk: tuple[str, str, str] | None = None,
    extra: Mapping[str, str] | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Environment for an isolated local Airflow (SQLite metadata under ``home``) that runs
    the repository's DAGs against ``warehouse_url`` (and the Zendesk API at
    ``zendesk = (base_url, email, token)``)."""
    env = dict(os.environ if base is None else base)
    for name in list(env):
        if name.startswith("AIRFLOW__") or name.startswith("AIRFLOW_CONN_"):
            del env[name]
    home = home.resolve()
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
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
        [airflow_bin(), "pools", "set", POOL, str(pool_slots), "cxscore warehouse writers"],
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


def failed_tasks(output: str) -> list[str]:
    """Task ids reported failed/upstream_failed in ``airflow dags test`` output."""
    found: list[str] = []
    for line in output.splitlines():
        low = line.lower()
        if ("state=failed" in low or "marking task as failed" in low) and "task_id=" in low:
            tid = low.split("task_id=", 1)[1].split()[0].strip(",")
            if tid not in found:
                found.append(tid)
    return found
