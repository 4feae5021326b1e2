"""When quality problems are alerted: a check that starts failing or recovers (state in
``quality.alert_state``, keyed by suite + expectation + column: never on every run), a load
batch entering or leaving quarantine, dbt tests that start failing or recover. Delivery is
:mod:`cxscore.alerts`."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from cxscore.alerts import MAX_LISTED, Alert, airflow_link, see_more_links, send_alert
from cxscore.settings import Settings

if TYPE_CHECKING:
    from cxscore.quality.results import CheckOutcome, CheckResult

log = logging.getLogger("cxscore.alerts")


def what_to_do(batch_ids: list[int]) -> list[str]:
    """The on-call steps (alerts and blocked runs print them; docs/operating.md has more)."""
    example = batch_ids[0] if batch_ids else "BATCH"
    return [
        "  what to do:",
        "    1. see why: cxscore quality status (or select * from quality.gate);",
        "       details: select * from quality.check_results where batch_id = <id>",
        "    2. fix it at the source and deliver a corrected version of the same file (same "
        "path) or let the next Zendesk export pass: the next run checks it and closes the "
        "quarantine;",
        f"    3. or accept the data as it is: cxscore quality release {example} "
        "--reason '<why this is fine>'",
    ]


def _expectation_dict(result: CheckResult) -> dict[str, Any]:
    return {
        "expectation": result.expectation,
        "column": result.column_name,
        "severity": result.severity,
        "observed": result.observed_value,
        "expected": result.threshold,
        "batch_id": result.batch_id,
        "table": result.table_name,
    }


def build_check_alert(
    settings: Settings,
    *,
    event: str,
    suite: str,
    results: list[CheckResult],
    run_id: str,
) -> Alert:
    """One alert for one suite: the checks that started failing, or that recovered."""
    failed = event == "quality_check_failed"
    first = sorted(results, key=lambda r: (r.severity != "critical", r.expectation))[0]
    severity = (
        ("critical" if any(r.severity == "critical" for r in results) else "warning")
        if failed
        else "info"
    )
    dag_id = os.environ.get("AIRFLOW_CTX_DAG_ID")
    verb = "started failing" if failed else "recovered"
    lines = []
    for result in results[:MAX_LISTED]:
        column = f" ({result.column_name})" if result.column_name else ""
        batch = f", batch {result.batch_id}" if result.batch_id is not None else ""
        if failed:
            lines.append(
                f"- {result.severity}: {result.expectation}{column} on {result.table_name}"
                f"{batch}: observed {result.observed_value}; expected {result.threshold}"
            )
        else:
            lines.append(
                f"- {result.expectation}{column} on {result.table_name}{batch}: "
                f"now {result.observed_value}"
            )
    if len(results) > MAX_LISTED:
        lines.append(f"- ... and {len(results) - MAX_LISTED} more")
    if failed and severity == "critical":
        lines.append("The scorecard was not rebuilt from this data (critical check).")
        batches = sorted({r.batch_id for r in results if r.batch_id is not None})
        if batches:
            lines.append(
                f"Quarantined: load batch(es) {', '.join(map(str, batches))}; no build until a "
                "corrected version passes or `cxscore quality release <id> --reason ...`"
                " (cxscore quality status)"
            )
    return Alert(
        event=event,
        severity=severity,
        title=f"quality suite {suite} on {first.table_name}: {len(results)} check(s) {verb}",
        run_id=run_id,
        dag_id=dag_id,
        task_id=os.environ.get("AIRFLOW_CTX_TASK_ID"),
        suite=suite,
        table=first.table_name,
        batch_id=first.batch_id,
        observed=first.observed_value,
        expected=first.threshold,
        failed_expectations=[_expectation_dict(r) for r in results] if failed else [],
        lines=lines,
        links=see_more_links(settings, run_id, dag_id),
    )


def alert_on_check_changes(
    settings: Settings, outcome: CheckOutcome, *, url: str
) -> tuple[int, list[str]]:
    """Alert on checks that start failing or recover; update quality.alert_state.

    A check (suite + expectation + column) fails in a run when any of its results (any
    batch) failed. Only checks that ran are considered. Returns (alerts sent, errors).
    """
    by_key: dict[str, list[CheckResult]] = {}
    for result in outcome.results:
        by_key.setdefault(result.check_key, []).append(result)
    if not by_key:
        return 0, []
    failing_now = {
        key: next((r for r in rs if not r.success), rs[-1]) for key, rs in by_key.items()
    }
    started, recovered = _update_state(url, outcome.run_id, by_key, failing_now)
    sent, errors = 0, []
    for event, keys in (("quality_check_failed", started), ("quality_check_recovered", recovered)):
        per_suite: dict[str, list[CheckResult]] = {}
        for key in keys:
            result = failing_now[key]
            per_suite.setdefault(result.suite, []).append(result)
        for suite, results in sorted(per_suite.items()):
            alert = build_check_alert(
                settings, event=event, suite=suite, results=results, run_id=outcome.run_id
            )
            errors += send_alert(settings, alert)
            sent += 1
    if sent or errors:
        _mark_alerted(url, outcome.run_id, started + recovered)
    return sent, errors


def _update_state(
    url: str,
    run_id: str,
    by_key: dict[str, list[CheckResult]],
    failing_now: dict[str, CheckResult],
) -> tuple[list[str], list[str]]:
    """Record each check's state; return (keys that started failing, keys that recovered)."""
    from cxscore.warehouse import transaction

    keys = sorted(by_key)
    started: list[str] = []
    recovered: list[str] = []
    with transaction(url) as conn, conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext('cxscore.alert_state'))")
        cur.execute(
            "select check_key, failing from quality.alert_state where check_key = any(%s)",
            (keys,),
        )
        previous = dict(cur.fetchall())
        for key in keys:
            failing = not failing_now[key].success
            was = previous.get(key)
            if failing and not was:
                started.append(key)
            elif not failing and was:
                recovered.append(key)
            if was is None or was != failing:
                cur.execute(
                    "insert into quality.alert_state (check_key, failing, since, last_run_id) "
                    "values (%s, %s, now(), %s) on conflict (check_key) do update set "
                    "failing = excluded.failing, since = now(), last_run_id = excluded.last_run_id",
                    (key, failing, run_id),
                )
            else:
                cur.execute(
                    "update quality.alert_state set last_run_id = %s where check_key = %s",
                    (run_id, key),
                )
    return started, recovered


