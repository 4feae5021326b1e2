"""Zendesk into real PostgreSQL through the local API stand-in, with injected 429s and 5xx:
every record arrives exactly once, and the stored cursor resumes where the last run ended."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from cxscore.errors import CxError
from cxscore.extract import extract_source, extract_sources
from cxscore.settings import Settings, load_settings
from cxscore.standins.zendesk import StubServer, start_stub
from tests.helpers import query

pytestmark = pytest.mark.pg

EMAIL, TOKEN = "cx@example.com", "s3cret-token"


def ticket(i: int, updated: str, status: str = "open", **extra: Any) -> dict[str, Any]:
    body = {
        "id": i,
        "created_at": "2026-01-02T08:00:00Z",
        "updated_at": updated,
        "status": status,
        "via": {"channel": "web"},
        "requester_id": 100 + i,
        "tags": ["returns"],
    }
    body.update(extra)
    return body


def metric_set(i: int, updated: str, reopens: int = 0) -> dict[str, Any]:
    return {
        "id": 1000 + i,
        "ticket_id": i,
        "created_at": "2026-01-02T08:00:00Z",
        "updated_at": updated,
        "reopens": reopens,
        "reply_time_in_minutes": {"calendar": 30, "business": 20},
    }


def user(i: int, updated: str) -> dict[str, Any]:
    return {
        "id": i,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": updated,
        "email": f"u{i}@example.com",
        "user_fields": {"segment": "gold"},
    }


def _write(path: Path, items: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(i) + b"\n" for i in items))


@pytest.fixture
def world(tmp_path: Path) -> Path:
    data = tmp_path / "world"
    z = data / "zendesk"
    day = "2026-01-0{}T10:00:00Z".format
    _write(
        z / "tickets" / "delivery-0001.jsonl",
        [
            {"ticket": ticket(i, day(i + 2)), "metric_set": metric_set(i, day(i + 2))}
            for i in range(1, 6)
        ]
        + [{"ticket": ticket(6, day(8), created_at="not a date"), "metric_set": None}],
    )
    _write(
        z / "tickets" / "delivery-0002.jsonl",
        [
            {
                "ticket": ticket(3, "2026-01-09T10:00:00Z", "solved"),
                "metric_set": metric_set(3, "2026-01-09T10:00:00Z", reopens=1),
            },
            {"ticket": ticket(7, "2026-01-09T11:00:00Z"), "metric_set": None},
        ],
    )
    _write(z / "users" / "delivery-0001.jsonl", [user(i, day(1)) for i in (101, 102, 103)])
    _write(z / "users" / "delivery-0002.jsonl", [user(102, "2026-01-09T12:00:00Z")])
    return data


@pytest.fixture
def stub(world: Path) -> Iterator[StubServer]:
    server = start_stub(
        world,
        port=0,
        email=EMAIL,
        token=TOKEN,
        fail_429_every=3,
        fail_5xx_every=5,
        retry_after=0,
        increment=1,
    )
    yield server
    server.stop()


def settings_for(stub: StubServer, tmp_path: Path, **env: str) -> Settings:
    return load_settings(
        environ={
            "CX_LANDING_DIR": str(tmp_path / "landing"),
            "CX_SOURCES__ZENDESK__BASE_URL": stub.base_url,
            "CX_SOURCES__ZENDESK__EMAIL": EMAIL,
            "CX_SOURCES__ZENDESK__API_TOKEN": TOKEN,
            "CX_SOURCES__ZENDESK__PER_PAGE": "2",
            "CX_SOURCES__ZENDESK__BACKOFF_SECONDS": "0",
            "CX_SOURCES__ZENDESK__START_TIME": "2025-12-01T00:00:00Z",
            "CX_LOAD__MAX_REJECT_PCT": "50",
            # the ticket events (comments) stream: tests/integration/test_zendesk_comments.py
            "CX_SOURCES__ZENDESK__TICKET_COMMENTS": "false",
            **env,
        }
    )


def exactly_once(url: str, table: str) -> tuple[int, int]:
    rows = query(url, f"select count(*), count(distinct (id, updated_at)) from {table}")
    return int(rows[0][0]), int(rows[0][1])


def test_every_record_once_through_failures_and_the_cursor_resumes(
    fresh_db: str, stub: StubServer, tmp_path: Path
) -> None:
    settings = settings_for(stub, tmp_path)

    first = extract_source(settings, "zendesk", url=fresh_db, run_id="r1")

    assert first["status"] == "succeeded"
    # tickets 3 pages of 2 (6 items: 5 loaded + 1 rejected), users 2 pages (3)
    assert first["pages"] == 5
    assert (first["rows_loaded"], first["rows_rejected"]) == (5 + 5 + 3, 1)
    assert stub.requests_seen > 5  # injected 429s and 503s were retried
    assert exactly_once(fresh_db, "raw.zendesk__tickets") == (5, 5)
    assert exactly_once(fresh_db, "raw.zendesk__ticket_metric_sets") == (5, 5)
    assert exactly_once(fresh_db, "raw.zendesk__users") == (3, 3)
    assert query(
        fresh_db,
        "select source, stream, _source_cursor, reason from raw.rejected_rows",
    ) == [
        (
            "zendesk",
            "tickets",
            query(fresh_db, "select _source_cursor from raw.zendesk__tickets where id = 5")[0][0],
            "tickets: created_at: unparseable timestamp 'not a date'",
        )
    ]
    assert query(
        fresh_db,
        "select id, status, via_channel, requester_id, payload->'tags'->>0 "
        "from raw.zendesk__tickets where id = 3",
    ) == [(3, "open", "web", 103, "returns")]
    cursors = dict(query(fresh_db, "select stream, cursor from meta.extract_state"))
    assert set(cursors) == {"tickets", "users"}
    batches = query(
        fresh_db, "select stream, status, pages, rows_loaded from meta.load_batches order by 1"
    )
    assert batches == [
        ("ticket_metric_sets", "succeeded", 3, 5),
        ("tickets", "succeeded", 3, 5),
        ("users", "succeeded", 2, 3),
    ]

    stub.set_increment(2)  # ticket 3 changed, ticket 7 new, user 102 changed
    second = extract_source(settings, "zendesk", url=fresh_db, run_id="r2")

    assert (second["rows_loaded"], second["rows_rejected"]) == (2 + 1 + 1, 0)
    assert exactly_once(fresh_db, "raw.zendesk__tickets") == (7, 7)
    assert exactly_once(fresh_db, "raw.zendesk__ticket_metric_sets") == (6, 6)
    assert exactly_once(fresh_db, "raw.zendesk__users") == (4, 4)
    resumed = query(
        fresh_db,
        "select distinct t._source_cursor from raw.zendesk__tickets t "
        "join meta.load_batches b on b.batch_id = t._batch_id where b.run_id = 'r2'",
    )
    assert resumed == [(f"cursor={cursors['tickets']}",)]  # started at the stored cursor
    assert query(
        fresh_db,
        "select status from raw.zendesk__tickets where id = 3 order by updated_at",
    ) == [("open",), ("solved",)]

    third = extract_source(settings, "zendesk", url=fresh_db, run_id="r3")
    assert (third["rows_read"], third["pages"]) == (0, 2)  # nothing re-read
    assert exactly_once(fresh_db, "raw.zendesk__tickets") == (7, 7)


def test_rejected_share_over_the_limit_fails_the_stream(
    fresh_db: str, stub: StubServer, tmp_path: Path
) -> None:
    settings = settings_for(stub, tmp_path, CX_LOAD__MAX_REJECT_PCT="1")
    with pytest.raises(CxError, match=r"zendesk tickets: 1 of 11 items rejected \(9\.1% > "):
        extract_source(settings, "zendesk", url=fresh_db)
    # the pages are committed and the cursor moved on: nothing is read twice later
    assert exactly_once(fresh_db, "raw.zendesk__tickets") == (5, 5)
    assert query(fresh_db, "select stream, status from meta.load_batches order by 1") == [
        ("ticket_metric_sets", "failed"),
        ("tickets", "failed"),
        ("users", "succeeded"),
    ]
    ((tickets_batch,),) = query(
        fresh_db, "select batch_id from meta.load_batches where stream = 'tickets'"
    )
    # a retry resumes past the committed pages, reads nothing and succeeds ...
    retry = extract_source(settings, "zendesk", url=fresh_db, run_id="retry")
    assert (retry["rows_read"], retry["error"]) == (0, None)
    # ... but the verdict holds: the checks quarantine the batch, and nothing is built
    from cxscore.errors import QualityGateFailed
    from cxscore.quality.gate import enforce_gate, run_raw_checks

    outcome, gate = run_raw_checks(
        settings,
        url=fresh_db,
        run_id="checks",
        sources=["zendesk"],
    )
    verdict = [
        (r.batch_id, r.observed_value)
        for r in outcome.critical_failures
        if r.expectation == "rejected_share_within_limit"
    ]
    # the tickets batch: 5 tickets loaded + 1 rejected (its metric sets have their own batch)
    assert verdict == [(tickets_batch, "1 of 6 items rejected (16.7%)")]
    assert sorted(gate.quarantined) == [tickets_batch]
    with pytest.raises(QualityGateFailed, match=f"batch {tickets_batch} "):
        enforce_gate(settings, url=fresh_db, run_id="build")


def test_bad_credentials_fail_at_once_with_what_to_check(
    fresh_db: str, stub: StubServer, tmp_path: Path
) -> None:
    settings = settings_for(stub, tmp_path, CX_SOURCES__ZENDESK__API_TOKEN="wrong")
    with pytest.raises(CxError) as failure:
        extract_sources(settings, ["zendesk", "orders"], url=fresh_db)
    message = str(failure.value)
    assert "Zendesk refused the credentials (401" in message
    assert "CX_SOURCES__ZENDESK__EMAIL / CX_SOURCES__ZENDESK__API_TOKEN" in message
    assert query(fresh_db, "select count(*) from meta.extract_state") == [(0,)]
    assert query(
        fresh_db, "select source, stream, status from meta.load_batches order by 3, 2"
    ) == [
        ("zendesk", "ticket_metric_sets", "failed"),
        ("zendesk", "tickets", "failed"),
        ("zendesk", "users", "failed"),
        ("orders", "orders", "succeeded"),  # the other sources still ran
    ]


@pytest.mark.parametrize("fail_stream", [None, "users"])
def test_the_streams_run_at_the_same_time_and_a_failing_one_stops_none(
    fresh_db: str,
    stub: StubServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fail_stream: str | None,
) -> None:
    """Tickets and users are followed at the same time: the first request of each waits
    until the other stream has made its own (one after another, the first would wait in
    vain and the run would fail). A stream that fails leaves the other to finish its pages;
    the run then fails and every batch of the source is failed."""
    import threading

    from cxscore.sources import zendesk

    both_started = threading.Barrier(2, timeout=30)
    first_seen: set[str] = set()
    real_get = zendesk.ZendeskClient.get

    def get(self: zendesk.ZendeskClient, url: str, params: dict[str, Any] | None) -> Any:
        stream = "users" if "/users/" in url else "tickets"
        if stream not in first_seen:
            first_seen.add(stream)
            both_started.wait()
            if stream == fail_stream:
                raise zendesk.ZendeskError(f"Zendesk answered HTTP 500 for {url}")
        return real_get(self, url, params)

    monkeypatch.setattr(zendesk.ZendeskClient, "get", get)
    settings = settings_for(stub, tmp_path)

    if fail_stream is None:
        summary = extract_source(settings, "zendesk", url=fresh_db, run_id="r1")
        assert (summary["status"], summary["pages"], summary["rows_loaded"]) == (
            "succeeded", 5, 5 + 5 + 3,
        )  # fmt: skip
        assert exactly_once(fresh_db, "raw.zendesk__users") == (3, 3)
    else:
        with pytest.raises(CxError, match=r"zendesk: Zendesk answered HTTP 500 for .*/users/"):
            extract_source(settings, "zendesk", url=fresh_db, run_id="r1")
        assert exactly_once(fresh_db, "raw.zendesk__users") == (0, 0)
    # the tickets stream went to its end either way, its position stored with its pages
    assert exactly_once(fresh_db, "raw.zendesk__tickets") == (5, 5)
    assert [r[0] for r in query(fresh_db, "select stream from meta.extract_state order by 1")] == (
        ["tickets", "users"] if fail_stream is None else ["tickets"]
    )
    status = "succeeded" if fail_stream is None else "failed"
    assert query(fresh_db, "select stream, status from meta.load_batches order by 1") == [
        ("ticket_metric_sets", status),
        ("tickets", status),
        ("users", status),
    ]
