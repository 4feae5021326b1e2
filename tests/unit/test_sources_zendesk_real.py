"""Zendesk parsers on real API pages other people recorded and published.

The files are not in this repository: data fetched from other projects is kept only under the
workplace's shared fixtures (``../shared/fixtures/zendesk`` beside the checkout, or
``$CX_VENDOR_FIXTURES/zendesk``), each group with its upstream licence and ``SOURCES.md``
(origin, commit, how real it is). The tests skip, saying so, where that folder is absent.

- ``embulk-input-zendesk/`` (treasure-data/embulk-input-zendesk, Apache-2.0): pages recorded
  from Treasure Data's helpdesk and a trial account, some values edited by its maintainers.
- ``go-zendesk/`` (nukosuke/go-zendesk, MIT): list pages recorded from the author's sandbox.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from cxscore.paths import project_root
from cxscore.sources.zendesk import parse_page
from cxscore.sources.zendesk_ticket_events import parse_events_page

VENDOR = Path(os.environ.get("CX_VENDOR_FIXTURES") or project_root().parent / "shared" / "fixtures")
ZENDESK = VENDOR / "zendesk"

pytestmark = pytest.mark.skipif(
    not (ZENDESK / "SOURCES.md").is_file(),
    reason=f"the shared vendor fixtures are not at {ZENDESK} (set CX_VENDOR_FIXTURES)",
)


def page(name: str) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads((ZENDESK / name).read_bytes())
    return body


def payload(row: tuple[Any, ...]) -> Any:
    """The item as received (a row's last column)."""
    return orjson.loads(row[-1])


def rows(parsed: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows without their payload (the last column: the item as received)."""
    return [r[:-1] for r in parsed]


def test_cursor_export_page_from_a_production_helpdesk() -> None:
    body = page("embulk-input-zendesk/cursor_based_tickets.json")
    parsed = parse_page("tickets", body)
    assert parsed.rejections == []
    assert rows(parsed.rows["tickets"]) == [
        (
            10046,
            "2015-07-17T09:44:45+00:00",
            "2015-07-23T08:03:20+00:00",
            "closed",
            "api",
            1149067997,
        )
    ]
    assert parsed.rows["ticket_metric_sets"] == []
    assert (parsed.after_cursor, parsed.end_of_stream, parsed.items) == ("xxxx", True, 1)
    assert parsed.max_updated_at == "2015-07-23T08:03:20+00:00"
    # the payload keeps the ticket as received: Japanese text, CRLF, 43 custom fields
    received = payload(parsed.rows["tickets"][0])
    assert received == body["tickets"][0]
    assert len(received["custom_fields"]) == 43
    assert "\r\n" in received["description"]

    following = parse_page(
        "tickets", page("embulk-input-zendesk/cursor_based_tickets_incremental.json")
    )
    assert following.end_of_stream is False  # the loop asks for the next page


def test_time_based_page_with_a_ticket_twice_and_side_loaded_metric_sets() -> None:
    parsed = parse_page("tickets", page("embulk-input-zendesk/tickets.json"))
    assert parsed.rejections == []
    # both copies of 1002 are loaded as read; staging keeps one version per ticket
    assert [r[0] for r in parsed.rows["tickets"]] == [2, 3, 4, 1002, 1002]
    assert [r[4] for r in parsed.rows["tickets"]] == ["web", "web", "web", "api", "api"]

    metrics = parse_page("tickets", page("embulk-input-zendesk/ticket_metrics.json"))
    assert metrics.rejections == []
    assert rows(metrics.rows["ticket_metric_sets"]) == [
        (367414816973, 2, "2019-02-20T06:51:50+00:00", "2019-02-20T06:51:50+00:00"),
        (367414819433, 3, "2019-02-20T06:52:02+00:00", "2019-02-20T06:52:02+00:00"),
        (367414821253, 4, "2019-02-20T06:52:13+00:00", "2019-02-20T06:52:13+00:00"),
    ]
    # unanswered tickets: every *_in_minutes is {calendar: null, business: null}, not a reject
    first = payload(metrics.rows["ticket_metric_sets"][0])
    assert first["reply_time_in_minutes"] == {"calendar": None, "business": None}
    assert metrics.items == 6 and metrics.max_updated_at == "2019-02-20T06:52:13+00:00"


def test_list_pages_of_tickets_and_users() -> None:
    tickets = parse_page("tickets", page("go-zendesk/tickets.json"))
    assert tickets.rejections == []
    assert rows(tickets.rows["tickets"]) == [
        (
            2,
            "2019-06-03T02:23:47+00:00",
            "2019-06-05T01:13:24+00:00",
            "solved",
            "email",
            377922500012,
        ),
        (
            3,
            "2019-06-03T02:34:52+00:00",
            "2019-06-03T02:35:05+00:00",
            "solved",
            "web",
            377922500012,
        ),
    ]
    users = parse_page("users", page("go-zendesk/users.json"))
    assert rows(users.rows["users"]) == [
        (369531345753, "2018-11-23T16:05:13+00:00", "2018-11-23T16:05:14+00:00"),
        (369537351454, "2018-11-23T16:05:12+00:00", "2018-11-30T19:12:34+00:00"),
    ]
    admin = parse_page("users", page("embulk-input-zendesk/simple_user.json"))
    assert rows(admin.rows["users"]) == [
        (1194092277, "2015-08-11T02:38:14+00:00", "2019-03-11T07:22:57+00:00")
    ]
    assert admin.rejections == [] and users.rejections == []


def test_ticket_events_recorded_without_comment_events() -> None:
    body = page("embulk-input-zendesk/ticket_events_updated_by_system_records.json")
    parsed = parse_events_page(body)
    assert parsed.rejections == []
    # one Comment child per audit that has one (3 of 4 events); no body was asked for, so the
    # comment is recorded with comment_public as its visibility and stays unscored
    assert rows(parsed.rows) == [
        (614323587494, 1, 614323587394, None, "2019-02-20T06:50:45+00:00", "t"),
        (613784741493, 2, 613784741453, None, "2019-02-20T06:51:50+00:00", "t"),
        (613784845113, 3, 613784845093, None, "2019-02-20T06:52:02+00:00", "t"),
    ]
    assert (parsed.events, parsed.items, parsed.end_time) == (4, 3, 1550645522)
    assert "body" not in payload(parsed.rows[0])
    # recorded before Zendesk sent end_of_stream: a page of count 100 < 1000 is the last
    assert parsed.end_of_stream is True


def test_full_ticket_events_page_without_end_of_stream_asks_for_more() -> None:
    body = page("embulk-input-zendesk/ticket_events_share_same_time_with_next_page.json")
    assert "end_of_stream" not in body and body["count"] == 1000
    seen: set[int] = set()
    first = parse_events_page(body, seen=seen)
    assert first.end_of_stream is False  # full page: the next start_time is end_time
    assert first.end_time == 1550645443 and len(first.rows) == 3
    # the same second delivered again on the next page: nothing twice
    again = parse_events_page(body, seen=seen)
    assert again.rows == [] and again.rejections == []
