"""A long-lived DAG runner for the end-to-end tests (run as a subprocess).

Airflow reads its configuration when first imported, so the tests cannot run ``dag.test()``
in the pytest process; spawning ``airflow dags test`` per run re-imports Airflow, GX and dbt
every time (~40 s each on a loaded 2-core machine). This worker is started once with the
isolated Airflow environment and runs one DAG per request, in-process, with the demo's
runner: request ``{"dag_id": ..., "conf": {...}, "logical_date": ISO 8601 or absent}`` per
stdin line, answer ``{"ok": bool, "seconds": float, "log": path}`` per stdout line.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any


def _drop_retries(runner: Any, dag_id: str) -> dict[str, int]:
    dag = runner._dagbag().dags[dag_id]
    saved = {task.task_id: task.retries for task in dag.tasks}
    for task in dag.tasks:
        task.retries = 0
    return saved


def _restore_retries(runner: Any, dag_id: str, saved: dict[str, int]) -> None:
    for task in runner._dagbag().dags[dag_id].tasks:
        task.retries = saved[task.task_id]


def main() -> int:
    from cxscore.demo import DagRunner

    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    env = {k: v for k, v in os.environ.items() if k.startswith(("AIRFLOW", "CX_"))}
    runner = DagRunner(env, Path(sys.argv[1]))
    count = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        count += 1
        when = request.get("logical_date")
        # "no_retries": a task's first failure is final (the DAGs retry extracts with a
        # backoff of minutes, which dag.test() would wait out)
        saved = _drop_retries(runner, request["dag_id"]) if request.get("no_retries") else {}
        try:
            ok, seconds, log = runner.run(
                request["dag_id"],
                f"{count:02d}",
                request.get("conf"),
                logical_date=datetime.fromisoformat(when) if when else None,
            )
        finally:
            if saved:
                _restore_retries(runner, request["dag_id"], saved)
        protocol.write(json.dumps({"ok": ok, "seconds": seconds, "log": str(log)}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
