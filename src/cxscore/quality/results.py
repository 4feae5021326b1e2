"""Check results: one row per expectation per run, the outcome of a run, and their history."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cxscore.errors import QualityGateFailed


@dataclass(frozen=True)
class CheckResult:
    """One expectation judged on one table (and load batch): a row of quality.check_results."""

    suite: str
    table_name: str
    expectation: str
    column_name: str | None
    severity: str
    success: bool
    observed_value: str | None
    threshold: str | None
    batch_id: int | None
    details: dict[str, Any] = field(default_factory=dict)
    stage: str = "raw"  # raw (a raw table) or marts (a scorecard build)

    @property
    def check_key(self) -> str:
        """Identity of the check across runs and batches (the alert state key)."""
        return f"{self.suite}|{self.expectation}|{self.column_name or ''}"

    def label(self) -> str:
        column = f" ({self.column_name})" if self.column_name else ""
        batch = f" batch {self.batch_id}" if self.batch_id is not None else ""
        return f"{self.suite}: {self.expectation}{column} on {self.table_name}{batch}"

    def line(self) -> str:
        return (
            f"{self.severity.upper()} {self.label()}: observed {self.observed_value}; "
            f"expected {self.threshold}"
        )


@dataclass
class CheckOutcome:
    """What one run of the checks found. Critical failures block the scorecard build."""

    run_id: str
    stage: str
    results: list[CheckResult] = field(default_factory=list)
    batches: dict[str, list[int]] = field(default_factory=dict)
    seconds: float = 0.0
    alerts_sent: int = 0
    alert_errors: list[str] = field(default_factory=list)

    @property
    def critical_failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success and r.severity == "critical"]

    @property
    def warning_failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success and r.severity == "warning"]

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "stage": self.stage,
            "suites": sorted({r.suite for r in self.results}),
            "batches_checked": {k: v for k, v in self.batches.items() if v},
            "expectations": len(self.results),
            "passed": sum(1 for r in self.results if r.success),
            "critical_failures": [r.line() for r in self.critical_failures],
            "warning_failures": [r.line() for r in self.warning_failures],
            "alerts_sent": self.alerts_sent,
            "alert_errors": self.alert_errors,
            "seconds": round(self.seconds, 2),
        }

    def describe(self) -> str:
        passed = sum(1 for r in self.results if r.success)
        batches = sum(len(v) for v in self.batches.values())
        lines = [
            f"checks {self.stage} (run {self.run_id}): {len(self.results)} expectations, "
            f"{passed} passed, {len(self.critical_failures)} critical and "
            f"{len(self.warning_failures)} warning failures; {batches} new load batch(es) "
            f"checked in {self.seconds:.1f} s"
        ]
        lines += [f"  {r.line()}" for r in self.critical_failures + self.warning_failures]
        if self.alert_errors:
            lines += [f"  alert delivery failed: {e}" for e in self.alert_errors]
        if self.critical_failures or self.warning_failures:
            lines.append(
                f"  more: select * from quality.check_results where run_id = '{self.run_id}'"
            )
        return "\n".join(lines)

    def raise_for_critical(self) -> None:
        """Raise QualityGateFailed (exit code 3) when a critical expectation failed."""
        if self.critical_failures:
            raise QualityGateFailed(
                f"run {self.run_id}: {len(self.critical_failures)} critical quality check(s) "
                f"failed; the scorecard was not rebuilt.\n{self.describe()}"
            )


def write_results(url: str, run_id: str, results: list[CheckResult], checked_at: datetime) -> None:
    """Append every result to quality.check_results (history is never overwritten)."""
    if not results:
        return
    from psycopg2.extras import execute_values

    from cxscore.warehouse import transaction

    rows = [
        (
            run_id,
            r.suite,
            r.table_name,
            r.expectation,
            r.column_name,
            r.severity,
            r.success,
            r.observed_value,
            r.threshold,
            checked_at,
            r.batch_id,
            json.dumps(r.details, default=str),
            r.stage,
        )
        for r in results
    ]
    with transaction(url) as conn, conn.cursor() as cur:
        execute_values(
            cur,
            "insert into quality.check_results (run_id, suite, table_name, expectation, "
            "column_name, severity, success, observed_value, threshold, checked_at, batch_id, "
            "details, stage) values %s",
            rows,
        )
