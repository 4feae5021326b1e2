"""Check results: one row per expectation per run, the outcome of a run, and their history."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cxscore.quality.pii import redact_result

if TYPE_CHECKING:
    from cxscore.quality.suites import ExpectationSpec, Suite

MAX_DETAIL_ROWS = 20
_DROP_KEYS = ("partial_unexpected_index_list", "partial_unexpected_counts", "unexpected_list")


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

    @classmethod
    def of(cls, suite: Suite, **fields: Any) -> CheckResult:
        """A result of ``suite``: its name, checked table and stage filled in."""
        return cls(suite=suite.name, table_name=suite.qualified_table, stage=suite.stage, **fields)

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


# --------------------------------------------------------------------------- from GX results


def superseded_result(suite: Suite, batch_id: int, observed: str) -> CheckResult:
    """The passing result that closes a batch's quarantine without validating it again."""
    return CheckResult.of(
        suite,
        expectation="quarantine_superseded",
        column_name=None,
        severity="critical",
        success=True,
        observed_value=observed,
        threshold="a new version of the same file or stream passes its checks",
        batch_id=batch_id,
        details={"type": "quarantine_superseded"},
    )


def result_of(suite: Suite, spec: ExpectationSpec, item: Any, batch_id: int | None) -> CheckResult:
    """One GX expectation result (``item``) as the row cxscore stores: observed value and
    threshold in words, PII redacted, GX errors as failed results with their message."""
    result: dict[str, Any] = dict(item.result or {})
    message = _exception_message(item.exception_info)
    if message is not None:
        success = False
        observed = f"error: {message.splitlines()[0][:300]}"
        details: dict[str, Any] = {"error": message[:4000]}
    else:
        success = bool(item.success)
        observed, details = _observed(spec, success, result)
        observed, details = redact_result(spec.column, suite.pii, result, observed, details)
    return CheckResult.of(
        suite,
        expectation=spec.name,
        column_name=spec.column,
        severity=spec.severity,
        success=success,
        observed_value=observed,
        threshold=spec.threshold or _threshold(spec),
        batch_id=batch_id,
        details={"type": spec.type, **details},
    )


def _exception_message(info: Any) -> str | None:
    """GX reports errors flat ({raised_exception, exception_message}) or per metric."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "unknown error").strip()
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message") or "unknown error").strip()
    return None


def _observed(spec: ExpectationSpec, success: bool, result: dict[str, Any]) -> tuple[str, dict]:
    details = {k: v for k, v in result.items() if k not in _DROP_KEYS and k != "details"}
    if spec.is_sql:
        rows = list((result.get("details") or {}).get("unexpected_rows") or [])
        details["unexpected_rows"] = rows[:MAX_DETAIL_ROWS]
        if not rows:
            return ("0 unexpected rows" if success else "failed"), details
        texts = [str(r["observed"]) for r in rows if isinstance(r, dict) and "observed" in r]
        if texts:
            more = f" (+{len(texts) - 5} more)" if len(texts) > 5 else ""
            return "; ".join(texts[:5]) + more, details
        return f"{len(rows)} unexpected rows", details
    if "unexpected_count" in result:
        count = result.get("unexpected_count") or 0
        total = (result.get("element_count") or 0) - (
            0
            if spec.type == "expect_column_values_to_not_be_null"
            else result.get("missing_count") or 0
        )
        pct = result.get("unexpected_percent")
        share = "n/a" if pct is None else f"{100 - float(pct):.2f}%"
        return f"{share} as expected ({count} of {total} rows not)", details
    if spec.type == "expect_column_to_exist":
        return ("present" if success else "missing"), details
    if "observed_value" in result:
        return str(result["observed_value"]), details
    return ("passed" if success else "failed"), details


def _threshold(spec: ExpectationSpec) -> str:
    parts = []
    kwargs = spec.kwargs
    if spec.type == "expect_column_values_to_not_be_null":
        parts.append("not null")
    if spec.type in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
        parts.append("unique")
    if spec.type == "expect_column_to_exist":
        parts.append("present")
    for key in ("min_value", "max_value"):
        if kwargs.get(key) is not None:
            value = kwargs[key]
            text = value.isoformat() if isinstance(value, datetime) else str(value)
            parts.append(f"{'>=' if key == 'min_value' else '<='} {text}")
    for key in ("value_set", "type_list", "regex", "type_"):
        if kwargs.get(key) is not None:
            parts.append(f"{key}={kwargs[key]}")
    if "mostly" in kwargs:
        parts.append(f"for >= {float(kwargs['mostly']) * 100:g}% of rows")
    return " ".join(parts) or spec.type
