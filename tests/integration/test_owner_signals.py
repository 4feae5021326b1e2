"""Owners hear it, end to end on real PostgreSQL and a real dbt build of the hand-made world
(tests/dbt/world.py), with a local webhook receiver and a local SMTP server (aiosmtpd):
status alerts (red once, a re-run and a full refresh send nothing, recovery once), the
weekly digest per owner, and the hourly signals (each once). Routes: Data engineer by
webhook and e-mail, CX analyst by webhook; every other role falls back to the default
webhook, and says so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cxscore.settings import Settings
from tests.dbt import world
from tests.helpers import query
from tests.receivers import Mailbox, Receiver, alert_channels

pytestmark = [pytest.mark.pg, pytest.mark.slow]


@pytest.fixture(scope="module")
def channels() -> Iterator[tuple[Receiver, Mailbox, int]]:
    with alert_channels() as found:
        yield found


@pytest.fixture(scope="module")
def settings(channels: tuple[Receiver, Mailbox, int], tmp_path_factory: Any) -> Settings:
    http, _, port = channels
    return world.make_settings(
        tmp_path_factory.mktemp("state"),
        CX_ALERTS__WEBHOOK_URL=f"{http.base}/default",
        CX_ALERTS__EMAIL__SMTP_HOST="127.0.0.1",
        CX_ALERTS__EMAIL__SMTP_PORT=str(port),
        CX_ALERTS__EMAIL__SENDER="cxscore@example.com",
        CX_ALERTS__EMAIL__RECIPIENTS="[oncall@example.com]",
        CX_ALERTS__TIMEOUT_SECONDS="3",
        CX_OWNERS__ROUTES__DATA_ENGINEER__WEBHOOK_URL=f"{http.base}/data-engineer",
        CX_OWNERS__ROUTES__DATA_ENGINEER__EMAIL="[de@example.com]",
        CX_OWNERS__ROUTES__CX_ANALYST__SLACK_WEBHOOK_URL=f"{http.base}/cx-analyst",
        CX_OWNERS__REPORT_URL="https://bi.example.com/scorecard.html",
        CX_SIGNALS__PEAK_HOURS="[8]",
    )


def _checked_publish(settings: Settings, url: str, run_id: str) -> None:
    """What `cxscore build` does after dbt: the scorecard checks, then publish."""
    from cxscore.pipeline import check_scorecard, publish_scorecard

    check_scorecard(settings, url=url, run_id=run_id)
    publish_scorecard(url, run_id=run_id)


@pytest.fixture(scope="module")
def published(pg_server_url: str, settings: Settings) -> Iterator[str]:
    """The hand-made world, built by dbt and published to marts."""
    from cxscore.transform import build_models

    with world.scratch_database(pg_server_url) as url:
        world.insert_world(url)
        summary = build_models(settings, url=url, full_refresh=True)
        assert summary["tests_failed"] == 0, summary["failures"]
        _checked_publish(settings, url, "t0")
        yield url


@pytest.fixture
def inbox(channels: tuple[Receiver, Mailbox, int]) -> tuple[Receiver, Mailbox]:
    http, mailbox, _ = channels
    http.posts.clear()
    mailbox.messages.clear()
    return http, mailbox


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _rows(body: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(r["touchpoint_id"], r["metric"], r["period_start"]) for r in body["rows"]}


def test_pain_points_published_and_readable_by_bi(published: str) -> None:
    rows = query(
        published,
        "set role cx_bi_reader; select period_grain, rank, touchpoint_id, metric, status,"
        " periods_flagged from marts.touchpoint_pain_points order by 1, 2",
    )
    assert ("week", 1, "phone_support", "data_completeness_pct", "red", 2) in rows
    assert all(r[4] in ("red", "amber") for r in rows)


def test_report_shows_the_pain_points(published: str, settings: Settings, tmp_path: Path) -> None:
    from cxscore.report import write_report

    write_report(settings, tmp_path / "scorecard.html", url=published)
    page = (tmp_path / "scorecard.html").read_text(encoding="utf-8")
    assert "Top pain points, week of 2026-03-02" in page
    assert "data_completeness_pct" in page.split("Top pain points")[1]


def test_status_alerts_red_once_recovery_once(
    published: str, settings: Settings, inbox: tuple[Receiver, Mailbox], tmp_path: Path
) -> None:
    from cxscore.signals.status import alert_status_changes
    from cxscore.transform import build_models

    http, mailbox = inbox
    url = published
    # today 2026-03-02: the latest complete day is 03-01, where phone_support's data
    # completeness is red (its owner: Data engineer, routed by webhook and e-mail)
    first = alert_status_changes(settings, url=url, run_id="r1", now=_at("2026-03-02T06:00"))
    assert first["turned_red"] == 1 and first["messages"] == 1, first
    [body] = http.bodies("/data-engineer")
    assert body["event"] == "scorecard_status_red" and body["owner"] == "Data engineer"
    assert _rows(body) == {("phone_support", "data_completeness_pct", "2026-03-01")}
    assert "target >= 98" in body["text"] and "https://bi.example.com" in body["text"]
    assert "no route" not in body["text"]
    [mail] = mailbox.messages
    assert mail["To"] == "de@example.com" and "turned red" in mail["Subject"]
    assert http.bodies("/default") == []  # routed: the default channel hears nothing

    # a re-run of the same judgement sends nothing
    again = alert_status_changes(settings, url=url, run_id="r2", now=_at("2026-03-02T07:00"))
    assert again["messages"] == 0 and len(http.posts) == 1

    # the next day: phone_support stays red (no repeat); two other touchpoints turn red
    day2 = alert_status_changes(settings, url=url, run_id="r3", now=_at("2026-03-03T06:00"))
    assert day2["turned_red"] == 2 and day2["messages"] == 1
    assert _rows(http.bodies("/data-engineer")[-1]) == {
        ("chat_checkout_help", "data_completeness_pct", "2026-03-02"),
        ("unmapped_social", "data_completeness_pct", "2026-03-02"),
    }

    # a full refresh of the same data, published again: nothing new
    build_models(settings, url=url, full_refresh=True)
    _checked_publish(settings, url, "t1")
    refreshed = alert_status_changes(settings, url=url, run_id="r4", now=_at("2026-03-03T08:00"))
    assert refreshed["messages"] == 0 and len(http.bodies("/data-engineer")) == 2

    # a complete phone call on 03-03 arrives: phone_support recovers, once
    call = world._ctr(
        "C90",
        "INBOUND",
        "2026-03-03T08:00:00Z",
        "2026-03-03T08:05:00Z",
        "2026-03-03T08:06:00Z",
        phone="+14155550102",
        queue={"Name": "Support", "EnqueueTimestamp": "2026-03-03T08:00:20Z", "Duration": 10},
        agent={"ConnectedToAgentTimestamp": "2026-03-03T08:00:30Z"},
    )
    row = ("C90", "VOICE", "INBOUND", *(call[k] for k in ("InitiationTimestamp",
           "DisconnectTimestamp", "LastUpdateTimestamp")), call, 90)  # fmt: skip
    world.insert_world(url, data={"contacts": [row]})
    build_models(settings, url=url)
    _checked_publish(settings, url, "t2")
    recovered = alert_status_changes(settings, url=url, run_id="r5", now=_at("2026-03-04T06:00"))
    assert recovered["recovered"] == 1 and recovered["messages"] == 1, recovered
    last = http.bodies("/data-engineer")[-1]
    assert last["event"] == "scorecard_status_recovered"
    assert _rows(last) == {("phone_support", "data_completeness_pct", "2026-03-03")}
    rerun = alert_status_changes(settings, url=url, run_id="r6", now=_at("2026-03-04T07:00"))
    assert rerun["messages"] == 0 and len(http.bodies("/data-engineer")) == 3
    assert query(url, "select count(*) from meta.owner_notifications")[0][0] == 3


def test_weekly_digest_reaches_each_owner(
    published: str, settings: Settings, inbox: tuple[Receiver, Mailbox], tmp_path: Path
) -> None:
    from cxscore.signals.digest import run_digest

    http, mailbox = inbox
    dry = run_digest(settings, url=published, week="2026-W10", dry_run=True, out_dir=tmp_path)
    assert http.posts == [] and mailbox.messages == []
    files = sorted(p.name for p in (tmp_path / "2026-W10").iterdir())
    assert "data_engineer.html" in files and "data_engineer.txt" in files
    text = (tmp_path / "2026-W10" / "data_engineer.txt").read_text()
    assert "phone_support / data_completeness_pct" in text

    sent = run_digest(settings, url=published, week="2026-W10", run_id="d1")
    owners = set(sent["owners"])
    assert owners == set(dry["owners"]) and sent["sent"] == len(owners)
    # Data engineer: routed (webhook + e-mail with an HTML and a text part)
    [de] = http.bodies("/data-engineer")
    assert de["event"] == "owner_digest" and "Data engineer" in de["title"]
    de_rows = {(r["touchpoint_id"], r["metric"], r["status"]) for r in de["rows"]}
    assert ("phone_support", "data_completeness_pct", "red") in de_rows
    assert all(r["owner"] == "Data engineer" for r in de["rows"])
    [mail] = [m for m in mailbox.messages if m["To"] == "de@example.com"]
    html = mail.get_body(preferencelist=("html",))
    plain = mail.get_body(preferencelist=("plain",))
    assert html is not None and "<table>" in html.get_content()
    assert plain is not None and "data_completeness_pct" in plain.get_content()
    # every other owner falls back to the default webhook, and the digest says so
    fallback = http.bodies("/default")
    assert {b["owner"] for b in fallback} == owners - {"Data engineer", "CX analyst"}
    for body in fallback:
        assert "no route for this role" in body["text"]
        assert all(r["owner"] == body["owner"] for r in body["rows"])
    # once per owner and week
    assert run_digest(settings, url=published, week="2026-W10", run_id="d2")["sent"] == 0


def test_hourly_signals_sent_once(
    published: str, settings: Settings, inbox: tuple[Receiver, Mailbox]
) -> None:
    from cxscore.signals.hourly import send_hourly_signals

    http, _ = inbox
    url = published
    # (a) phone first response: 08:00-09:00 on 03-02 is a peak hour (signals.peak_hours);
    # its phone call waited longer than 15 s. Ops supervisor has no route: default channel.
    # (nothing is below -1: the negative signal stays out of this part, with or without the
    # sentiment column)
    phone_only = settings.model_copy(
        update={"signals": settings.signals.model_copy(update={"negative_sentiment_below": -1})}
    )
    first = send_hourly_signals(phone_only, url=url, run_id="h1", now=_at("2026-03-02T09:10"))
    assert first["negative_sentiment"].get("messages", 0) == 0
    assert first["phone"]["messages"] == 1, first
    [phone] = http.bodies("/default")
    assert phone["event"] == "signal_phone_first_response"
    assert phone["owner"] == "Ops supervisor" and "no route for this role" in phone["text"]
    again = send_hourly_signals(phone_only, url=url, run_id="h2", now=_at("2026-03-02T09:20"))
    assert again["phone"]["messages"] == 0 and len(http.posts) == 1
    # a peak hour whose phone calls have no first response (a short abandon): nothing
    hourly = phone_only.signals.model_copy(update={"peak_hours": [9], "phone_signal_per": "hour"})
    quiet = send_hourly_signals(
        settings.model_copy(update={"signals": hourly}),
        url=url,
        run_id="h2b",
        now=_at("2026-03-02T10:30"),
    )
    assert quiet["phone"] == {**quiet["phone"], "messages": 0, "note": "no phone interactions"}

    # (b) negative interactions: scores written by the test (the sentiment work provides
    # marts.fct_interactions.min_customer_sentiment)
    query(
        url,
        "alter table marts.fct_interactions add column if not exists min_customer_sentiment"
        " numeric",
    )
    query(
        url,
        "update marts.fct_interactions set min_customer_sentiment = case"
        " when interaction_id in (select interaction_id from marts.fct_interactions"
        "   where channel = 'phone' order by interaction_id limit 2) then -0.8"
        " when channel = 'email' then -0.6 else 0.2 end",
    )
    negatives = query(
        url,
        "select touchpoint_id, count(*) from marts.fct_interactions"
        " where min_customer_sentiment < -0.5 and started_at > '2026-03-01T23:00Z'"
        " group by 1 order by 1",
    )
    signalled = send_hourly_signals(settings, url=url, run_id="h3", now=_at("2026-03-02T23:00"))
    bodies = http.bodies("/cx-analyst")
    assert signalled["negative_sentiment"]["messages"] == len(negatives) == len(bodies) > 0
    ids = dict(query(url, "select interaction_id, touchpoint_id from marts.fct_interactions"))
    for body in bodies:  # Slack: text only, ids and scores, one message per touchpoint
        text = body["text"]
        touchpoint, count = text.split("] ", 1)[1].split(" negative")[0].split(": ")
        assert int(count) == dict(negatives)[touchpoint]
        named = [i for i in ids if f"- {i} (" in text]
        assert len(named) == int(count) and {ids[i] for i in named} == {touchpoint}
        assert "sentiment -0." in text
    replay = send_hourly_signals(settings, url=url, run_id="h4", now=_at("2026-03-02T23:30"))
    assert replay["negative_sentiment"]["messages"] == 0
    assert len(http.bodies("/cx-analyst")) == len(bodies)
