"""Alerts that reach people: Slack incoming webhook, a generic JSON webhook and e-mail (SMTP).

This module is the delivery: :class:`Alert` and :func:`send_alert` (every channel), plus the
alert of an Airflow task that failed after its retries (:func:`airflow_failure_callback`).
What is alerted and when lives with the rule: quality checks, quarantines and dbt tests in
:mod:`cxscore.quality.alerts`, owner signals in :mod:`cxscore.signals`. A channel that fails
to deliver is logged and reported back; it never raises, so it can never hide the failure
being reported.

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
from typing import Any

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


# ---------------------------------------------------------------------------- links
def airflow_link(settings: Settings, dag_id: str | None, run_id: str | None) -> str | None:
    base = settings.alerts.airflow_base_url
    if not (base and dag_id and run_id):
        return None
    from urllib.parse import quote

    return f"{base.rstrip('/')}/dags/{quote(dag_id)}/runs/{quote(run_id, safe='')}"


def see_more_links(settings: Settings, run_id: str, dag_id: str | None) -> list[str]:
    links = [f"More: select * from quality.check_results where run_id = '{run_id}'"]
    link = airflow_link(settings, dag_id, run_id)
    if link:
        links.append(f"Airflow run: {link}")
    return links


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
    link = airflow_link(settings, dag_id, run_id)
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
