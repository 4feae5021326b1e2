"""Closing the loop end to end (signals.md): the hand-made world (tests/dbt/world.py) plus
follow-up responses, built by real dbt on real PostgreSQL, and the local Zendesk stand-in
as the ticket API. N due follow-ups create N tickets, exactly once: a process killed with
SIGKILL while its POST is in flight, then re-run, leaves no duplicate; a 429 storm is waited
out; a 422 is recorded on the ledger and alerted; consent and cooldown are honoured; the
created tickets come back through the incremental export and the followup metrics are the
hand-computed ones, incrementally and after a full refresh."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from cxscore.settings import Settings
from cxscore.standins.zendesk import StubServer, start_stub
from tests.dbt import world
from tests.helpers import query
from tests.integration.test_owner_signals import Receiver

pytestmark = [pytest.mark.pg, pytest.mark.slow]

CONSENT = "followup_ok"
CUTOFF = "2026-03-06T00:00:00Z"  # the stand-in's clock: tickets are created at this instant
AGENT = 900


def _response(rid: str, *, consent: str | None, touchpoint: str, email: str | None = None,
              nps: str | None = None, csat: str | None = None) -> dict[str, Any]:  # fmt: skip
    payload = world._response(rid, csat=csat, nps=nps, ces=None, email=email,
                              touchpoint=touchpoint)  # fmt: skip
    payload["columns"] = {CONSENT: consent} if consent is not None else {}
    return payload


# (response_id, end_date, finished, status, payload, batch). U1 = a@x.com (zendesk:1),
# U2 = b@x.com (zendesk:2). With consent_field followup_ok and a 7-day cooldown:
#   F1 U1 nps 2, yes, 03-03 10:00            -> due
#   F2 U1 csat 1, yes, 03-05 10:00           -> not due (cooldown: 2 days after F1)
#   F3 U2 nps 4, "no", 03-03 11:00           -> not eligible (consent)
#   F4 U2 nps 5, "1", 03-04 09:00            -> due
#   F5 no customer, nps 0, "true", web_returns -> due; its route's assignee is no agent: 422
#   F6 U2 nps 9, yes                         -> no trigger (a promoter)
#   R2 (world) csat 2 / nps 3, no consent field in its export -> not eligible
FOLLOWUP_RESPONSES: list[tuple[Any, ...]] = [
    ("F1", "2026-03-03T10:00:00Z", "1", "0",
     _response("F1", consent="yes", touchpoint="email_support", email="a@x.com", nps="2"), 2),
    ("F2", "2026-03-05T10:00:00Z", "1", "0",
     _response("F2", consent="yes", touchpoint="email_support", email="a@x.com", csat="1"), 2),
    ("F3", "2026-03-03T11:00:00Z", "1", "0",
     _response("F3", consent="no", touchpoint="email_support", email="b@x.com", nps="4"), 2),
    ("F4", "2026-03-04T09:00:00Z", "1", "0",
     _response("F4", consent="1", touchpoint="chat_support", email="b@x.com", nps="5"), 2),
    ("F5", "2026-03-04T10:00:00Z", "1", "0",
     _response("F5", consent="true", touchpoint="web_returns", nps="0"), 2),
    ("F6", "2026-03-04T11:00:00Z", "1", "0",
     _response("F6", consent="yes", touchpoint="chat_support", email="b@x.com", nps="9"), 2),
]  # fmt: skip


def _stub_world(root: Path) -> Path:
    """The stand-in's data: the world's users (same payloads) and one agent; no tickets."""
    users = root / "zendesk" / "users"
    users.mkdir(parents=True)
    (root / "zendesk" / "tickets").mkdir(parents=True)
    lines = [
        orjson.dumps({**payload, "created_at": created, "updated_at": updated, "role": "end-user"})
        for _, created, updated, payload, _ in world.USERS
    ]
    lines.append(
        orjson.dumps(
            {"id": AGENT, "role": "agent", "email": "agent@cxdemo.example.com",
             "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
        )
    )  # fmt: skip
    (users / "delivery-0001.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (root / "manifest.json").write_text(
        orjson.dumps({"deliveries": [{"k": 1, "zendesk_cutoff": CUTOFF}]}).decode()
    )
    return root


def _env(url: str, stub: StubServer, receiver: Receiver, state: Path) -> dict[str, str]:
    return {
        "CX_IDENTITY__HASH_KEY": world.HASH_KEY,
        "CX_STATE_DIR": str(state),
        "CX_WAREHOUSE__URL": url,
        "CX_SOURCES__ZENDESK__BASE_URL": stub.base_url,
        "CX_SOURCES__ZENDESK__EMAIL": "demo@example.com",
        "CX_SOURCES__ZENDESK__API_TOKEN": "demo-token",
        "CX_SOURCES__ZENDESK__BACKOFF_SECONDS": "0.05",
        "CX_SOURCES__ZENDESK__MAX_RETRIES": "8",
        "CX_SOURCES__ENABLED": "[zendesk]",
        "CX_ALERTS__WEBHOOK_URL": f"{receiver.base}/default",
        "CX_ALERTS__TIMEOUT_SECONDS": "3",
        "CX_CLOSED_LOOP__ENABLED": "true",
        "CX_CLOSED_LOOP__CONSENT_FIELD": CONSENT,
        "CX_CLOSED_LOOP__ROUTES": (
            "{default: {group_id: 360000100001}, support_team_lead: {group_id: 360000100002,"
            f" assignee_id: {AGENT}}}, returns_desk_lead: {{assignee_id: 999}}}}"
        ),
        "CX_OWNERS__REPORT_URL": "https://bi.example.com/scorecard.html",
    }


@pytest.fixture(scope="module")
def loop(pg_server_url: str, tmp_path_factory: Any) -> Iterator[dict[str, Any]]:
    from cxscore.pipeline import check_scorecard, publish_scorecard
    from cxscore.settings import load_settings
    from cxscore.transform import build_models

    receiver = Receiver()
    base = tmp_path_factory.mktemp("loop")
    stub = start_stub(_stub_world(base / "zendesk-world"), retry_after=0)
    try:
        with world.scratch_database(pg_server_url) as url:
            env = _env(url, stub, receiver, base / "state")
            settings = load_settings(environ=env)
            data = {
                "users": world.USERS,
                "tickets": world.TICKETS,
                "metric_sets": world.METRIC_SETS,
                "contacts": world.CONTACTS,
                "responses": world.RESPONSES + FOLLOWUP_RESPONSES,
                "orders": world.ORDERS,
                "sentiment": world.SENTIMENT,
            }
            world.insert_world(url, data=data)
            # loads of this test start above the hand-made world's batch ids
            query(
                url, "select setval(pg_get_serial_sequence('meta.load_batches', 'batch_id'), 100)"
            )
            summary = build_models(settings, url=url, full_refresh=True)
            assert summary["tests_failed"] == 0, summary["failures"]
            check_scorecard(settings, url=url, run_id="b0")
            publish_scorecard(url, run_id="b0")
            yield {"url": url, "stub": stub, "receiver": receiver, "env": env,
                   "settings": settings, "base": base}  # fmt: skip
    finally:
        stub.stop()
        receiver.server.shutdown()


def _rebuild(settings: Settings, url: str, run_id: str, *, full_refresh: bool = False) -> None:
    from cxscore.pipeline import check_scorecard, publish_scorecard
    from cxscore.quality.gate import run_raw_checks
    from cxscore.transform import build_models

    run_raw_checks(settings, url=url, run_id=run_id)
    summary = build_models(settings, url=url, run_id=run_id, full_refresh=full_refresh)
    assert summary["tests_failed"] == 0, summary["failures"]
    check_scorecard(settings, url=url, run_id=run_id)
    publish_scorecard(url, run_id=run_id)


DUE = {"qualtrics:F1", "qualtrics:F4", "qualtrics:F5"}


def test_candidates_consent_and_cooldown(loop: dict[str, Any]) -> None:
    rows = query(
        loop["url"],
        "select followup_key, reason, touchpoint_id, requester_id, is_eligible, is_due"
        " from marts.fct_followups order by followup_key",
    )
    by_key = {r[0]: r[1:] for r in rows}
    assert {k for k, v in by_key.items() if v[4]} == DUE | _world_due(by_key)
    assert by_key["qualtrics:F1"] == ("nps", "email_support", 1, True, True)
    assert by_key["qualtrics:F2"] == ("csat", "email_support", 1, True, False)  # cooldown
    assert by_key["qualtrics:F3"] == ("nps", "email_support", 2, False, False)  # consent "no"
    assert by_key["qualtrics:F4"] == ("nps", "chat_support", 2, True, True)
    assert by_key["qualtrics:F5"] == ("nps", "web_returns", None, True, True)
    assert by_key["qualtrics:R2"][3:] == (False, False)  # no consent value in its export
    assert "qualtrics:F6" not in by_key


def _world_due(by_key: dict[str, Any]) -> set[str]:
    """The hand-made world's own negative interaction: connect:C8 (-0.6) on 03-01."""
    assert by_key["amazon_connect:C8"][0] == "negative_sentiment"
    return {"amazon_connect:C8"}


