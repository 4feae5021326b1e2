"""The Zendesk stand-in paginates like the real incremental cursor export API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from cxscore.errors import CxError
from cxscore.standins.zendesk import (
    StubServer,
    decode_cursor,
    encode_cursor,
    start_stub,
)

AUTH = ("demo@example.com/token", "demo-token")
TICKETS = "/api/v2/incremental/tickets/cursor.json"
USERS = "/api/v2/incremental/users/cursor.json"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def _iso(ts: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ticket(tid: int, updated: int, status: str = "open", created: int | None = None) -> str:
    created = updated if created is None else created
    ticket = {
        "id": tid,
        "created_at": _iso(created),
        "updated_at": _iso(updated),
        "status": status,
        "via": {"channel": "email"},
        "requester_id": 100 + tid,
        "tags": [],
    }
    metric = None
    if status != "deleted":
        metric = {"id": 9000 + tid, "ticket_id": tid, "updated_at": _iso(updated), "reopens": 0}
    return json.dumps({"ticket": ticket, "metric_set": metric})


def _write_world(root: Path, deliveries: dict[int, list[str]], users: dict[int, list[str]]) -> Path:
    (root / "zendesk" / "tickets").mkdir(parents=True)
    (root / "zendesk" / "users").mkdir(parents=True)
    for k, lines in deliveries.items():
        path = root / "zendesk" / "tickets" / f"delivery-{k:04d}.jsonl"
        path.write_text("".join(line + "\n" for line in lines))
    for k, lines in users.items():
        path = root / "zendesk" / "users" / f"delivery-{k:04d}.jsonl"
        path.write_text("".join(line + "\n" for line in lines))
    manifest = {
        "deliveries": [
            {"k": k, "zendesk_cutoff": _iso(T0 + 86_400 * 10 * k)} for k in sorted(deliveries)
        ]
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def _user(uid: int, updated: int, phone: str) -> str:
    return json.dumps(
        {
            "id": uid,
            "created_at": _iso(T0),
            "updated_at": _iso(updated),
            "email": f"u{uid}@example.com",
            "phone": phone,
            "user_fields": {"segment": "gold"},
        }
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("zdworld")
    return _write_world(
        root,
        {
            # delivery 1: five tickets; ticket 3 has two versions (only the latest is served)
            1: [
                _ticket(1, T0 + 100),
                _ticket(2, T0 + 200),
                _ticket(3, T0 + 300, "new"),
                _ticket(4, T0 + 300),
                _ticket(5, T0 + 400, "deleted"),
                _ticket(3, T0 + 350, "solved", created=T0 + 300),
                _ticket(6, T0 - 500),  # before the start_time used below
            ],
            # delivery 2: ticket 1 is solved later, ticket 7 is new
            2: [_ticket(1, T0 + 86_400 * 12, "solved", created=T0 + 100), _ticket(7, T0 + 500)],
        },
        {
            1: [_user(11, T0 + 10, "+15550001"), _user(12, T0 + 20, "")],
            2: [_user(11, T0 + 99_999, "+15550002")],
        },
    )


@pytest.fixture
def stub(world: Path) -> Iterator[StubServer]:
    server = start_stub(world, port=0, increment=1)
    try:
        yield server
    finally:
        server.stop()


def _get(stub: StubServer, path: str, auth: Any = AUTH, **params: Any) -> requests.Response:
    return requests.get(stub.base_url + path, params=params, auth=auth, timeout=10)


def test_cursor_round_trip_pages_without_duplicates(stub: StubServer) -> None:
    first = _get(stub, TICKETS, start_time=T0, per_page=2, include="metric_sets")
    assert first.status_code == 200
    body = first.json()
    assert list(body) == [
        "after_cursor",
        "after_url",
        "before_cursor",
        "before_url",
        "end_of_stream",
        "tickets",
        "metric_sets",
    ]
    assert [t["id"] for t in body["tickets"]] == [1, 2]
    assert [m["ticket_id"] for m in body["metric_sets"]] == [1, 2]
    assert body["end_of_stream"] is False
    assert body["before_cursor"] is None
    assert decode_cursor(body["after_cursor"]) == (T0 + 200, 2)
    seen = [t["id"] for t in body["tickets"]]
    pages = 1
    # follow after_url exactly as returned (it keeps per_page and include)
    while not body["end_of_stream"]:
        resp = requests.get(body["after_url"], auth=AUTH, timeout=10)
        assert resp.status_code == 200
        body = resp.json()
        pages += 1
        seen += [t["id"] for t in body["tickets"]]
        assert [m["ticket_id"] for m in body["metric_sets"]] == [
            t["id"] for t in body["tickets"] if t["status"] != "deleted"
        ]
    # ticket 3 appears once, in its latest state, at its latest position; 6 is too old
    assert seen == [1, 2, 4, 3, 5]
    assert pages == 3
    assert len(seen) == len(set(seen))
    statuses = {t["id"]: t["status"] for t in body["tickets"]}
    assert statuses == {5: "deleted"}


def test_exhausted_stream_keeps_cursor_and_shows_new_versions_after_it(stub: StubServer) -> None:
    body = _get(stub, TICKETS, start_time=T0, include="metric_sets").json()
    assert body["end_of_stream"] is True
    assert len(body["tickets"]) == 5
    cursor = body["after_cursor"]
    assert decode_cursor(cursor) == (T0 + 400, 5)
    again = _get(stub, TICKETS, cursor=cursor, include="metric_sets").json()
    assert again["tickets"] == [] and again["metric_sets"] == []
    assert again["end_of_stream"] is True
    assert again["after_cursor"] == cursor  # still usable for the next run
    assert again["before_cursor"] is None

    stub.set_increment(2)
    later = _get(stub, TICKETS, cursor=cursor, include="metric_sets").json()
    assert [(t["id"], t["status"]) for t in later["tickets"]] == [(7, "open"), (1, "solved")]
    assert later["end_of_stream"] is True
    assert decode_cursor(later["after_cursor"]) == (T0 + 86_400 * 12, 1)
    assert later["before_cursor"] == encode_cursor(T0 + 500, 7)
    # a full re-export from start_time now shows ticket 1 only once, at its new position
    full = _get(stub, TICKETS, start_time=T0).json()
    assert [t["id"] for t in full["tickets"]] == [2, 4, 3, 5, 7, 1]
    assert "metric_sets" not in full


def test_users_stream_and_new_user_versions(stub: StubServer) -> None:
    body = _get(stub, USERS, start_time=T0).json()
    assert [(u["id"], u["phone"]) for u in body["users"]] == [(11, "+15550001"), (12, "")]
    assert body["end_of_stream"] is True
    stub.set_increment(2)
    nxt = _get(stub, USERS, cursor=body["after_cursor"]).json()
    assert [(u["id"], u["phone"]) for u in nxt["users"]] == [(11, "+15550002")]


def test_exclude_deleted_and_start_time_filter(stub: StubServer) -> None:
    body = _get(stub, TICKETS, start_time=T0 + 250, exclude_deleted="true").json()
    assert [t["id"] for t in body["tickets"]] == [4, 3]
    everything = _get(stub, TICKETS, start_time=0).json()
    assert [t["id"] for t in everything["tickets"]] == [6, 1, 2, 4, 3, 5]


def test_empty_first_page_cursor_stays_at_start_time(stub: StubServer) -> None:
    body = _get(stub, TICKETS, start_time=T0 + 5000).json()
    assert body["tickets"] == [] and body["end_of_stream"] is True
    assert decode_cursor(body["after_cursor"]) == (T0 + 5000, 0)
    stub.set_increment(2)
    later = _get(stub, TICKETS, cursor=body["after_cursor"]).json()
    assert [t["id"] for t in later["tickets"]] == [1]


def test_wrong_credentials_get_401_with_zendesk_body(stub: StubServer) -> None:
    wrong = _get(stub, TICKETS, auth=("demo@example.com/token", "nope"), start_time=T0)
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "Couldn't authenticate you"}
    missing = _get(stub, TICKETS, auth=None, start_time=T0)
    assert missing.status_code == 401


def test_bad_requests_are_refused_like_zendesk(stub: StubServer) -> None:
    assert _get(stub, TICKETS).status_code == 400  # neither start_time nor cursor
    bad_cursor = _get(stub, TICKETS, cursor="not-a-cursor")
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["error"] == "InvalidPaginationParameter"
    assert _get(stub, TICKETS, start_time=T0, per_page=1001).status_code == 400
    # "now" is delivery 1's cut-off (T0 + 10 days): a start_time within the last minute fails
    too_recent = _get(stub, TICKETS, start_time=T0 + 86_400 * 10 - 30)
    assert too_recent.status_code == 400
    assert "Too recent" in too_recent.json()["description"]
    assert _get(stub, "/api/v2/users.json").status_code == 404
    # the ticket list is served for a look-up by external_id only
    assert _get(stub, "/api/v2/tickets.json").status_code == 400


def test_injected_429_has_retry_after_and_5xx(world: Path) -> None:
    with start_stub(world, port=0, fail_429_every=2, retry_after=3) as stub:
        assert _get(stub, TICKETS, start_time=T0).status_code == 200
        limited = _get(stub, TICKETS, start_time=T0)
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "3"
        assert limited.json()["error"] == "APIRateLimitExceeded"
        assert _get(stub, TICKETS, start_time=T0).status_code == 200
        assert stub.requests_seen == 3
    with start_stub(world, port=0, fail_5xx_every=1) as stub:
        assert _get(stub, TICKETS, start_time=T0).status_code == 503


def test_custom_credentials_and_increment_bounds(world: Path) -> None:
    with start_stub(world, port=0, email="a@b.c", token="t0k") as stub:
        assert stub.deliveries == 2 and stub.increment == 2
        ok = _get(stub, TICKETS, auth=("a@b.c/token", "t0k"), start_time=T0)
        assert ok.status_code == 200
        assert _get(stub, TICKETS, start_time=T0).status_code == 401
        with pytest.raises(CxError, match="out of range"):
            stub.set_increment(3)


def test_missing_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CxError, match="cxscore generate"):
        start_stub(tmp_path / "nothing", port=0)


def test_cursor_format_matches_zendesk() -> None:
    # a cursor taken from Zendesk's own documentation
    assert decode_cursor("MTU3NjYxMzUzOS4wfHw0Njd8") == (1576613539, 467)
    assert encode_cursor(1576613539, 467) == "MTU3NjYxMzUzOS4wfHw0Njd8"


def test_cli_serve_sources_serves_until_stopped(world: Path) -> None:
    import re
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "cxscore.cli", "serve-sources", "--data", str(world), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", banner)
        assert match, banner
        resp = requests.get(
            match.group(0) + TICKETS, params={"start_time": T0}, auth=AUTH, timeout=10
        )
        assert resp.status_code == 200
        # no --increment: every delivery is served
        assert [t["id"] for t in resp.json()["tickets"]] == [2, 4, 3, 5, 7, 1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ------------------------------------------------------------------ tickets API (closed loop)
NEW_TICKET = {
    "subject": "Follow-up",
    "comment": {"body": "private note", "public": False},
    "requester_id": 11,
    "external_id": "cxscore-followup:qualtrics:R1",
    "tags": ["cxscore_followup", "email_support"],
    "type": "task",
    "due_at": "2026-01-23T00:00:00Z",
}


def _post(stub: StubServer, body: Any, auth: Any = AUTH) -> requests.Response:
    return requests.post(stub.base_url + "/api/v2/tickets", json=body, auth=auth, timeout=10)


def test_create_ticket_then_find_it_by_external_id_and_in_the_export(stub: StubServer) -> None:
    created = _post(stub, {"ticket": NEW_TICKET})
    assert created.status_code == 201
    body = created.json()
    ticket = body["ticket"]
    assert ticket["id"] == 8  # after the world's highest ticket id (7)
    assert created.headers["Location"] == ticket["url"]
    assert ticket["created_at"] == _iso(T0 + 86_400 * 10)  # the stand-in's clock: the cutoff
    assert (ticket["requester_id"], ticket["status"], ticket["is_public"]) == (11, "new", False)
    assert ticket["tags"] == ["cxscore_followup", "email_support"]
    assert body["audit"]["events"][0]["type"] == "Comment"
    assert body["audit"]["events"][0]["public"] is False

    found = _get(stub, "/api/v2/tickets.json", external_id="cxscore-followup:qualtrics:R1")
    assert found.status_code == 200
    assert found.json() == {
        "tickets": [ticket],
        "next_page": None,
        "previous_page": None,
        "count": 1,
    }
    none = _get(stub, "/api/v2/tickets", external_id="nope").json()
    assert (none["tickets"], none["count"]) == ([], 0)

    # the incremental export returns it (and its metric set), after the world's tickets
    page = _get(stub, TICKETS, start_time=T0, include="metric_sets").json()
    assert [t["id"] for t in page["tickets"]][-1] == 8
    assert page["metric_sets"][-1]["ticket_id"] == 8
    stub.tickets.solve(8, T0 + 86_400 * 10 + 3600)
    again = _get(stub, TICKETS, cursor=page["after_cursor"], include="metric_sets").json()
    assert [(t["id"], t["status"]) for t in again["tickets"]] == [(8, "solved")]
    assert again["metric_sets"][0]["solved_at"] == _iso(T0 + 86_400 * 10 + 3600)


def test_ticket_validation_auth_and_faults(stub: StubServer) -> None:
    refused = _post(stub, {"ticket": {**NEW_TICKET, "assignee_id": 12}})  # 12: no agent
    assert refused.status_code == 422
    assert refused.json() == {
        "error": "RecordInvalid",
        "description": "Record validation errors",
        "details": {
            "assignee": [{"description": "Assignee: is not an agent", "error": "InvalidValue"}]
        },
    }
    assert _post(stub, {"ticket": {**NEW_TICKET, "requester_id": 999}}).status_code == 422
    assert _post(stub, {"ticket": {**NEW_TICKET, "comment": {}}}).status_code == 422
    assert _post(stub, {"ticket": NEW_TICKET}, auth=("x", "y")).status_code == 401
    assert stub.tickets.posts == 0
    stub.config.fail_429_every = 1
    try:
        limited = _post(stub, {"ticket": NEW_TICKET})
    finally:
        stub.config.fail_429_every = 0
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert stub.tickets.posts == 0


def test_a_user_of_a_later_increment_can_be_the_requester(tmp_path: Path) -> None:
    root = _write_world(
        tmp_path / "w",
        {1: [_ticket(1, T0 + 100)], 2: [_ticket(2, T0 + 200)]},
        {1: [_user(11, T0 + 10, "")], 2: [_user(13, T0 + 86_400 * 12, "")]},
    )
    with start_stub(root, increment=1) as stub:
        assert _post(stub, {"ticket": {**NEW_TICKET, "requester_id": 13}}).status_code == 422
        stub.set_increment(2)
        assert _post(stub, {"ticket": {**NEW_TICKET, "requester_id": 13}}).status_code == 201
