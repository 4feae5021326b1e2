"""Alert delivery against real local receivers (HTTP on 127.0.0.1, aiosmtpd SMTP), and the
start/recover rule against real PostgreSQL with real GX checks."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace

import pytest

from cxscore.alerts import Alert, airflow_failure_callback, send_alert
from cxscore.errors import QualityGateFailed
from cxscore.quality import CheckResult, run_checks
from cxscore.quality.alerts import alert_dbt_test_failures, build_check_alert
from cxscore.quality.gate import enforce_gate
from cxscore.settings import Settings, load_settings
from tests.helpers import query
from tests.integration.test_quality import (
    NOW,
    TICKET_COLUMNS,
    _database,
    insert,
    new_batch,
    ticket,
)
from tests.receivers import Mailbox, Receiver, alert_channels, free_port


@pytest.fixture(scope="module")
def receivers() -> Iterator[tuple[Receiver, Mailbox, int]]:
    with alert_channels() as found:
        yield found


@pytest.fixture
def inbox(receivers: tuple[Receiver, Mailbox, int]) -> tuple[Receiver, Mailbox, int]:
    http, mailbox, _ = receivers
    http.posts.clear()
    mailbox.messages.clear()
    return receivers


def alert_settings(
    inbox: tuple[Receiver, Mailbox, int], *, slack: str | None = None, **extra: str
) -> Settings:
    http, _, port = inbox
    env = {
        "CX_ALERTS__SLACK_WEBHOOK_URL": slack or f"{http.base}/slack",
        "CX_ALERTS__WEBHOOK_URL": f"{http.base}/hook",
        "CX_ALERTS__EMAIL__SMTP_HOST": "127.0.0.1",
        "CX_ALERTS__EMAIL__SMTP_PORT": str(port),
        "CX_ALERTS__EMAIL__SENDER": "cxscore@example.com",
        "CX_ALERTS__EMAIL__RECIPIENTS": "[oncall@example.com, cx@example.com]",
        "CX_ALERTS__TIMEOUT_SECONDS": "3",
        "CX_QUALITY__MIN_TIMESTAMP": (NOW - timedelta(days=400)).isoformat(),
        **extra,
    }
    return load_settings(environ=env)


def failed_result(batch_id: int = 7) -> CheckResult:
    return CheckResult(
        suite="zendesk__tickets",
        table_name="raw.zendesk__tickets",
        expectation="expect_column_values_to_not_be_null",
        column_name="requester_id",
        severity="critical",
        success=False,
        observed_value="97.00% as expected (3 of 100 rows not)",
        threshold="not null for >= 98% of rows",
        batch_id=batch_id,
    )


def test_alert_reaches_slack_webhook_and_email(
    inbox: tuple[Receiver, Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    http, mailbox, _ = inbox
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "cx_ingest")
    monkeypatch.setenv("AIRFLOW_CTX_TASK_ID", "check_raw")
    settings = alert_settings(inbox, CX_ALERTS__AIRFLOW_BASE_URL="http://airflow.local:8080/")
    alert = build_check_alert(
        settings,
        event="quality_check_failed",
        suite="zendesk__tickets",
        results=[failed_result()],
        run_id="scheduled__2026-03-02T10:00:00+00:00",
    )
    assert send_alert(settings, alert) == []

    (slack,) = http.bodies("/slack")
    assert list(slack) == ["text"]
    text = slack["text"]
    for needle in (
        "[cxscore CRITICAL] quality suite zendesk__tickets on raw.zendesk__tickets: "
        "1 check(s) started failing",
        "- critical: expect_column_values_to_not_be_null (requester_id) on raw.zendesk__tickets"
        ", batch 7: observed 97.00% as expected (3 of 100 rows not); "
        "expected not null for >= 98% of rows",
        "dag cx_ingest, task check_raw, run scheduled__2026-03-02T10:00:00+00:00",
        "More: select * from quality.check_results where run_id = "
        "'scheduled__2026-03-02T10:00:00+00:00'",
        "Airflow run: http://airflow.local:8080/dags/cx_ingest/runs/"
        "scheduled__2026-03-02T10%3A00%3A00%2B00%3A00",
    ):
        assert needle in text

    (hook,) = http.bodies("/hook")
    assert {k: hook[k] for k in ("event", "severity", "dag_id", "task_id", "suite", "table")} == {
        "event": "quality_check_failed",
        "severity": "critical",
        "dag_id": "cx_ingest",
        "task_id": "check_raw",
        "suite": "zendesk__tickets",
        "table": "raw.zendesk__tickets",
    }
    assert (hook["run_id"], hook["batch_id"]) == ("scheduled__2026-03-02T10:00:00+00:00", 7)
    assert hook["observed"] == "97.00% as expected (3 of 100 rows not)"
    assert hook["expected"] == "not null for >= 98% of rows"
    assert hook["failed_expectations"] == [
        {
            "expectation": "expect_column_values_to_not_be_null",
            "column": "requester_id",
            "severity": "critical",
            "observed": "97.00% as expected (3 of 100 rows not)",
            "expected": "not null for >= 98% of rows",
            "batch_id": 7,
            "table": "raw.zendesk__tickets",
        }
    ]

    (mail,) = mailbox.messages
    assert mail["From"] == "cxscore@example.com"
    assert mail["To"] == "oncall@example.com, cx@example.com"
    assert mail["Subject"] == (
        "[cxscore critical] quality suite zendesk__tickets on raw.zendesk__tickets: "
        "1 check(s) started failing"
    )
    body = mail.get_content()
    assert "observed 97.00% as expected (3 of 100 rows not)" in body
    assert "select * from quality.check_results where run_id" in body


def test_receiver_down_is_logged_and_other_channels_still_deliver(
    inbox: tuple[Receiver, Mailbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    http, mailbox, _ = inbox
    dead = f"http://127.0.0.1:{free_port()}/slack"
    settings = alert_settings(inbox, slack=dead)
    alert = Alert(event="task_failed", severity="critical", title="something broke")
    with caplog.at_level(logging.ERROR, logger="cxscore.alerts"):
        errors = send_alert(settings, alert)
    assert len(errors) == 1 and errors[0].startswith(f"slack ({dead.rsplit('/', 1)[0]}/***)")
    assert ": ConnectionError: " in errors[0] and "/slack" not in errors[0]
    assert any("alert delivery failed on slack" in r.getMessage() for r in caplog.records)
    assert [b["event"] for b in http.bodies("/hook")] == ["task_failed"]
    assert len(mailbox.messages) == 1


def test_airflow_failure_callback_alerts_from_the_task_context(
    inbox: tuple[Receiver, Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    http, _, _ = inbox
    monkeypatch.setenv("CX_ALERTS__WEBHOOK_URL", f"{http.base}/hook")
    monkeypatch.setenv("CX_ALERTS__AIRFLOW_BASE_URL", "http://airflow.local")
    ti = SimpleNamespace(
        dag_id="cx_scorecard",
        task_id="dbt_build",
        run_id="manual__1",
        try_number=3,
        log_url="http://airflow.local/dags/cx_scorecard/runs/manual__1/tasks/dbt_build",
    )
    airflow_failure_callback({"ti": ti, "run_id": "manual__1", "exception": ValueError("boom")})
    (hook,) = http.bodies("/hook")
    assert (hook["event"], hook["severity"], hook["dag_id"], hook["task_id"], hook["run_id"]) == (
        "task_failed",
        "critical",
        "cx_scorecard",
        "dbt_build",
        "manual__1",
    )
    assert hook["observed"] == "boom"
    assert "Error: ValueError: boom" in hook["text"]
    assert "Attempts: 3" in hook["text"]
    assert f"Log: {ti.log_url}" in hook["text"]
    assert "Airflow run: http://airflow.local/dags/cx_scorecard/runs/manual__1" in hook["text"]


def test_airflow_failure_callback_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CX_ALERTS__WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/hook")
    airflow_failure_callback({"run_id": "r", "exception": RuntimeError("x")})  # no raise


# ---------------------------------------------------------------------------- with PostgreSQL
@pytest.fixture(scope="module")
def alert_db(pg_server_url: str) -> Iterator[str]:
    with _database(pg_server_url) as url:
        yield url


def add_tickets(url: str, *, nulls: int, first_id: int) -> int:
    batch = new_batch(url, "zendesk", "tickets")
    rows = [
        ticket(i, batch, requester=None if i < first_id + nulls else -1)
        for i in range(first_id, first_id + 100)
    ]
    insert(url, "raw.zendesk__tickets", TICKET_COLUMNS, rows)
    return batch


@pytest.mark.pg
@pytest.mark.slow
def test_alert_when_a_check_starts_failing_and_once_when_it_recovers(
    inbox: tuple[Receiver, Mailbox, int], alert_db: str
) -> None:
    http, mailbox, _ = inbox
    settings = alert_settings(inbox)
    suites = ["zendesk__tickets"]

    bad = add_tickets(alert_db, nulls=5, first_id=1)
    first = run_checks(settings, suites=suites, url=alert_db, run_id="a-1")
    assert len(first.critical_failures) == 1 and first.alerts_sent == 1
    (hook,) = http.bodies("/hook")
    assert (hook["event"], hook["severity"], hook["run_id"], hook["batch_id"]) == (
        "quality_check_failed",
        "critical",
        "a-1",
        bad,
    )
    assert [(f["expectation"], f["column"]) for f in hook["failed_expectations"]] == [
        ("expect_column_values_to_not_be_null", "requester_id")
    ]
    assert len(http.bodies("/slack")) == 1 and len(mailbox.messages) == 1

    # still failing on the next batch (and on the quarantined one, looked at again): no
    # repeated alert
    second_batch = add_tickets(alert_db, nulls=4, first_id=1001)
    second = run_checks(settings, suites=suites, url=alert_db, run_id="a-2")
    assert sorted(r.batch_id or 0 for r in second.critical_failures) == [bad, second_batch]
    assert second.alerts_sent == 0
    assert len(http.bodies("/hook")) == 1

    # a clean batch: one recovery message
    add_tickets(alert_db, nulls=0, first_id=2001)
    third = run_checks(settings, suites=suites, url=alert_db, run_id="a-3")
    assert third.critical_failures == [] and third.alerts_sent == 1
    recovery = http.bodies("/hook")[1]
    assert (recovery["event"], recovery["severity"], recovery["failed_expectations"]) == (
        "quality_check_recovered",
        "info",
        [],
    )
    assert "1 check(s) recovered" in http.bodies("/slack")[1]["text"]

    # nothing new: nothing sent
    fourth = run_checks(settings, suites=suites, url=alert_db, run_id="a-4")
    assert fourth.alerts_sent == 0 and len(http.posts) == 4 and len(mailbox.messages) == 2
    assert query(
        alert_db,
        "select failing, last_run_id from quality.alert_state where check_key = %s",
        ("zendesk__tickets|expect_column_values_to_not_be_null|requester_id",),
    ) == [(False, "a-3")]  # the batch check did not run in a-4


@pytest.mark.pg
@pytest.mark.slow
def test_receiver_down_still_surfaces_the_critical_failure(
    inbox: tuple[Receiver, Mailbox, int],
    alert_db: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from typer.testing import CliRunner

    from cxscore.cli import app

    query(alert_db, "delete from quality.alert_state")
    add_tickets(alert_db, nulls=10, first_id=5001)
    # a Slack-like secret path: in none of the log, stderr, --json output or return value
    dead = f"http://127.0.0.1:{free_port()}/services/T0/B0/XYZSECRETPATH"
    monkeypatch.setenv("CX_WAREHOUSE__URL", alert_db)
    monkeypatch.setenv("CX_ALERTS__SLACK_WEBHOOK_URL", dead)
    monkeypatch.setenv("CX_QUALITY__MIN_TIMESTAMP", (NOW - timedelta(days=400)).isoformat())
    with caplog.at_level(logging.ERROR, logger="cxscore.alerts"):
        result = CliRunner().invoke(app, ["check", "zendesk__tickets", "--json"])
    assert result.exit_code == 3, result.output
    summary = json.loads(result.stdout)
    assert len(summary["critical_failures"]) == 1
    assert summary["alert_errors"][0].startswith("slack (http://127.0.0.1:")
    assert "/***): ConnectionError: " in summary["alert_errors"][0]
    assert any("alert delivery failed on slack" in r.getMessage() for r in caplog.records)
    assert "XYZSECRETPATH" not in result.output + result.stderr + caplog.text

    # the same through the Python API: the gate still holds (exit code 3)
    query(alert_db, "delete from quality.alert_state")
    add_tickets(alert_db, nulls=10, first_id=6001)
    settings = alert_settings(inbox, slack=dead)
    outcome = run_checks(settings, suites=["zendesk__tickets"], url=alert_db, run_id="a-dead")
    assert outcome.alert_errors and outcome.critical_failures
    # what the Airflow task returns (its XCom) and prints
    assert "XYZSECRETPATH" not in json.dumps(outcome.summary()) + outcome.describe()
    with pytest.raises(QualityGateFailed) as raised:
        enforce_gate(settings, url=alert_db, run_id="a-dead")
    assert raised.value.exit_code == 3
    assert "a-dead" in str(raised.value)


@pytest.mark.pg
def test_dbt_test_failures_alert_once_and_recover(
    inbox: tuple[Receiver, Mailbox, int], alert_db: str
) -> None:
    http, _, _ = inbox
    settings = alert_settings(inbox)
    failures = [
        {
            "unique_id": "test.cxscore.unique_fct_interactions_interaction_id",
            "failures": 3,
            "relation": "marts.fct_interactions",
            "severity": "error",
        }
    ]
    assert alert_dbt_test_failures(settings, failures, "d-1", url=alert_db) == (1, [])
    (hook,) = http.bodies("/hook")
    assert (hook["event"], hook["severity"], hook["table"], hook["observed"]) == (
        "dbt_tests_failed",
        "critical",
        "marts.fct_interactions",
        "3 failing rows",
    )
    assert alert_dbt_test_failures(settings, failures, "d-2", url=alert_db) == (0, [])
    tested = ["test.cxscore.unique_fct_interactions_interaction_id"]
    assert alert_dbt_test_failures(settings, [], "d-3", url=alert_db, tested=tested) == (1, [])
    assert [b["event"] for b in http.bodies("/hook")] == [
        "dbt_tests_failed",
        "dbt_tests_recovered",
    ]