def _mark_alerted(url: str, run_id: str, keys: list[str]) -> None:
    from cxscore.warehouse import transaction

    with transaction(url) as conn, conn.cursor() as cur:
        cur.execute(
            "update quality.alert_state set last_alerted_at = now() where check_key = any(%s)",
            (keys,),
        )


def build_quarantine_alert(
    settings: Settings,
    *,
    batch_id: int,
    failures: list[dict[str, Any]],
    run_id: str,
    closed: str | None = None,
) -> Alert:
    """A load batch entered quarantine (critical, says what to do), or its quarantine closed
    (``closed`` = why: released by whom and why, superseded, passed)."""
    dag_id = os.environ.get("AIRFLOW_CTX_DAG_ID")
    links = see_more_links(settings, run_id, dag_id)
    links[0] = f"More: select * from quality.check_results where batch_id = {batch_id}"
    where: dict[str, Any] = {
        "run_id": run_id,
        "dag_id": dag_id,
        "task_id": os.environ.get("AIRFLOW_CTX_TASK_ID"),
        "batch_id": batch_id,
        "links": links,
    }
    if closed is not None:
        return Alert(
            event="quarantine_closed",
            severity="info",
            title=f"load batch {batch_id}: quarantine closed, the scorecard can be built again",
            observed=closed,
            expected="no open critical failure",
            lines=[f"Closed: {closed}", "See the gate: cxscore quality status"],
            **where,
        )
    first = failures[0]
    lines = [f"Load batch {batch_id} ({first.get('source')}/{first.get('stream')}) failed:"]
    lines += [
        f"- {f['expectation']}"
        + (f" ({f['column_name']})" if f.get("column_name") else "")
        + f" on {f['table_name']}: observed {f['observed_value']}; expected {f['threshold']}"
        for f in failures[:MAX_LISTED]
    ]
    lines.append("No scorecard build (any DAG run, CLI, backfill) until the quarantine closes.")
    lines += [line.strip() for line in what_to_do([batch_id])]
    return Alert(
        event="batch_quarantined",
        severity="critical",
        title=f"load batch {batch_id} quarantined: {len(failures)} critical check(s) failed",
        suite=str(first.get("suite")),
        table=str(first.get("table_name")),
        observed=str(first.get("observed_value")),
        expected=str(first.get("threshold")),
        failed_expectations=[
            {
                "expectation": f["expectation"],
                "column": f.get("column_name"),
                "severity": "critical",
                "observed": f["observed_value"],
                "expected": f["threshold"],
                "batch_id": batch_id,
                "table": f["table_name"],
            }
            for f in failures[:MAX_LISTED]
        ],
        lines=lines,
        **where,
    )


