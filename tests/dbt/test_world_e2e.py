"""End to end on a generated synthetic world: loaders -> dbt -> scorecard.

The world (cxscore.generate) has an outage week, records no rule maps and unidentified
callers; the scorecard must show them: the incident week worse than the week before, the
unmapped touchpoints present (moment unknown, owner Data engineer, never complete).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from cxscore.settings import Settings
from tests.dbt import world as hand_world
from tests.helpers import query

pytestmark = [pytest.mark.pg, pytest.mark.slow]

START = date(2026, 3, 2)
DAYS = 28
EMAIL, TOKEN = "demo@example.com", "demo-token"


def _settings(tmp_path: Path, landing: Path, zendesk_url: str, **env: str) -> Settings:
    """Settings of a generated-world test: its landing dir and the Zendesk stand-in."""
    return hand_world.make_settings(
        tmp_path / "state",
        CX_LANDING_DIR=str(landing),
        CX_SOURCES__ZENDESK__BASE_URL=zendesk_url,
        CX_SOURCES__ZENDESK__EMAIL=EMAIL,
        CX_SOURCES__ZENDESK__API_TOKEN=TOKEN,
        **env,
    )


def test_generated_world_scorecard(pg_server_url: str, tmp_path: Path) -> None:
    from cxscore.demo import deliver
    from cxscore.extract import extract_sources
    from cxscore.generate import generate_world
    from cxscore.generate.world import incident_start
    from cxscore.standins.zendesk import start_stub
    from cxscore.transform import build_models

    out = tmp_path / "world"
    generate_world(out, days=DAYS, customers=300, seed=7, start=START, increments=1, progress=False)
    deliveries = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["deliveries"]
    landing = tmp_path / "landing"
    for delivery in deliveries:
        deliver(out, landing, delivery)
    stub = start_stub(out, port=0, email=EMAIL, token=TOKEN, increment=len(deliveries))
    try:
        with hand_world.scratch_database(pg_server_url) as url:
            settings = _settings(tmp_path, landing, stub.base_url)
            extract_sources(settings, None, url=url)
            summary = build_models(settings, url=url, full_refresh=True)
            assert summary["tests_failed"] == 0, summary["failures"]

            incident = incident_start(START, DAYS)
            assert incident is not None
            before = incident - timedelta(days=7)
            reds = dict(
                query(
                    url,
                    "select period_start::text, count(*) from marts_build.touchpoint_scorecard"
                    " where period_grain = 'week' and segment = 'all' and status = 'red'"
                    " group by 1",
                )
            )
            assert reds.get(incident.isoformat(), 0) > reds.get(before.isoformat(), 0), reds
            problematic = dict(
                query(
                    url,
                    "select period_start::text, value from marts_build.touchpoint_scorecard"
                    " where period_grain = 'week' and segment = 'all'"
                    " and touchpoint_id = 'phone_support' and metric = 'problematic_moment_pct'",
                )
            )
            assert problematic[incident.isoformat()] > problematic[before.isoformat()]

            unmapped = query(
                url,
                "select distinct touchpoint_id, moment_of_truth, owner"
                " from marts_build.touchpoint_scorecard where touchpoint_id like 'unmapped%%'"
                " and metric = 'interactions' and sample_size > 0",
            )
            assert unmapped, "no unmapped touchpoint in the scorecard"
            assert {(m, o) for _, m, o in unmapped} == {("unknown", "Data engineer")}
            # an unmapped interaction is never complete (scorecard.md)
            assert query(
                url,
                "select count(*) from marts_build.touchpoint_scorecard where touchpoint_id like"
                " 'unmapped%%' and metric = 'data_completeness_pct' and value <> 0",
            ) == [(0,)]
            # unidentified callers make completeness fall short of 100 for phone support
            [(completeness,)] = query(
                url,
                "select value from marts_build.touchpoint_scorecard where period_grain = 'month'"
                " and period_start = '2026-03-01' and segment = 'all'"
                " and touchpoint_id = 'phone_support' and metric = 'data_completeness_pct'",
            )
            assert 0 < completeness < 100

            # sentiment (issue 18): every source's customer text was scored, the incident
            # week sounds worse, and no customer text exists past raw
            sources = dict(
                query(url, "select source, count(*) from raw.sentiment__message_scores group by 1")
            )
            assert set(sources) == {"zendesk", "amazon_connect", "qualtrics"}, sources
            week = dict(
                query(
                    url,
                    "select period_start::text, sum(numerator) / nullif(sum(sample_size), 0)"
                    " from marts_build.touchpoint_scorecard where period_grain = 'week'"
                    " and segment = 'all' and metric = 'negative_sentiment_pct' group by 1",
                )
            )
            assert week[incident.isoformat()] > week[before.isoformat()], week
            [(coverage,)] = query(
                url,
                "select sum(numerator) / sum(sample_size) from marts_build.touchpoint_scorecard"
                " where period_grain = 'month' and segment = 'all'"
                " and metric = 'sentiment_coverage_pct'",
            )
            assert 0.8 < coverage < 1  # French customers are unscored
            phrase = "ich bin wütend"
            [(in_raw,)] = query(
                url,
                "select count(*) from raw.zendesk__ticket_comments where payload::text like %s",
                (f"%{phrase}%",),
            )
            assert in_raw > 0
            leaked = [
                f"{schema}.{name}"
                for schema, name in query(
                    url,
                    "select table_schema, table_name from information_schema.tables where"
                    " table_schema in ('staging', 'intermediate', 'marts_build')"
                    " and table_type = 'BASE TABLE'",
                )
                if query(
                    url,
                    f'select count(*) from "{schema}"."{name}" as t where t::text like %s',
                    (f"%{phrase}%",),
                )[0][0]
            ]
            assert leaked == []
    finally:
        stub.stop()


def test_generated_world_incremental_deliveries_equal_a_full_refresh(
    pg_server_url: str, tmp_path: Path
) -> None:
    """A generated world delivered in four increments (late ticket updates, surveys for
    earlier calls, Firehose duplicates, new customers), extracted and built incrementally
    after each one with no event-time look-back, gives exactly the tables a full refresh of
    the same warehouse gives."""
    from cxscore.demo import deliver
    from cxscore.extract import extract_sources
    from cxscore.generate import generate_world
    from cxscore.standins.zendesk import start_stub
    from cxscore.transform import build_models

    out = tmp_path / "world"
    generate_world(
        out, days=DAYS, customers=200, seed=11, start=START, increments=4, progress=False
    )
    deliveries = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["deliveries"]
    assert len(deliveries) == 4
    landing = tmp_path / "landing"
    stub = start_stub(out, port=0, email=EMAIL, token=TOKEN, increment=1)
    try:
        with hand_world.scratch_database(pg_server_url) as url:
            settings = _settings(tmp_path, landing, stub.base_url, CX_SCORECARD__LOOKBACK_DAYS="0")
            for k, delivery in enumerate(deliveries, start=1):
                deliver(out, landing, delivery)
                stub.set_increment(k)
                extract_sources(settings, None, url=url)
                summary = build_models(settings, url=url, full_refresh=k == 1)
                assert summary["tests_failed"] == 0, summary["failures"]
            incremental = hand_world.marts_snapshot(url)
            summary = build_models(settings, url=url, full_refresh=True)
            assert summary["tests_failed"] == 0, summary["failures"]
            hand_world.assert_same_marts(hand_world.marts_snapshot(url), incremental)
            assert len(incremental["touchpoint_scorecard"]) > 5000
            assert len(incremental["fct_interactions"]) > 400
    finally:
        stub.stop()
