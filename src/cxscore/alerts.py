"""Alerts that reach people: Slack incoming webhook, a generic JSON webhook and e-mail (SMTP).

Sent when a quality check starts failing and when it recovers (never on every run: the
state lives in ``quality.alert_state``, keyed by suite + expectation + column), when an
Airflow task fails after its retries (:func:`airflow_failure_callback`) and when dbt tests
fail (:func:`alert_dbt_test_failures`). A channel that fails to deliver is logged and
reported back; it never raises, so it can never hide the failure being reported.

Secrets (webhook URLs, SMTP password) come from the settings (environment variables
``CX_ALERTS__*``) or, inside an Airflow task, from the connections ``cx_alerts_slack``,
``cx_alerts_webhook`` and ``cx_alerts_smtp``. Airflow is imported only when needed.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from cxscore.redaction import (
    describe_error,
    mask_in_airflow,
    redact_obj,
    redact_text,
    redact_url,
    redact_webhook_url,
    register_settings,
    settings_secrets,
    webhook_secrets,
)
from cxscore.settings import CLEAR_TEXT_AUTH, Settings

if TYPE_CHECKING:
    from cxscore.quality.results import CheckOutcome, CheckResult

log = logging.getLogger(__name__)

SLACK_CONN_ID = "cx_alerts_slack"
WEBHOOK_CONN_ID = "cx_alerts_webhook"
SMTP_CONN_ID = "cx_alerts_smtp"
MAX_LISTED = 20


@dataclass
class Alert:
    """One message, rendered the same way on every channel."""

    event: str  # quality_check_failed | quality_check_recovered | task_failed | dbt_tests_failed
    severity: str  # critical | warning | info
    title: str
    run_id: str | None = None
    dag_id: str | None = None
    task_id: str | None = None
    suite: str | None = None
    table: str | None = None
    batch_id: int | None = None
    observed: str | None = None
    expected: str | None = None
    failed_expectations: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    def text(self) -> str:
        parts = [f"[cxscore {self.severity.upper()}] {self.title}"]
        parts += self.lines
        context = ", ".join(
            f"{k} {v}"
            for k, v in (("dag", self.dag_id), ("task", self.task_id), ("run", self.run_id))
            if v
        )
        if context:
            parts.append(context)
        parts += self.links
        return "\n".join(parts)

    def payload(self) -> dict[str, Any]:
        """The generic webhook body."""
        return {
            "event": self.event,
            "severity": self.severity,
            "dag_id": self.dag_id,
            "task_id": self.task_id,
            "run_id": self.run_id,
            "suite": self.suite,
            "failed_expectations": self.failed_expectations,
            "observed": self.observed,
            "expected": self.expected,
            "table": self.table,
            "batch_id": self.batch_id,
            "title": self.title,
            "text": self.text(),
        }


# ---------------------------------------------------------------------------- delivery
def send_alert(settings: Settings, alert: Alert) -> list[str]:
    """Deliver on every configured channel; return the delivery errors (also logged).

    The errors name the channel, the error type and at most the receiver's host: a
    webhook's path and query (the secret of a Slack incoming webhook) and every other
    secret are redacted (:mod:`cxscore.redaction`) before they are logged or returned."""
    register_settings(settings)
    errors: list[str] = []
    slack = _secret(settings.alerts.slack_webhook_url) or _airflow_secret(SLACK_CONN_ID)
    webhook = _secret(settings.alerts.webhook_url) or _airflow_secret(WEBHOOK_CONN_ID)
    timeout = settings.alerts.timeout_seconds
    text = redact_text(alert.text())
    payload = redact_obj(alert.payload())
    if slack:
        _deliver(errors, "slack", slack, lambda: _post_json(slack, {"text": text}, timeout))
    if webhook:
        _deliver(errors, "webhook", webhook, lambda: _post_json(webhook, payload, timeout))
    email = settings.alerts.email
    if email.smtp_host or email.recipients:
        _deliver(errors, "email", None, lambda: _send_email(settings, alert))
    if not (slack or webhook or email.smtp_host or email.recipients):
        log.warning(
            "no alert channel configured; alert not delivered: %s", redact_text(alert.title)
        )
    return errors


def _deliver(errors: list[str], channel: str, url: str | None, send: Any) -> None:
    try:
        send()
    except Exception as exc:  # noqa: BLE001 - any delivery problem is reported, never raised
        where = f" ({redact_webhook_url(url)})" if url else ""
        message = f"{channel}{where}: {describe_error(exc, url)}"
        log.error("alert delivery failed on %s", message)
        errors.append(message)


def _post_json(url: str, body: dict[str, Any], timeout: float) -> None:
    import requests

    response = requests.post(
        url,
        data=json.dumps(body, default=str),
        headers={"Content-Type": "application/json"},
        timeout=timeout,
    )
    if response.status_code >= 300:
        raise RuntimeError(
            f"HTTP {response.status_code} from the receiver: "
            f"{redact_text(response.text[:200], webhook_secrets(url))}"
        )


class ClearTextAuthRefused(RuntimeError):
    """SMTP credentials without TLS: cxscore never sends a password in clear."""


def _send_email(settings: Settings, alert: Alert) -> None:
    """Send over SMTP. With credentials, TLS is mandatory: ``smtp_tls: starttls`` upgrades
    the connection before AUTH (and fails when the server does not offer STARTTLS),
    ``smtps`` speaks TLS from the first byte; the server certificate is verified."""
    email = settings.alerts.email
    host, port, user, password = email.smtp_host, email.smtp_port, email.smtp_user, None
    if email.smtp_password is not None:
        password = email.smtp_password.get_secret_value()
    if not host:
        conn = _airflow_connection(SMTP_CONN_ID)
        if conn is None:
            raise RuntimeError(
                "alerts.email.recipients is set but no SMTP host: set alerts.email.smtp_host "
                f"(CX_ALERTS__EMAIL__SMTP_HOST) or the Airflow connection {SMTP_CONN_ID}"
            )
        host, port = conn.host, int(conn.port or port)
        user, password = conn.login or user, conn.password or password
        if conn.password:
            mask_in_airflow([str(conn.password)])
    if not email.recipients or not email.sender:
        raise RuntimeError("set alerts.email.sender and alerts.email.recipients for e-mail alerts")
    tls = email.smtp_tls
    if password and tls == "none":
        raise ClearTextAuthRefused(CLEAR_TEXT_AUTH)
    message = EmailMessage()
    message["Subject"] = f"[cxscore {alert.severity}] {redact_text(alert.title)}"
    message["From"] = email.sender
    message["To"] = ", ".join(email.recipients)
    message.set_content(redact_text(alert.text()))
    html = getattr(alert, "html", None)  # owner digests (cxscore.notify.routing.OwnerAlert)
    if html:
        message.add_alternative(html, subtype="html")
    timeout = settings.alerts.timeout_seconds
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if tls == "smtps":
        smtp = smtplib.SMTP_SSL(str(host), int(port), timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(str(host), int(port), timeout=timeout)
    with smtp:
        if tls == "starttls":
            smtp.starttls(context=context)
        if user and password:
            smtp.login(user, password)
        smtp.send_message(message)


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    secret = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return secret or None


def _in_airflow_task() -> bool:
    return bool(os.environ.get("AIRFLOW_CTX_DAG_ID"))


def _airflow_connection(conn_id: str) -> Any:
    """An Airflow connection when running inside a task, else None (Airflow imported lazily)."""
    if not _in_airflow_task():
        return None
    try:
        from airflow.sdk import BaseHook

        return BaseHook.get_connection(conn_id)
    except Exception as exc:  # noqa: BLE001 - a missing connection just means "not configured"
        log.debug("no Airflow connection %s: %s", conn_id, exc)
        return None


def _airflow_secret(conn_id: str) -> str | None:
    """A webhook URL from an Airflow connection: its password, else host (full URL)."""
    conn = _airflow_connection(conn_id)
    if conn is None:
        return None
    for candidate in (conn.password, conn.host):
        if candidate and str(candidate).startswith(("http://", "https://")):
            mask_in_airflow(webhook_secrets(str(candidate)))
            return str(candidate)
    return None


# ---------------------------------------------------------------------------- quality checks
def _airflow_link(settings: Settings, dag_id: str | None, run_id: str | None) -> str | None:
    base = settings.alerts.airflow_base_url
    if not (base and dag_id and run_id):
        return None
    from urllib.parse import quote

    return f"{base.rstrip('/')}/dags/{quote(dag_id)}/runs/{quote(run_id, safe='')}"


def _see_more(settings: Settings, run_id: str, dag_id: str | None) -> list[str]:
    links = [f"More: select * from quality.check_results where run_id = '{run_id}'"]
    link = _airflow_link(settings, dag_id, run_id)
    if link:
        links.append(f"Airflow run: {link}")
    return links


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
        links=_see_more(settings, run_id, dag_id),
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
    from cxscore.quality.gate import what_to_do

    dag_id = os.environ.get("AIRFLOW_CTX_DAG_ID")
    links = _see_more(settings, run_id, dag_id)
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
            links=[link] if (link := _airflow_link(settings, dag_id, run_id)) else [],
        )
        errors += send_alert(settings, alert)
        sent += 1
    return sent, errors


# ---------------------------------------------------------------------------- Airflow
def build_task_failure_alert(settings: Settings, context: dict[str, Any]) -> Alert:
    """The alert for an Airflow task that failed after its retries (from the task context)."""
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    dag_id = getattr(ti, "dag_id", None) or getattr(dag, "dag_id", None)
    task_id = getattr(ti, "task_id", None)
    run_id = context.get("run_id") or getattr(ti, "run_id", None)
    exception = context.get("exception")
    try_number = getattr(ti, "try_number", None)
    log_url = getattr(ti, "log_url", None)
    error = redact_text(str(exception)) if exception is not None else None
    lines = [f"Error: {type(exception).__name__}: {error}" if exception else "Error: unknown"]
    if try_number is not None:
        lines.append(f"Attempts: {try_number}")
    links = []
    if log_url:
        links.append(f"Log: {redact_url(str(log_url))}")
    link = _airflow_link(settings, dag_id, run_id)
    if link:
        links.append(f"Airflow run: {link}")
    if exception is not None and type(exception).__name__ == "QualityGateFailed":
        links.append(f"More: select * from quality.check_results where run_id = '{run_id}'")
    return Alert(
        event="task_failed",
        severity="critical",
        title=f"Airflow task {dag_id}.{task_id} failed after its retries",
        run_id=run_id,
        dag_id=dag_id,
        task_id=task_id,
        observed=error,
        expected="task succeeds",
        lines=lines,
        links=links,
    )


def airflow_failure_callback(context: dict[str, Any]) -> None:
    """``on_failure_callback`` for every task: alert on the channels; never raises."""
    from cxscore.settings import load_settings

    try:
        settings = load_settings()
        mask_in_airflow(settings_secrets(settings))
        alert = build_task_failure_alert(settings, context)
        send_alert(settings, alert)
    except Exception:
        log.exception("could not send the task failure alert")
