"""Zendesk ticket comments through the stand-in's ticket events export (time-based paging,
the boundary second again, 429 + Retry-After) into real PostgreSQL, scored at load time
without the text leaving raw."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests

from cxscore.extract import extract_source
from cxscore.settings import Settings, load_settings
from cxscore.standins.zendesk import StubServer, start_stub
from tests.helpers import query

pytestmark = pytest.mark.pg

EMAIL, TOKEN = "cx@example.com", "s3cret-token"
T0 = 1767258000  # 2026-01-01T09:00:00Z
GERMAN = "Das ist eine Katastrophe, ich bin wütend und sehr enttäuscht"
HUNGARIAN = "Borzalmas, nagyon rossz szolgáltatás, dühös vagyok"


def _write(path: Path, items: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(i) + b"\n" for i in items))


def _iso(ts: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event(event_id: int, ticket: int, ts: int, comment_id: int, author: int, body: str) -> dict:
    return {
        "id": event_id,
        "ticket_id": ticket,
        "timestamp": ts,
        "created_at": _iso(ts),
        "updater_id": author,
        "via": "Web form",
        "event_type": "Audit",
        "merged_ticket_ids": [],
        "child_events": [
            {
                "id": comment_id,
                "event_type": "Comment",
                "type": "Comment",
                "body": body,
                "html_body": f"<p>{body}</p>",
                "public": True,
                "author_id": author,
                "attachments": [],
                "via": "Web form",
            },
            {"id": comment_id + 1, "event_type": "Change", "field_name": "status"},
        ],
    }


@pytest.fixture
def world(tmp_path: Path) -> Path:
    data = tmp_path / "world"
    z = data / "zendesk"
    tickets = [
        {
            "ticket": {
                "id": i,
                "created_at": _iso(T0),
                "updated_at": _iso(T0),
                "status": "open",
                "via": {"channel": "web"},
                "requester_id": 100 + i,
            },
            "metric_set": None,
        }
        for i in (1, 2)
    ]
    _write(z / "tickets" / "delivery-0001.jsonl", tickets)
    users = [
        {"id": 101, "role": "end-user", "locale": "de", "created_at": _iso(T0)},
        {"id": 102, "role": "end-user", "locale": "hu-HU", "created_at": _iso(T0)},
        {"id": 900, "role": "agent", "locale": "en-US", "created_at": _iso(T0)},
    ]
    _write(z / "users" / "delivery-0001.jsonl", [{**u, "updated_at": _iso(T0)} for u in users])
    _write(
        z / "ticket_events" / "delivery-0001.jsonl",
        [
            event(1, 1, T0 + 60, 11, 101, GERMAN),
            event(2, 1, T0 + 120, 13, 900, "Es tut uns leid, wir kümmern uns darum."),
            event(3, 2, T0 + 120, 21, 102, HUNGARIAN),
            event(4, 2, T0 + 180, 23, 102, "12345"),
        ],
    )
    _write(
        z / "ticket_events" / "delivery-0002.jsonl",
        [event(5, 1, T0 + 3600, 15, 101, "Danke, jetzt ist alles gut und super schnell")],
    )
    (data / "manifest.json").write_text(
        orjson.dumps(
            {
                "deliveries": [
                    {"k": 1, "zendesk_cutoff": _iso(T0 + 1800)},
                    {"k": 2, "zendesk_cutoff": _iso(T0 + 7200)},
                ]
            }
        ).decode()
    )
    return data


@pytest.fixture
def stub(world: Path) -> Iterator[StubServer]:
    server = start_stub(
        world, port=0, email=EMAIL, token=TOKEN, fail_429_every=2, retry_after=0, increment=1
    )
    yield server
    server.stop()


def settings_for(stub: StubServer, tmp_path: Path) -> Settings:
    return load_settings(
        environ={
            "CX_LANDING_DIR": str(tmp_path / "landing"),
            "CX_SOURCES__ZENDESK__BASE_URL": stub.base_url,
            "CX_SOURCES__ZENDESK__EMAIL": EMAIL,
            "CX_SOURCES__ZENDESK__API_TOKEN": TOKEN,
            "CX_SOURCES__ZENDESK__BACKOFF_SECONDS": "0",
            "CX_SOURCES__ZENDESK__START_TIME": "2025-12-01T00:00:00Z",
            "CX_SOURCES__ZENDESK__PER_PAGE": "1",  # several pages, so several 429s
        }
    )


def _get(stub: StubServer, **params: Any) -> requests.Response:
    return requests.get(
        f"{stub.base_url}/api/v2/incremental/ticket_events.json",
        params=params,
        auth=(f"{EMAIL}/token", TOKEN),
        timeout=10,
    )


def _ok(stub: StubServer, **params: Any) -> dict[str, Any]:
    for _ in range(3):  # every 2nd request is an injected 429
        resp = _get(stub, **params)
        if resp.status_code == 429:
            assert resp.headers["Retry-After"] == "0"
            continue
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body
    raise AssertionError("no 200 in three tries")


def test_stand_in_serves_the_time_based_ticket_events_shape(stub: StubServer) -> None:
    page = _ok(stub, start_time=T0, include="comment_events", per_page=1)
    assert set(page) == {"ticket_events", "next_page", "count", "end_of_stream", "end_time"}
    # per_page 1 but the page's last second is complete: both events of T0+60 .. one each
    assert [e["id"] for e in page["ticket_events"]] == [1]
    assert page["end_time"] == T0 + 60 and page["end_of_stream"] is False
    assert f"start_time={T0 + 60}" in page["next_page"]
    page = _ok(stub, start_time=T0 + 120, include="comment_events", per_page=1)
    assert [e["id"] for e in page["ticket_events"]] == [2, 3]  # the whole second
    page = _ok(stub, start_time=T0 + 120, include="comment_events")
    assert page["end_of_stream"] is True and page["count"] == 3
    # without include=comment_events no comment child events
    plain = _ok(stub, start_time=T0)
    assert all(
        c["event_type"] != "Comment" for e in plain["ticket_events"] for c in e["child_events"]
    )
    wrong = requests.get(
        f"{stub.base_url}/api/v2/incremental/ticket_events.json",
        params={"start_time": T0},
        auth=(f"{EMAIL}/token", "wrong"),
        timeout=10,
    )
    assert wrong.status_code in (401, 429)
    assert _get(stub).status_code in (400, 429)


def test_comments_once_scored_without_text_and_never_rescored(
    fresh_db: str, stub: StubServer, tmp_path: Path
) -> None:
    settings = settings_for(stub, tmp_path)
    first = extract_source(settings, "zendesk", url=fresh_db, run_id="r1")
    assert first["status"] == "succeeded"
    # every 2nd request to an endpoint is an injected 429: waited for and retried
    assert stub.requests_seen == 2 * first["pages"] - 3  # 3 endpoints
    rows = query(
        fresh_db, "select count(*), count(distinct comment_id) from raw.zendesk__ticket_comments"
    )
    assert rows == [(4, 4)]
    scores = dict(
        (r[0], r[1:])
        for r in query(
            fresh_db,
            "select message_id, is_customer, language, language_source, scorer, score "
            "from raw.sentiment__message_scores order by 1",
        )
    )
    assert set(scores) == {f"zendesk_comment:{i}" for i in (11, 13, 21, 23)}
    de, agent, hu, number = (scores[f"zendesk_comment:{i}"] for i in (11, 13, 21, 23))
    assert de[:4] == (True, "de", "declared", "afinn-mt") and de[4] < 0
    assert hu[:3] == (True, "hu", "declared") and hu[4] < 0
    assert agent == (False, None, None, None, None)  # loaded, not scored
    assert number[0] is True and number[4] is None  # no scoring word: unscored, not 0
    assert first["sentiment"]["messages"] == 4 and first["sentiment"]["scored"] == 2
    # no text outside the comments table
    columns = {
        r[0]
        for r in query(
            fresh_db,
            "select column_name from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'sentiment__message_scores'",
        )
    }
    assert not columns & {"body", "text", "payload", "comment"}
    scored_at = query(fresh_db, "select max(_scored_at) from raw.sentiment__message_scores")

    stub.set_increment(2)
    second = extract_source(settings, "zendesk", url=fresh_db, run_id="r2")
    assert second["status"] == "succeeded"
    rows = query(
        fresh_db, "select count(*), count(distinct comment_id) from raw.zendesk__ticket_comments"
    )
    assert rows == [(5, 5)]  # the boundary second came again and was not stored twice
    again = query(
        fresh_db,
        "select count(*), max(_scored_at) filter (where message_id <> 'zendesk_comment:15') "
        "from raw.sentiment__message_scores",
    )
    assert again == [(5, scored_at[0][0])]
    state = query(
        fresh_db,
        "select cursor from meta.extract_state where source = 'zendesk' "
        "and stream = 'ticket_events'",
    )
    assert state == [(str(T0 + 3600),)]


def test_a_start_time_less_than_a_minute_old_means_nothing_new(
    fresh_db: str, stub: StubServer, tmp_path: Path
) -> None:
    """Found by the soak benchmark: the API answers HTTP 400 "Too recent start_time" when
    the stored start_time (the last page's end_time) is within a minute of its clock; that
    failed the whole Zendesk extract instead of meaning "nothing new yet"."""
    settings = settings_for(stub, tmp_path)
    assert extract_source(settings, "zendesk", url=fresh_db, run_id="r1")["status"] == "succeeded"
    now = stub._server.data.now()
    assert now is not None
    query(
        fresh_db,
        "update meta.extract_state set cursor = %s where source = 'zendesk' "
        "and stream = 'ticket_events'",
        (str(now - 30),),
    )
    again = extract_source(settings, "zendesk", url=fresh_db, run_id="r2")
    assert again["status"] == "succeeded", again.get("error")
    assert query(fresh_db, "select count(*) from raw.zendesk__ticket_comments") == [(4,)]
    assert query(
        fresh_db,
        "select cursor from meta.extract_state where source = 'zendesk' "
        "and stream = 'ticket_events'",
    ) == [(str(now - 30),)]


def test_comment_batches_pass_their_gx_suites_and_leave_the_gate_open(
    fresh_db: str, stub: StubServer, tmp_path: Path
) -> None:
    from cxscore.quality.gate import run_raw_checks

    settings = settings_for(stub, tmp_path)
    extract_source(settings, "zendesk", url=fresh_db, run_id="r1")
    outcome, state = run_raw_checks(settings, url=fresh_db, run_id="c1", sources=["zendesk"])
    assert outcome.batches.get("zendesk__ticket_comments")
    assert outcome.batches.get("sentiment__message_scores")  # the scoring batch, checked too
    assert state.items == [], state.items
    failed = query(
        fresh_db,
        "select suite, expectation from quality.check_results where not success "
        "and suite in ('zendesk__ticket_comments', 'sentiment__message_scores')",
    )
    assert failed == []
