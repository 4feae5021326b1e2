"""The dbt project under Cosmos: where the project and its dbt are, the profile from the
``cx_warehouse`` connection, the dbt vars and secret environment given to a dbt run, the
build lock of the watcher producer and its post-build callback, and ``dbt parse``.

Three places go beyond Cosmos' documented arguments; tests pin each against the installed
Cosmos (``tests/dags/test_cosmos_hooks.py`` the first two) so that an upgrade that changes
them fails loudly:

- ``pre_execute`` (an Airflow operator argument) wraps the operator's
  ``build_and_run_cmd`` so that the secret environment (HMAC pads) exists only while dbt
  runs and never lands in ``env``, a template field Airflow stores and shows;
- the producer (the one task that takes the build lock) is recognised by the task id
  Cosmos generates for it, ``<group>.dbt_producer_watcher``;
- :func:`order_fallback_tests` reads the rendered group (``dbt_graph.filtered_nodes``,
  ``tasks_map``) to order each test task after every parent of its tests
  (``tests/dags/test_dag_integrity.py::test_fallback_tests_wait_for_every_parent`` checks
  the wiring against the manifest).

Standard library only at import time (the DAG files import this module while parsing).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from cxscore.orchestration.connections import settings_from_connections
from cxscore.paths import dbt_project_dir
from cxscore.registry import WAREHOUSE_CONN_ID

log = logging.getLogger(__name__)

# the task id Cosmos gives the watcher producer of a DbtTaskGroup (pinned by
# tests/dags/test_cosmos_hooks.py)
PRODUCER_TASK_SUFFIX = "dbt_producer_watcher"
PRODUCER_LOCK_KEY = f"cx_scorecard.{PRODUCER_TASK_SUFFIX}"


def dbt_executable() -> str:
    """The dbt CLI the watcher producer and ``dbt parse`` run: ``CX_DBT_EXECUTABLE``,
    else the one next to this Python (the project's virtualenv), else ``dbt`` on PATH."""
    override = os.environ.get("CX_DBT_EXECUTABLE")
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

    from cxscore.dbt_profile import PROFILE_SCHEMA, PROFILE_THREADS

    # the same schema and threads as cxscore's own profile (cxscore.dbt_profile)
    return CxWarehouseProfileMapping(
        conn_id=conn_id, profile_args={"schema": PROFILE_SCHEMA, "threads": PROFILE_THREADS}
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
    if operator.task_id.endswith(PRODUCER_TASK_SUFFIX):
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
    import json

    from cxscore.dbt_profile import write_profile_to
    from cxscore.settings import Settings
    from cxscore.transform import dbt_vars, manifest_written_whole

    # cxscore's own profile (cxscore.dbt_profile) with placeholder connection
    # fields: `dbt parse` needs a profile but never connects; the vars are the settings'
    # defaults (every run passes the configured ones).
    profiles = write_profile_to(project / "target" / "_parse_profiles", threads=1)
    placeholders = {
        "CX_DBT_HOST": "localhost",
        "CX_DBT_PORT": "5432",
        "CX_DBT_USER": "parse",
        "CX_DBT_DBNAME": "parse",
    }
    with manifest_written_whole(project) as target:
        proc = subprocess.run(
            [
                dbt_executable(),
                "parse",
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(profiles),
                "--vars",
                json.dumps(dbt_vars(Settings())),
                "--target-path",
                str(target),
                "--quiet",
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=project,
            env={**os.environ, **placeholders},
        )
        failed = proc.returncode != 0 or not (target / "manifest.json").exists()
        if failed:  # raised inside: the manifest in place is kept
            from cxscore.errors import CxError

            raise CxError(
                f"`dbt parse` failed in {project} (exit {proc.returncode}):\n"
                f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
            )
    return manifest
