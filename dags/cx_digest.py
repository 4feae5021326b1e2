"""cx_digest: the weekly owner digest (``cxscore digest``), Mondays.

Wiring only: the task resolves the connections at run time and calls
``cxscore.signals.digest.run_digest`` (the function behind ``cxscore digest``). Module level
imports only ``airflow.sdk``, the standard library and ``cxscore.orchestration.tasks``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param, dag, task

from cxscore.orchestration.tasks import dag_policy, task_defaults

DOC = """
### cx_digest: the weekly owner digest (Mondays 06:00 UTC)

`send_digests` sends each owner role the digest of the last complete ISO week: its red and
amber scorecard metrics with the change against the prior week, its pain points
(`marts.touchpoint_pain_points`) and its follow-up backlog; e-mail as HTML with a text part,
Slack and webhooks as text, routed by `owners.routes` (a role without a route goes to the
default alert channels, saying so). Each owner gets a week's digest once
(`meta.owner_notifications`): a re-run or a retry sends nothing twice. Params: `week`
(`2026-W10`, default the last complete week), `owner` (one role), `dry_run` (write the files
under `signals.digest_dir` instead of sending). Reads the published marts only.
"""


@dag(
    dag_id="cx_digest",
    schedule="0 6 * * 1",
    doc_md=DOC,
    **dag_policy("owners"),
    params={
        "week": Param(None, type=["null", "string"], description="ISO week, e.g. 2026-W10"),
        "owner": Param(None, type=["null", "string"], description="one owner role only"),
        "dry_run": Param(False, type="boolean", description="write files, send nothing"),
    },
    default_args=task_defaults(
        retries=2, execution_timeout=timedelta(minutes=15), retry_delay=timedelta(minutes=1)
    ),
)
def cx_digest() -> None:
    @task
    def send_digests() -> dict[str, Any]:
        """Each owner's digest of the week (`cxscore digest`)."""
        from airflow.sdk import get_current_context

        from cxscore.orchestration.connections import settings_from_connections
        from cxscore.signals.digest import run_digest
        from cxscore.warehouse import ensure_warehouse

        settings = settings_from_connections()
        context = get_current_context()
        params = context["params"]
        summary = run_digest(
            settings,
            url=ensure_warehouse(settings),
            week=params.get("week"),
            owner=params.get("owner"),
            dry_run=bool(params.get("dry_run")),
            run_id=str(context["run_id"]),
        )
        return {"week": summary["week"], "owners": len(summary["owners"]), "sent": summary["sent"]}

    send_digests()


cx_digest()