# ---------------------------------------------------------------------------- dbt tests
def alert_dbt_test_failures(
    settings: Settings,
    failures: list[dict[str, Any]],
    run_id: str,
    *,
    url: str | None = None,
    tested: list[str] | None = None,
) -> tuple[int, list[str]]:
    """Alert on dbt tests that started failing (and, given ``tested``, that recovered).

    ``failures``: one dict per failing test with ``unique_id`` (or ``name``) and optionally
    ``message``, ``failures`` (row count), ``relation``/``model`` and ``severity``
    (``error``/``warn``). ``tested``: unique ids of every test that ran, so that a test
    failing before and absent from ``failures`` now counts as recovered. Same start/recover
    rule as the quality checks (key ``dbt|<unique_id>|``). Never raises on delivery.
    Returns (alerts sent, delivery errors).
    """
    from cxscore.quality.results import CheckResult
    from cxscore.warehouse import resolve_url

    target = url or resolve_url(settings)
    results: dict[str, list[CheckResult]] = {}
    for failure in failures:
        test_id = str(failure.get("unique_id") or failure.get("name") or "unknown_test")
        count = failure.get("failures")
        results[f"dbt|{test_id}|"] = [
            CheckResult(
                suite="dbt",
                table_name=str(failure.get("relation") or failure.get("model") or "dbt"),
                expectation=test_id,
                column_name=None,
                severity="warning" if failure.get("severity") == "warn" else "critical",
                success=False,
                observed_value=(f"{count} failing rows" if count is not None else None)
                or str(failure.get("message") or "failed"),
                threshold="0 failing rows",
                batch_id=None,
            )
        ]
    for test_id in tested or []:
        key = f"dbt|{test_id}|"
        if key not in results:
            results[key] = [
                CheckResult(
                    suite="dbt",
                    table_name="dbt",
                    expectation=test_id,
                    column_name=None,
                    severity="warning",
                    success=True,
                    observed_value="0 failing rows",
                    threshold="0 failing rows",
                    batch_id=None,
                )
            ]
    if not results:
        return 0, []
    failing_now = {k: v[0] for k, v in results.items()}
    started, recovered = _update_state(target, run_id, results, failing_now)
    sent, errors = 0, []
    dag_id = os.environ.get("AIRFLOW_CTX_DAG_ID")
    for event, keys in (("dbt_tests_failed", started), ("dbt_tests_recovered", recovered)):
        if not keys:
            continue
        rows = [failing_now[k] for k in keys]
        failed = event == "dbt_tests_failed"
        lines = [
            f"- {r.expectation} on {r.table_name}: {r.observed_value}" for r in rows[:MAX_LISTED]
        ]
        alert = Alert(
            event=event,
            severity=(
                ("critical" if any(r.severity == "critical" for r in rows) else "warning")
                if failed
                else "info"
            ),
            title=f"dbt build: {len(rows)} test(s) {'started failing' if failed else 'recovered'}",
            run_id=run_id,
            dag_id=dag_id,
            task_id=os.environ.get("AIRFLOW_CTX_TASK_ID"),
            suite="dbt",
            table=rows[0].table_name,
            observed=rows[0].observed_value,
            expected=rows[0].threshold,
            failed_expectations=[_expectation_dict(r) for r in rows] if failed else [],
            lines=[*lines, "More: dbt_project/target/run_results.json of this build"],
            links=[link] if (link := airflow_link(settings, dag_id, run_id)) else [],
        )
        errors += send_alert(settings, alert)
        sent += 1
    return sent, errors
