"""Pins of the two places where cxscore relies on Cosmos beyond its documented arguments
(``cxscore.orchestration.dbt_cosmos``). If a Cosmos upgrade changes either, these fail
with a message that says what to revisit, instead of the dbt tasks silently running
without their vars and HMAC environment, or without the build lock."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

pytestmark = pytest.mark.airflow


def test_dbt_tasks_run_dbt_through_build_and_run_cmd() -> None:
    """``dbt_runtime_settings`` wraps ``build_and_run_cmd`` on the instance; that works only
    while Cosmos' execute paths call it as ``self.build_and_run_cmd(context, cmd_flags=..)``."""
    from cosmos.operators import watcher
    from cosmos.operators.local import DbtLocalBaseOperator

    params = list(inspect.signature(DbtLocalBaseOperator.build_and_run_cmd).parameters)
    assert params[:3] == ["self", "context", "cmd_flags"], (
        "Cosmos changed build_and_run_cmd; revisit cxscore.orchestration.dbt_cosmos."
        f"dbt_runtime_settings (parameters now {params})"
    )
    for cls in (watcher.DbtProducerWatcherOperator, watcher.DbtConsumerWatcherSensor):
        source = inspect.getsource(inspect.getmodule(cls) or watcher)
        assert "self.build_and_run_cmd(" in source, cls
        assert inspect.isfunction(inspect.getattr_static(cls, "build_and_run_cmd")), (
            f"{cls.__name__}.build_and_run_cmd is no longer a plain method"
        )


def test_the_producer_is_the_one_task_that_takes_the_build_lock(
    dagbag_probe: dict[str, Any],
) -> None:
    """``dbt_runtime_settings`` recognises the watcher producer by its task id
    (``PRODUCER_TASK_SUFFIX``): the rendered DAG must have exactly one producer, of Cosmos'
    producer class, with that id; every dbt task gets the hook as ``pre_execute``."""
    from cxscore.orchestration.dbt_cosmos import PRODUCER_TASK_SUFFIX

    tasks = dagbag_probe["dags"]["cx_scorecard"]["tasks"]
    producers = [t for t, v in tasks.items() if v["type"] == "DbtProducerWatcherOperator"]
    assert producers == ["dbt.dbt_producer_watcher"], producers
    assert producers[0].endswith(PRODUCER_TASK_SUFFIX)
    assert [t for t in tasks if t.endswith(PRODUCER_TASK_SUFFIX)] == producers
    dbt_tasks = [t for t, v in tasks.items() if t.startswith("dbt.") and v["runs_dbt"]]
    assert len(dbt_tasks) > 10, dbt_tasks
    for task_id in dbt_tasks:
        assert tasks[task_id]["pre_execute"] == ["dbt_runtime_settings"], task_id
