"""Run ids: every batch, check result and build of one pipeline run carries the same id
(the DAGs pass Airflow's run id; the CLI makes one here)."""

from __future__ import annotations

import time
import uuid


def new_run_id(prefix: str = "cli") -> str:
    """``<prefix>__<UTC timestamp>__<8 hex>``, e.g. ``cli__20261202T091500__1a2b3c4d``."""
    return f"{prefix}__{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}__{uuid.uuid4().hex[:8]}"
