"""Data-completeness checks: GX Core suites from ``expectations/``, run per load batch.

``run_checks`` is the one entry point (CLI ``cxscore check``, ``cxscore run`` and the DAG
tasks call it). Importing this package is cheap: GX is imported inside ``run_checks``.
"""

from __future__ import annotations

from cxscore.quality.results import CheckOutcome, CheckResult
from cxscore.quality.runner import run_checks
from cxscore.quality.suites import Suite, load_suites

__all__ = ["CheckOutcome", "CheckResult", "Suite", "load_suites", "run_checks"]
