"""Zendesk: page parsing and the HTTP client's retry rules, against the local API stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from cxscore.settings import ZendeskSettings
from cxscore.sources.zendesk import ZendeskClient, ZendeskError, parse_page
from cxscore.standins.zendesk import StubServer, start_stub

EMAIL, TOKEN = "cx@example.com", "s3cret-token"


def ticket(i: int, updated: str, **extra: Any) -> dict[str, Any]:
    body = {
        "id": i,
        "created_at": "2026-01-02T08:00:00Z",
        "updated_at": updated,
        "status": "open",
        "via": {"channel": "email"},
        "requester_id": 100 + i,
    }
    body.update(extra)
    return body


def test_parse_page_rows_metric_sets_and_rejections() -> None:
    body = {
        "tickets": [
            ticket(1, "2026-01-03T10:00:00Z", tags=["a"]),
            ticket(2, "2026-01-04T10:00:00+02:00", via={"channel": 29}),
            ticket(3, "2026-01-04T10:00:00Z", created_at="yesterday"),
            ticket(4, "2026-01-04T11:00:00Z", requester_id="x"),
            "not an object",
            {"status": "new"},  # incomplete: loaded
        ],
        "metric_sets": [
            {
                "id": 11,
                "ticket_id": 1,
                "created_at": "2026-01-02T08:00:00Z",
                "updated_at": "2026-01-05T00:00:00Z",
                "reopens": 1,
            },
        ],
        "after_cursor": "abc",
        "end_of_stream": False,
    }
    page = parse_page("tickets", body)
    assert (page.after_cursor, page.end_of_stream, page.items) == ("abc", False, 7)
    tickets = page.rows["tickets"]
    assert [t[:6] for t in tickets] == [
        (1, "2026-01-02T08:00:00+00:00", "2026-01-03T10:00:00+00:00", "open", "email", 101),
        (2, "2026-01-02T08:00:00+00:00", "2026-01-04T08:00:00+00:00", "open", "29", 102),
        (None, None, None, "new", None, None),
    ]
    payload = tickets[0][6]
    assert isinstance(payload, bytes)
    assert orjson.loads(payload)["tags"] == ["a"]
    assert page.rows["ticket_metric_sets"][0][:4] == (
        11,
        1,
        "2026-01-02T08:00:00+00:00",
        "2026-01-05T00:00:00+00:00",
    )
    assert [(r.line, r.reason) for r in page.rejections] == [
        (3, "tickets: created_at: unparseable timestamp 'yesterday'"),
        (4, "tickets: requester_id: 'x' is not a 64-bit integer"),
        (5, "tickets[5] is not a JSON object"),
    ]
    assert page.max_updated_at == "2026-01-05T00:00:00+00:00"


@pytest.fixture
def world(tmp_path: Path) -> Path:
    folder = tmp_path / "zendesk"
    (folder / "tickets").mkdir(parents=True)
    (folder / "users").mkdir(parents=True)
    lines = [
        orjson.dumps({"ticket": ticket(i, f"2026-01-0{i + 2}T10:00:00Z"), "metric_set": None})
        for i in range(1, 4)
    ]
    (folder / "tickets" / "delivery-0001.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (folder / "users" / "delivery-0001.jsonl").write_bytes(b"")
    return tmp_path


@pytest.fixture
def stub_factory(world: Path) -> Iterator[Any]:
    started: list[StubServer] = []

    def make(**kwargs: Any) -> StubServer:
        stub = start_stub(world, port=0, email=EMAIL, token=TOKEN, **kwargs)
        started.append(stub)
        return stub

    yield make
    for stub in started:
        stub.stop()


def client_for(stub: StubServer, sleeps: list[float], **cfg: Any) -> ZendeskClient:
    settings = ZendeskSettings.model_validate(
        {"base_url": stub.base_url, "email": EMAIL, "api_token": TOKEN, **cfg}
    )
    return ZendeskClient(settings, sleep=sleeps.append)


def test_client_honours_retry_after_and_backs_off_on_5xx(stub_factory: Any) -> None:
    stub = stub_factory(fail_429_every=2, fail_5xx_every=3, retry_after=7)
    sleeps: list[float] = []
    client = client_for(stub, sleeps, backoff_seconds=0.5)
    first = client.get(client.url("tickets"), client.params("tickets", cursor=None, start_time=0))
    assert len(first["tickets"]) == 3
    assert sleeps == []  # request 1 ok
    second = client.get(client.url("tickets"), {"cursor": first["after_cursor"]})
    assert second["tickets"] == [] and second["end_of_stream"] is True
    # request 2: 429 -> wait Retry-After (7 s); request 3: 503 -> backoff 0.5 s; 4: 429
    assert sleeps == [
        7.0,
        0.5,
        7.0,
    ]
    assert stub.requests_seen == 5


def test_client_gives_up_after_max_retries_and_names_credentials(stub_factory: Any) -> None:
    stub = stub_factory(fail_5xx_every=1)
    sleeps: list[float] = []
    client = client_for(stub, sleeps, max_retries=3, backoff_seconds=1)
    with pytest.raises(ZendeskError, match=r"failed after 4 attempts .*HTTP 503"):
        client.get(client.url("users"), {"start_time": 0})
    assert sleeps == [1.0, 2.0, 4.0]  # bounded exponential backoff

    limited = stub_factory(fail_429_every=1, retry_after=3)
    sleeps = []
    client = client_for(limited, sleeps, max_retries=2)
    with pytest.raises(ZendeskError, match=r"failed after 3 attempts .*HTTP 429"):
        client.get(client.url("users"), {"start_time": 0})
    assert sleeps == [3.0, 3.0]

    good = stub_factory()
    settings = ZendeskSettings.model_validate(
        {"base_url": good.base_url, "email": EMAIL, "api_token": "wrong"}
    )
    with pytest.raises(ZendeskError) as refused:
        ZendeskClient(settings).get(ZendeskClient(settings).url("users"), {"start_time": 0})
    assert "401" in str(refused.value)
    assert "CX_SOURCES__ZENDESK__EMAIL / CX_SOURCES__ZENDESK__API_TOKEN" in str(refused.value)
    assert "zendesk_default" in str(refused.value)
    with pytest.raises(ZendeskError, match="credentials are missing"):
        ZendeskClient(ZendeskSettings(base_url=good.base_url))


def test_pages_ahead_are_the_same_requests_and_errors_come_at_their_page(
    stub_factory: Any,
) -> None:
    from cxscore.sources.zendesk import next_cursor_params

    stub = stub_factory()
    client = client_for(stub, [], per_page=1)
    first = client.params("tickets", cursor=None, start_time=0)
    # one after another, as before: 3 pages of 1 ticket, the last one says end_of_stream
    expected, params = [], first
    while True:
        body = client.get(client.url("tickets"), params)
        expected.append((params, body))
        following = next_cursor_params(client, "tickets", 0)(params, body)
        if following is None:
            break
        params = following
    assert [(len(b["tickets"]), b["end_of_stream"]) for _, b in expected] == [
        (1, False),
        (1, False),
        (1, True),
    ]
    sequential = stub.requests_seen

    pages = client.pages(client.url("tickets"), first, next_cursor_params(client, "tickets", 0))
    assert list(pages) == expected
    assert stub.requests_seen == 2 * sequential  # the same requests, none more

    # an error getting a page is raised when that page is asked for, not before
    def to_a_bad_cursor(params: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        return {"cursor": "not-a-cursor"}

    pages = client.pages(client.url("tickets"), first, to_a_bad_cursor)
    assert next(pages) == expected[0]
    with pytest.raises(ZendeskError, match="HTTP 400"):
        next(pages)

    # closed after its first page: at most the one page ahead was requested
    before = stub.requests_seen
    pages = client.pages(client.url("tickets"), first, next_cursor_params(client, "tickets", 0))
    assert next(pages) == expected[0]
    pages.close()
    assert 1 <= stub.requests_seen - before <= 2


def test_metric_set_numbers_staging_casts_are_validated() -> None:
    def metric_set(i: int, **extra: Any) -> dict[str, Any]:
        return {
            "id": 900 + i,
            "ticket_id": i,
            "created_at": "2026-01-05T10:00:00Z",
            "updated_at": "2026-01-05T11:00:00Z",
            "reply_time_in_minutes": {"calendar": 30, "business": 30},
            "group_stations": 1,
            "reopens": 0,
            "solved_at": None,
            **extra,
        }

    page = parse_page(
        "tickets",
        {
            "tickets": [],
            "metric_sets": [
                metric_set(1),
                metric_set(2, reply_time_in_minutes={"calendar": "n/a"}),
                metric_set(3, group_stations=2.5),
                metric_set(4, reopens="99999999999"),
                metric_set(5, solved_at="yesterday"),
                metric_set(6, reply_time_in_minutes={"calendar": "1E+200000"}),
                metric_set(7, reply_time_in_minutes={"calendar": "12.5"}, reopens="2"),
                metric_set(8, reply_time_in_minutes=None, group_stations=None),
            ],
            "end_of_stream": True,
        },
    )
    assert [row[0] for row in page.rows["ticket_metric_sets"]] == [901, 907, 908]
    assert [(r.line, r.reason) for r in page.rejections] == [
        (2, "metric_sets: reply_time_in_minutes.calendar: 'n/a' is not a decimal"),
        (3, "metric_sets: group_stations: 2.5 is not an integer"),
        (4, "metric_sets: reopens: '99999999999' is out of the integer range"),
        (5, "metric_sets: solved_at: unparseable timestamp 'yesterday'"),
        (
            6,
            "metric_sets: reply_time_in_minutes.calendar: '1E+200000' is out of PostgreSQL's "
            "numeric range",
        ),
    ]
