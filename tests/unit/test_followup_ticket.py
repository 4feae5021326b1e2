"""The follow-up ticket's body and the closed_loop settings (no network, no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from cxscore.settings import ConfigError, load_settings
from cxscore.signals.followup import build_ticket, external_id, route_of

CANDIDATE: dict[str, Any] = {
    "followup_key": "zendesk:4711",
    "source": "zendesk",
    "record_id": "4711",
    "reason": "negative_sentiment",
    "interaction_id": "zendesk:4711",
    "touchpoint_id": "chat_support",
    "touchpoint_name": "Support chat",
    "owner": "Support team lead",
    "customer_id": "zendesk:501",
    "requester_id": 501,
    "score": Decimal("-0.8"),
    "triggered_at": datetime(2026, 3, 2, 10, 15, tzinfo=UTC),
}


def test_defaults_are_off() -> None:
    cfg = load_settings(environ={}).closed_loop
    assert (cfg.enabled, cfg.cooldown_days, cfg.sla_hours, cfg.consent_field) == (
        False,
        7,
        48.0,
        None,
    )
    assert cfg.routes == {} and cfg.include_comment is False


def test_routes_from_the_environment_and_wrong_types_name_the_key() -> None:
    settings = load_settings(
        environ={
            "CX_CLOSED_LOOP__ENABLED": "true",
            "CX_CLOSED_LOOP__ROUTES": "{support_team_lead: {group_id: 12, assignee_id: 34},"
            " default: {group_id: 56}}",
        }
    )
    assert route_of(settings, "Support team lead").model_dump() == {
        "group_id": 12,
        "assignee_id": 34,
    }
    assert route_of(settings, "Ops supervisor").model_dump() == {
        "group_id": 56,
        "assignee_id": None,
    }
    with pytest.raises(ConfigError, match=r"closed_loop\.cooldown_days"):
        load_settings(environ={"CX_CLOSED_LOOP__COOLDOWN_DAYS": "soon"})


def test_ticket_body() -> None:
    settings = load_settings(
        environ={
            "CX_SOURCES__ZENDESK__BASE_URL": "https://acme.zendesk.com/",
            "CX_CLOSED_LOOP__ROUTES": "{support_team_lead: {group_id: 12}}",
            "CX_CLOSED_LOOP__SLA_HOURS": "24",
        }
    )
    due = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    ticket = build_ticket(settings, CANDIDATE, due)
    assert ticket["external_id"] == external_id("zendesk:4711") == "cxscore-followup:zendesk:4711"
    assert ticket["requester_id"] == 501
    assert ticket["tags"] == ["cxscore_followup", "chat_support"]
    assert (ticket["type"], ticket["due_at"]) == ("task", "2026-03-04T10:00:00Z")
    assert ticket["group_id"] == 12 and "assignee_id" not in ticket
    assert ticket["comment"]["public"] is False
    assert ticket["comment"]["body"].splitlines() == [
        "cxscore follow-up: a negative customer moment (sentiment) (negative_sentiment -0.8)"
        " at Support chat (chat_support).",
        "Triggered by zendesk 4711 on 2026-03-02 10:15 UTC.",
        "Interaction: https://acme.zendesk.com/agent/tickets/4711",
        "Please contact the customer and solve this ticket within 24 hours.",
    ]
    unknown = build_ticket(settings, {**CANDIDATE, "requester_id": None, "owner": None}, due)
    assert "requester_id" not in unknown and "group_id" not in unknown
