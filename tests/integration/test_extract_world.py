"""A small generated world, delivered in two increments (landing files + the Zendesk API
stand-in with injected failures), loads completely, without rejections, and only once."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from cxscore.extract import extract_sources
from cxscore.generate import generate_world
from cxscore.settings import load_settings
from cxscore.standins.zendesk import start_stub
from tests.helpers import query

pytestmark = pytest.mark.pg

EMAIL, TOKEN = "cx@example.com", "demo-token"


def test_generated_world_loads_in_two_deliveries(fresh_db: str, tmp_path: Path) -> None:
    world = tmp_path / "world"
    generate_world(
        world, days=5, customers=80, seed=3, start=date(2026, 1, 5), increments=2, progress=False
    )
    manifest = json.loads((world / "manifest.json").read_text())
    landing = tmp_path / "landing"
    stub = start_stub(
        world,
        port=0,
        email=EMAIL,
        token=TOKEN,
        fail_429_every=4,
        fail_5xx_every=7,
        retry_after=0,
        increment=1,
    )
    try:
        start = datetime.fromtimestamp(manifest["zendesk_start_time"], UTC).isoformat()
        settings = load_settings(
            environ={
                "CX_LANDING_DIR": str(landing),
                "CX_SOURCES__ZENDESK__BASE_URL": stub.base_url,
                "CX_SOURCES__ZENDESK__EMAIL": EMAIL,
                "CX_SOURCES__ZENDESK__API_TOKEN": TOKEN,
                "CX_SOURCES__ZENDESK__START_TIME": start,
                "CX_SOURCES__ZENDESK__PER_PAGE": "20",
                "CX_SOURCES__ZENDESK__BACKOFF_SECONDS": "0",
            }
        )
        loaded_files = 0
        for delivery in manifest["deliveries"]:
            for rel in delivery["landing_files"]:
                target = landing / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(world / manifest["landing_dir"] / rel, target)
            stub.set_increment(delivery["k"])
            summary = extract_sources(settings, None, url=fresh_db, run_id=f"d{delivery['k']}")
            assert summary["rows_rejected"] == 0
            assert summary["files"] == len(delivery["landing_files"])
            loaded_files += summary["files"]
        again = extract_sources(settings, None, url=fresh_db, run_id="again")
    finally:
        stub.stop()

    counts = manifest["counts"]
    assert (again["files"], again["files_skipped"], again["rows_read"]) == (0, loaded_files, 0)
    assert query(fresh_db, "select count(*) from raw.amazon_connect__contact_records") == [
        (counts["contact_records"] + counts["duplicate_records"],)
    ]
    assert query(
        fresh_db, "select count(distinct contact_id) from raw.amazon_connect__contact_records"
    ) == [(counts["contact_records"],)]
    assert query(fresh_db, "select count(*) from raw.crm__orders") == [(counts["order_rows"],)]
    assert query(fresh_db, "select count(distinct order_id) from raw.crm__orders") == [
        (counts["orders"],)
    ]
    # overlapping exports repeat responses: every copy is in raw, staging keeps one
    assert query(fresh_db, "select count(distinct response_id) from raw.qualtrics__responses") == [
        (counts["survey_responses"],)
    ]
    assert query(
        fresh_db,
        "select count(*) from raw.qualtrics__responses where end_date is null "
        "or response_id is null or payload->>'csat' is null and payload->>'nps' is null",
    ) == [(0,)]
    assert query(fresh_db, "select count(distinct id) from raw.zendesk__tickets") == [
        (counts["tickets"],)
    ]
    assert query(fresh_db, "select count(distinct id) from raw.zendesk__users") == [
        (counts["users"],)
    ]
    assert query(
        fresh_db,
        "select count(*) - count(distinct (id, updated_at)) from raw.zendesk__tickets",
    ) == [(0,)]  # no version read twice
    assert query(fresh_db, "select count(*) from raw.rejected_rows") == [(0,)]
    assert query(
        fresh_db, "select count(*) from meta.load_batches where status <> 'succeeded'"
    ) == [(0,)]
    # every table the loads wrote was analysed (planner statistics: pg_stats has rows only
    # after ANALYZE); nothing was rejected, so raw.rejected_rows was not
    analysed = query(
        fresh_db,
        "select schemaname || '.' || tablename from pg_stats "
        "where schemaname in ('raw', 'meta') group by 1 order by 1",
    )
    assert analysed == [
        ("meta.loaded_files",),
        ("raw.amazon_connect__contact_lens",),
        ("raw.amazon_connect__contact_records",),
        ("raw.crm__orders",),
        ("raw.qualtrics__responses",),
        ("raw.sentiment__message_scores",),
        ("raw.zendesk__ticket_comments",),
        ("raw.zendesk__ticket_metric_sets",),
        ("raw.zendesk__tickets",),
        ("raw.zendesk__users",),
    ]


def test_a_run_with_nothing_new_analyses_nothing() -> None:
    from cxscore.extract import _written_tables

    nothing = {"rows_loaded": 0, "rows_rejected": 0, "sentiment": {"messages": 0}}
    assert _written_tables("qualtrics", nothing) == []
    assert _written_tables("orders", {"rows_loaded": 0, "rows_rejected": 0}) == []
    loaded = {"rows_loaded": 3, "rows_rejected": 1, "sentiment": {"messages": 0}}
    assert _written_tables("qualtrics", loaded) == [
        "raw.qualtrics__responses",
        "raw.rejected_rows",
        "meta.loaded_files",
    ]
    assert _written_tables(
        "zendesk", {"rows_loaded": 0, "rows_rejected": 0, "sentiment": {"messages": 2}}
    ) == [
        "raw.zendesk__tickets",
        "raw.zendesk__ticket_metric_sets",
        "raw.zendesk__users",
        "raw.zendesk__ticket_comments",
        "raw.sentiment__message_scores",
    ]
