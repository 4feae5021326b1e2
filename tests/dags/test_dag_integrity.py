"""DagBag integrity: the DAG files import cleanly and fast, and carry the operational
settings the spec asks for (tags, retries, timeouts, pool, alert callback, schedules)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cxscore.registry import RAW_TABLES, raw_asset_uri

pytestmark = pytest.mark.airflow

ALLOWED_TAGS = {"cxscore", "ingest", "scorecard", "owners"}
# Budgets beyond the shared `import airflow.sdk`, with margin over the measured figures
# (docs/performance.md, "Orchestration overhead"): cx_ingest ~0.1 s, cx_scorecard ~0.9 s.
PARSE_BUDGET = {"cx_ingest.py": 0.5, "cx_scorecard.py": 2.0, "cx_digest.py": 0.5}
CHECK_TASKS = {f"{s}.check" for s in RAW_TABLES} | {"raw_checks_gate", "scorecard_checks"}


def _dag(probe: dict[str, Any], dag_id: str) -> dict[str, Any]:
    assert dag_id in probe["dags"], sorted(probe["dags"])
    dag: dict[str, Any] = probe["dags"][dag_id]
    return dag


def test_no_import_errors(dagbag_probe: dict[str, Any]) -> None:
    assert dagbag_probe["import_errors"] == {}
    assert sorted(dagbag_probe["dags"]) == ["cx_digest", "cx_ingest", "cx_scorecard"]


def test_parse_time_budget(dagbag_probe: dict[str, Any]) -> None:
    seconds = {Path(f).name: s for f, s in dagbag_probe["parse_seconds"].items()}
    for name, budget in PARSE_BUDGET.items():
        assert name in seconds, seconds
        assert seconds[name] < budget, f"{name} parsed in {seconds[name]:.2f} s > {budget} s"


def test_parsing_imports_nothing_heavy(dagbag_probe: dict[str, Any]) -> None:
    # no GX, no cxscore pipeline modules, no warehouse driver at parse time
    assert dagbag_probe["heavy_modules"] == []


@pytest.mark.parametrize("dag_id", ["cx_digest", "cx_ingest", "cx_scorecard"])
def test_dag_settings(dagbag_probe: dict[str, Any], dag_id: str) -> None:
    dag = _dag(dagbag_probe, dag_id)
    assert set(dag["tags"]) <= ALLOWED_TAGS and "cxscore" in dag["tags"]
    assert dag["max_active_runs"] == 1
    assert dag["catchup"] is False
    assert len(dag["doc_md"]) > 200
    for task_id, task in dag["tasks"].items():
        assert task["timeout"] is not None and task["timeout"] > 0, task_id
        assert task["pool"] == "cx_warehouse_writers", task_id
        assert "alert_on_failure" in task["on_failure"], (task_id, task["on_failure"])
        if task_id in CHECK_TASKS:
            assert task["retries"] == 0, f"check task {task_id} must not retry"


def test_ingest_structure(dagbag_probe: dict[str, Any]) -> None:
    dag = _dag(dagbag_probe, "cx_ingest")
    tasks = dag["tasks"]
    assert dag["schedule_summary"] in ("@hourly", "0 * * * *")
    steps = ("extract", "check", "emit_assets")
    expected = {f"{s}.{t}" for s in RAW_TABLES for t in steps}
    assert set(tasks) == expected
    for source, tables in RAW_TABLES.items():
        extract = tasks[f"{source}.extract"]
        assert extract["retries"] >= 2 and extract["exponential"], source
        check = tasks[f"{source}.check"]
        # each source is checked on its own (one source's failure never stops another), also
        # after its own failed extract (what did load is checked), not when it is skipped
        assert check["upstream"] == [f"{source}.extract"]
        assert check["trigger_rule"].lower().endswith("none_skipped")
        assert check["retries"] == 0
        publish = tasks[f"{source}.emit_assets"]
        # the raw Assets are published only after the source's own load and checks
        assert publish["upstream"] == sorted([f"{source}.extract", f"{source}.check"])
        assert publish["trigger_rule"].lower().endswith("all_success")
        assert publish["outlets"] == sorted(raw_asset_uri(t) for t in tables)


def test_scorecard_structure(dagbag_probe: dict[str, Any], dbt_manifest: Path) -> None:
    dag = _dag(dagbag_probe, "cx_scorecard")
    tasks = dag["tasks"]
    assert dag["schedule"] == "AssetOrTimeSchedule"
    assert dag["inner_timetable"] == "CronTriggerTimetable"
    all_raw = sorted({raw_asset_uri(t) for tables in RAW_TABLES.values() for t in tables})
    assert dag["asset_uris"] == all_raw
    assert {"full_refresh", "report_path"} <= set(dag["params"])
    producer = tasks["dbt.dbt_producer_watcher"]
    assert producer["upstream"] == ["raw_checks_gate"]
    assert producer["retries"] >= 1 and producer["exponential"]
    # one `dbt build` in its own process (dbt's threads never wait on the XCom writes), the
    # project's dbt, and the dbt-test alerts of `cxscore build` after it
    assert producer["invocation_mode"] == "InvocationMode.SUBPROCESS"
    assert Path(producer["dbt_executable"]).name == "dbt"
    assert Path(producer["dbt_executable"]).exists()
    assert producer["callback"] == ["alert_dbt_tests_after_build"]
    # every task that can run dbt (the producer; a node task falling back to its own node)
    # resolves the dbt vars and environment at run time
    runs_dbt = {t for t, v in tasks.items() if v["runs_dbt"]}
    assert len(runs_dbt) > 30
    assert {t for t in runs_dbt if tasks[t]["pre_execute"] != ["dbt_runtime_settings"]} == set()
    # every dbt model of the manifest is an Airflow task
    manifest = json.loads(dbt_manifest.read_text(encoding="utf-8"))
    models = {
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model"
        and n["package_name"] == manifest["metadata"].get("project_name", n["package_name"])
    }
    dbt_tasks = {t for t in tasks if t.startswith("dbt.")}
    for model in models:
        assert any(t in (f"dbt.{model}_run", f"dbt.{model}.run") for t in dbt_tasks), (
            f"model {model} has no task"
        )
    # checks after every dbt task, publish last
    assert {t for t in tasks["scorecard_checks"]["upstream"]} <= dbt_tasks
    assert tasks["scorecard_checks"]["upstream"]
    assert tasks["publish"]["upstream"] == ["scorecard_checks"]
    # owners hear it, and follow-up tickets are created, only about a published build
    assert sorted(tasks["publish"]["downstream"]) == ["create_followups", "notify_owners"]
    assert tasks["notify_owners"]["downstream"] == []
    assert tasks["create_followups"]["upstream"] == ["publish"]
    assert tasks["create_followups"]["downstream"] == []


def test_fallback_tests_wait_for_every_parent(
    dagbag_probe: dict[str, Any], dbt_manifest: Path
) -> None:
    """With the producer lost (make compose-test's kill run), a model's test task runs
    `dbt test --select <model>`: every test touching the model, relationships to another
    model included. Each such test runs only after all its parents were rebuilt (the task
    waits for them), or is excluded there and run by another parent's test task that does
    wait for all of them: never against a parent the lost build had not reached."""
    tasks = _dag(dagbag_probe, "cx_scorecard")["tasks"]
    manifest = json.loads(dbt_manifest.read_text(encoding="utf-8"))

    def upstream(task_id: str) -> set[str]:
        seen: set[str] = set()
        todo = list(tasks[task_id]["upstream"])
        while todo:
            t = todo.pop()
            if t not in seen:
                seen.add(t)
                todo.extend(tasks[t]["upstream"])
        return seen

    def builder(unique_id: str) -> str | None:
        kind, _, name = unique_id.split(".")[:3]
        suffix = {"model": "run", "seed": "seed"}.get(kind)
        for task_id in (f"dbt.{name}.{suffix}", f"dbt.{name}_{suffix}"):
            if task_id in tasks:
                return task_id
        return None

    multi_parent = [
        (uid, n["depends_on"]["nodes"])
        for uid, n in manifest["nodes"].items()
        if n["resource_type"] == "test" and len(n["depends_on"]["nodes"]) > 1
    ]
    assert multi_parent  # the relationships tests between the facts and dimensions
    for test_id, parents in multi_parent:
        runners = []
        for parent in parents:
            test_task = f"dbt.{parent.split('.')[2]}.test"
            if test_task not in tasks:
                continue
            if test_id.split(".")[2] in tasks[test_task]["dbt_cmd_flags"]:
                continue  # excluded from this task's fallback
            missing = [p for p in parents if builder(p) and builder(p) not in upstream(test_task)]
            assert not missing, f"{test_task} runs {test_id} before {missing} are built"
            runners.append(test_task)
        assert runners, f"{test_id} runs in no fallback test task"


def test_digest_schedule(dagbag_probe: dict[str, Any]) -> None:
    dag = _dag(dagbag_probe, "cx_digest")
    assert list(dag["tasks"]) == ["send_digests"]
    assert {"week", "owner", "dry_run"} <= set(dag["params"])
    assert dag["schedule_summary"] == "0 6 * * 1"
