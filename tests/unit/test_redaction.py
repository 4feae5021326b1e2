"""The one redaction helper: URLs in every form, free text, JSON-like output, logs."""

from __future__ import annotations

import logging

import pytest

from cxscore.redaction import (
    RedactingFilter,
    clear_registry,
    describe_error,
    redact_obj,
    redact_text,
    redact_url,
    redact_webhook_url,
    register_settings,
    url_has_password,
)
from cxscore.settings import load_settings


@pytest.fixture(autouse=True)
def _fresh_registry() -> None:
    clear_registry()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://cx:hunter2@db:5432/cx", "postgresql://cx:***@db:5432/cx"),
        ("postgresql://cx:p%40ss@db/cx", "postgresql://cx:***@db/cx"),
        ("postgresql://cx@db/cx?password=hunter2", "postgresql://cx@db/cx?password=***"),
        (
            "postgresql:///cx?host=/tmp/s&user=cx&PASSWORD=hunter2&sslmode=require",
            "postgresql:///cx?host=/tmp/s&user=cx&PASSWORD=***&sslmode=require",
        ),
        ("postgresql://cx@db:5432/cx", "postgresql://cx@db:5432/cx"),
        ("https://acme.zendesk.com/api/v2", "https://acme.zendesk.com/api/v2"),
    ],
)
def test_redact_url_hides_passwords_in_every_form(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert url_has_password(url) is (shown != url)
    assert "hunter2" not in redact_text(f"cannot connect to {url}: refused")


def test_webhook_url_shows_the_host_at_most() -> None:
    url = "https://hooks.slack.com/services/T000/B000/XXXXSECRET?token=abc"
    assert redact_webhook_url(url) == "https://hooks.slack.com/***"
    assert redact_webhook_url("http://127.0.0.1:8080/hook") == "http://127.0.0.1:8080/***"


def test_registered_settings_secrets_vanish_from_text_and_json() -> None:
    settings = load_settings(
        environ={
            "CX_ALERTS__SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/XYZSECRET",
            "CX_SOURCES__ZENDESK__API_TOKEN": "tok-83920174",
            "CX_WAREHOUSE__URL": "postgresql://cx:hunter2@db/cx",
            "CX_IDENTITY__HASH_KEY": "hash-key-0123",
        }
    )
    register_settings(settings)
    text = (
        "POST https://hooks.slack.com/services/T0/B0/XYZSECRET failed; with url: "
        "/services/T0/B0/XYZSECRET; token tok-83920174; key hash-key-0123; dsn "
        "host=db password=hunter2 user=cx"
    )
    shown = redact_text(text)
    for secret in ("XYZSECRET", "tok-83920174", "hash-key-0123", "hunter2"):
        assert secret not in shown
    assert "POST https://hooks.slack.com/*** failed" in shown
    assert redact_obj({"errors": [text], "n": 3}) == {"errors": [shown], "n": 3}


def test_describe_error_of_a_requests_failure_names_no_path() -> None:
    import requests

    url = "http://127.0.0.1:9/services/T0/B0/XYZSECRET"
    try:
        requests.post(url, data="{}", timeout=2)
    except requests.RequestException as exc:
        assert "XYZSECRET" in str(exc)  # what requests says...
        message = describe_error(exc, url)
    assert message.startswith("ConnectionError: ")
    assert "XYZSECRET" not in message  # ...and what cxscore shows
    assert "/services" not in message


def test_logging_filter_redacts_registered_secrets(caplog: pytest.LogCaptureFixture) -> None:
    register_settings(load_settings(environ={"CX_SOURCES__ZENDESK__API_TOKEN": "tok-83920174"}))
    logger = logging.getLogger("cxscore.test_redaction")
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="cxscore.test_redaction"):
        logger.info("token is %s", "tok-83920174")
    assert caplog.records[0].getMessage() == "token is ***"
