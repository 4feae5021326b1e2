"""One complete pipeline run in-process: the path `cxscore run` and the tests drive.

extract + load every configured source -> raw checks (a critical failure stops here, the
last good scorecard stays, exit code 3) -> dbt build -> scorecard checks. The Airflow DAGs
call the same functions task by task.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from cxscore.errors import QualityGateFailed
from cxscore.settings import Settings


def new_run_id(prefix: str = "cli") -> str:
    return f"{prefix}__{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}__{uuid.uuid4().hex[:8]}"


def run_pipeline(
    settings: Settings, *, progress: bool = False, run_id: str | None = None
) -> dict[str, Any]:
    from cxscore.extract import extract_sources
    from cxscore.quality import run_checks
    from cxscore.transform import build_models
    from cxscore.warehouse import ensure_warehouse

    run_id = run_id or new_run_id()
    url = ensure_warehouse(settings)
    started = time.monotonic()
    extracted = extract_sources(settings, None, url=url, run_id=run_id, progress=progress)
    raw = run_checks(settings, stage="raw", url=url, run_id=run_id)
    if raw.critical_failures:
        raise QualityGateFailed(
            f"run {run_id}: {len(raw.critical_failures)} critical quality check(s) failed; "
            f"the scorecard was not rebuilt.\n{raw.describe()}\n"
            f"See: select * from quality.check_results where run_id = '{run_id}'"
        )
    built = build_models(settings, url=url, run_id=run_id)
    marts = run_checks(settings, stage="marts", url=url, run_id=run_id)
    return {
        "run_id": run_id,
        "seconds": round(time.monotonic() - started, 1),
        "rows_loaded": extracted.get("rows_loaded", 0),
        "rows_rejected": extracted.get("rows_rejected", 0),
        "raw_checks_failed_warning": len(raw.warning_failures),
        "models_built": built.get("models", 0),
        "dbt_tests_failed": built.get("tests_failed", 0),
        "scorecard_checks_failed": len(marts.critical_failures) + len(marts.warning_failures),
    }
