"""A long-lived DAG runner for the end-to-end tests (run as a subprocess).

Airflow reads its configuration when first imported, so the tests cannot run ``dag.test()``
in the pytest process; spawning ``airflow dags test`` per run re-imports Airflow, GX and dbt
every time (~40 s each on a loaded 2-core machine). This worker is started once with the
isolated Airflow environment and runs one DAG per request, in-process, with the demo's
runner: request ``{"dag_id": ..., "conf": {...}, "logical_date": ISO 8601 or absent}`` per
stdin line, answer ``{"ok": bool, "seconds": float, "log": path}`` per stdout line.
The tests drive it through :class:`DagWorker`.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any


class DagWorker:
    """The tests' side: this script started in an isolated Airflow environment (``env``,
    from ``cxscore.orchestration.local.airflow_env``), its run logs under ``logs``."""

    def __init__(self, env: Mapping[str, str], logs: Path, cwd: Path) -> None:
        self.env = dict(env)
        self.process = subprocess.Popen(
            [sys.executable, __file__, str(logs)],
            env=dict(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=cwd,
        )

    @classmethod
    def start(
        cls,
        tmp: Path,
        *,
        warehouse_url: str,
        zendesk: tuple[str, str, str],
        landing: Path,
        state: Path,
        extra: Mapping[str, str],
    ) -> DagWorker:
        """A fresh local Airflow under ``tmp`` (metadata migrated, pool, dbt manifest) against
        the warehouse and the Zendesk stand-in, and a worker in it."""
        from cxscore.orchestration.dbt_cosmos import ensure_dbt_manifest
        from cxscore.orchestration.local import airflow_env, init_airflow_home

        env = airflow_env(
            tmp / "airflow",
            warehouse_url=warehouse_url,
            zendesk=zendesk,
            landing=landing,
            state=state,
            extra=extra,
        )
        started = time.monotonic()
        init_airflow_home(env)
        print(f"airflow db migrate + pool: {time.monotonic() - started:.1f} s")
        ensure_dbt_manifest()
        return cls(env, tmp / "logs", tmp)

    def send(
        self,
        dag_id: str,
        conf: dict[str, Any] | None = None,
        logical_date: datetime | None = None,
        no_retries: bool = False,
    ) -> None:
        """Start one ``dag.test()`` run (answered by :meth:`answer`)."""
        request: dict[str, Any] = {"dag_id": dag_id, "conf": conf, "no_retries": no_retries}
        if logical_date is not None:
            request["logical_date"] = logical_date.isoformat()
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()

    def answer(self) -> dict[str, Any]:
        """The answer to the oldest request (Airflow may log a line or two on stdout first)."""
        assert self.process.stdout is not None
        while line := self.process.stdout.readline():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    answer = json.loads(line)
                    if isinstance(answer, dict) and "ok" in answer:
                        return answer
        raise AssertionError(f"the DAG worker died (exit {self.process.poll()})")

    def run(self, dag_id: str, **request: Any) -> tuple[int, str]:
        """One DAG run: (0 when every task succeeded, else 1; its log)."""
        self.send(dag_id, **request)
        answer = self.answer()
        out = Path(answer["log"]).read_text(encoding="utf-8", errors="replace")
        return (0 if answer["ok"] else 1), out

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


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