def test_kill_retry_storm_refusal_exactly_once(loop: dict[str, Any]) -> None:
    from cxscore.signals.followup import run_followups

    url, stub, receiver = loop["url"], loop["stub"], loop["receiver"]
    settings: Settings = loop["settings"]
    due = DUE | {"amazon_connect:C8"}

    # dry run: lists, writes nothing, calls nothing
    dry = run_followups(settings, url=url, dry_run=True)
    assert dry["due"] == len(due)
    assert {t["external_id"] for t in dry["would_create"]} == {f"cxscore-followup:{k}" for k in due}
    assert query(url, "select count(*) from meta.followups") == [(0,)]
    assert stub.tickets.posts == 0

    # a run killed with SIGKILL after its first POST created the ticket, before the answer
    stub.config.post_delay_seconds = 30
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CX_")}, **loop["env"]}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cxscore.cli", "followup"],
        env=env,
        cwd=loop["base"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while stub.tickets.posts < 1 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert stub.tickets.posts == 1, proc.stderr.read().decode() if proc.stderr else ""
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    ledger = query(url, "select followup_key, status, ticket_id from meta.followups")
    assert len(ledger) == 1 and ledger[0][1:] == ("pending", None)
    in_flight = ledger[0][0]

    # re-run through a 429 storm (every second request): looks up the pending one first
    stub.config.post_delay_seconds = 0
    stub.config.fail_429_every = 2
    try:
        summary = run_followups(settings, url=url, run_id="rerun")
    finally:
        stub.config.fail_429_every = 0
    assert summary["due"] == len(due)
    assert summary["found_existing"] == 1
    assert summary["created"] == len(due) - 2  # minus the one found, minus the refused F5
    assert summary["failed"] == 1
    assert summary["rate_limited"] >= 2

    by_key = {
        r[0]: r[1:]
        for r in query(
            url,
            "select followup_key, status, ticket_id, http_status, error, attempts"
            " from meta.followups",
        )
    }
    assert set(by_key) == due
    assert by_key[in_flight][0] == "created" and by_key[in_flight][4] == 2
    assert by_key["qualtrics:F5"][:3] == ("failed", None, 422)
    assert "Assignee: is not an agent" in by_key["qualtrics:F5"][3]
    created = {k: v[1] for k, v in by_key.items() if v[0] == "created"}
    assert len(created) == len(due) - 1

    # exactly one ticket per follow-up in Zendesk, with the contract's fields
    tickets = stub.tickets.created
    assert len(tickets) == len(created)
    by_external = {t["external_id"]: t for t in tickets.values()}
    assert set(by_external) == {f"cxscore-followup:{k}" for k in created}
    f1 = by_external["cxscore-followup:qualtrics:F1"]
    assert f1["id"] == created["qualtrics:F1"]
    assert f1["requester_id"] == 1
    assert f1["tags"] == ["cxscore_followup", "email_support"]
    assert (f1["group_id"], f1["assignee_id"]) == (360000100002, AGENT)
    assert f1["is_public"] is False and f1["type"] == "task" and f1["due_at"]
    assert "qualtrics F1" in f1["description"]
    assert "private text" not in f1["description"]  # the survey comment is not copied
    c8 = by_external["cxscore-followup:amazon_connect:C8"]
    assert (c8["group_id"], c8["assignee_id"]) == (360000100001, None)  # default route
    assert c8["tags"] == ["cxscore_followup", "phone_support"]

    # the refusal was alerted on the default channel, once
    alerts = [b for b in receiver.bodies("/default") if b.get("event") == "followup_failed"]
    assert len(alerts) == 1
    assert alerts[0]["title"] == "Zendesk refused 1 follow-up ticket(s)"
    assert "qualtrics:F5" in alerts[0]["text"] and "HTTP 422" in alerts[0]["text"]

    # a second run creates nothing and does not retry the refusal
    posts = stub.tickets.posts
    again = run_followups(settings, url=url, run_id="again")
    assert (again["due"], again["created"], again["found_existing"], again["failed"]) == (
        0,
        0,
        0,
        0,
    )
    assert stub.tickets.posts == posts


def _followup_metrics(url: str) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    rows = query(
        url,
        "select touchpoint_id, cast(period_start as text), metric, value, numerator,"
        " sample_size from marts.touchpoint_scorecard where period_grain = 'day' and"
        " segment = 'all' and metric in ('followup_rate_pct', 'followup_within_sla_pct')"
        " and sample_size > 0",
    )
    return {(r[0], r[1], r[2]): r[3:] for r in rows}


def test_tickets_come_back_and_metrics(loop: dict[str, Any]) -> None:
    """Runs after the exactly-once test (module order): the created tickets are ingested
    from the stand-in's export, two are solved (one within 48 h), and the metrics are:
    followup_rate_pct by the trigger's day (1 due, 1 created each on email_support 03-03,
    chat_support 03-04, phone_support 03-01; web_returns 03-04: 1 due, 0 created = 0 %),
    followup_within_sla_pct on 2026-03-06 (the stand-in's clock) per touchpoint: F1 solved
    after 1 h (100 %), F4 after 49 h (0 %), C8 open (0 %)."""
    from cxscore.extract import extract_source

    url, stub = loop["url"], loop["stub"]
    settings: Settings = loop["settings"]
    created = dict(
        query(url, "select followup_key, ticket_id from meta.followups where status = 'created'")
    )
    assert len(created) == 3, "runs after test_kill_retry_storm_refusal_exactly_once"
    cutoff = int(datetime.fromisoformat(CUTOFF.replace("Z", "+00:00")).timestamp())
    stub.tickets.solve(created["qualtrics:F1"], cutoff + 3600)
    stub.tickets.solve(created["qualtrics:F4"], cutoff + 49 * 3600)
    extract_source(settings, "zendesk", url=url, run_id="ingest")
    loaded = query(
        url,
        "select count(distinct id) from raw.zendesk__tickets where payload ->> 'external_id'"
        " like 'cxscore-followup:%'",
    )
    assert loaded == [(3,)]
    _rebuild(settings, url, "b1")
    # follow-up tickets are our outreach, not interactions
    assert query(
        url,
        "select count(*) from marts.fct_interactions where interaction_id in %s",
        (tuple(f"zendesk:{t}" for t in created.values()),),
    ) == [(0,)]
    expected = {
        ("phone_support", "2026-03-01", "followup_rate_pct"): (Decimal(100), Decimal(1), 1),
        ("email_support", "2026-03-03", "followup_rate_pct"): (Decimal(100), Decimal(1), 1),
        ("chat_support", "2026-03-04", "followup_rate_pct"): (Decimal(100), Decimal(1), 1),
        ("web_returns", "2026-03-04", "followup_rate_pct"): (Decimal(0), Decimal(0), 1),
        ("email_support", "2026-03-06", "followup_within_sla_pct"): (Decimal(100), Decimal(1), 1),
        ("chat_support", "2026-03-06", "followup_within_sla_pct"): (Decimal(0), Decimal(0), 1),
        ("phone_support", "2026-03-06", "followup_within_sla_pct"): (Decimal(0), Decimal(0), 1),
    }
    incremental = _followup_metrics(url)
    assert incremental == expected
    status = query(
        url,
        "select status, owner from marts.touchpoint_scorecard where period_grain = 'week'"
        " and segment = 'all' and touchpoint_id = 'email_support'"
        " and metric = 'followup_rate_pct'",
    )
    assert status == [("low_sample", "Team lead")]  # 1 < min_sample 10
    # the same numbers from scratch
    _rebuild(settings, url, "b2", full_refresh=True)
    assert _followup_metrics(url) == expected


def test_disabled_means_nothing(loop: dict[str, Any]) -> None:
    from cxscore.settings import load_settings
    from cxscore.signals.followup import run_followups

    env = {**loop["env"], "CX_CLOSED_LOOP__ENABLED": "false"}
    summary = run_followups(load_settings(environ=env), url=loop["url"])
    assert summary["enabled"] is False and summary["created"] == 0
