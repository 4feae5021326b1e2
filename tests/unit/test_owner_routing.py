"""Owner routing settings: routes by role slug, webhook URLs from the environment only."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxscore.notify.routing import resolve_route, role_slug
from cxscore.settings import ConfigError, load_settings


def test_role_slug() -> None:
    assert role_slug("Ops supervisor") == "ops_supervisor"
    assert role_slug(" CX analyst ") == "cx_analyst"
    assert role_slug("E-commerce lead") == "e_commerce_lead"


def test_routes_from_file_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "cxscore.yml"
    config.write_text(
        "alerts: {email: {smtp_host: mail.internal, sender: cx@x.example,"
        " recipients: [oncall@x]}}\n"
        "owners:\n  routes:\n    ops_supervisor: {email: [ops@x.example]}\n",
        encoding="utf-8",
    )
    env = {"CX_OWNERS__ROUTES__OPS_SUPERVISOR__SLACK_WEBHOOK_URL": "https://hooks.example/T/B/x"}
    settings = load_settings(config, environ=env)
    route = resolve_route(settings, "Ops supervisor")
    assert route.routed and route.fallback_note is None
    assert route.settings.alerts.email.recipients == ["ops@x.example"]
    assert route.settings.alerts.email.smtp_host == "mail.internal"
    slack = route.settings.alerts.slack_webhook_url
    assert slack is not None and slack.get_secret_value().endswith("/x")
    assert route.settings.alerts.webhook_url is None  # never the default's webhook
    fallback = resolve_route(settings, "Team lead")
    assert not fallback.routed and fallback.settings.alerts.email.recipients == ["oncall@x"]
    assert "owners.routes.team_lead" in (fallback.fallback_note or "")


@pytest.mark.parametrize("key", ["slack_webhook_url", "webhook_url"])
def test_owner_webhook_urls_never_in_a_file(tmp_path: Path, key: str) -> None:
    config = tmp_path / "cxscore.yml"
    config.write_text(
        f"owners:\n  routes:\n    cx_analyst: {{{key}: 'https://hooks.example/secret'}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_settings(config, environ={})
    message = str(err.value)
    assert f"owners.routes.cx_analyst.{key}" in message and "hooks.example" not in message
    assert f"CX_OWNERS__ROUTES__CX_ANALYST__{key.upper()}" in message


def test_peak_hours_are_hours(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"signals\.peak_hours"):
        load_settings(environ={"CX_SIGNALS__PEAK_HOURS": "[8, 24]"})
