"""The day-count templates (freshness, volume_same_weekday, missing_days) read
``quality.day_counts``, kept up to date batch by batch: after new batches, a reloaded file
that took rows away, and a changed business time zone, the counts equal a count of the whole
table and the checks judge what the table holds (real loader, real GX)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cxscore.extract import extract_source
from cxscore.quality import run_checks
from cxscore.quality.results import CheckOutcome, CheckResult
from cxscore.settings import Settings, load_settings
from tests.helpers import ctr, jsonl, query, write

pytestmark = pytest.mark.pg

CONNECT = "ivr/amazon_connect"
SUITE = "amazon_connect__contact_records"
TABLE = "raw.amazon_connect__contact_records"


def settings_for(landing: Path, timezone: str = "UTC") -> Settings:
    return load_settings(
        environ={
            "CX_LANDING_DIR": str(landing),
            "CX_BUSINESS_TIMEZONE": timezone,
            "CX_QUALITY__MIN_TIMESTAMP": "2025-01-01T00:00:00Z",
        }
    )


def call(n: int, started: str) -> dict[str, Any]:
    """A contact started at ``started`` (UTC), last updated at n minutes past it."""
    return ctr(
        n,
        InitiationTimestamp=started,
        DisconnectTimestamp=started.replace(":00:00Z", ":05:00Z"),
        LastUpdateTimestamp=started.replace(":00:00Z", f":{n:02d}:00Z"),
    )


def stored(url: str, column: str, timezone: str) -> dict[str, int]:
    rows = query(
        url,
        "select day::text, sum(n) from quality.day_counts where table_name = %s "
        "and column_name = %s and timezone = %s group by day",
        (TABLE, column, timezone),
    )
    return {str(day): int(n) for day, n in rows}


def recounted(url: str, column: str, timezone: str) -> dict[str, int]:
    rows = query(
        url,
        f"select ({column} at time zone %s)::date::text, count(*) from {TABLE} "
        f"where {column} is not null group by 1",
        (timezone,),
    )
    return {str(day): int(n) for day, n in rows}


def result(outcome: CheckOutcome, expectation: str) -> CheckResult:
    (found,) = [r for r in outcome.results if r.expectation == expectation]
    return found


def check(settings: Settings, url: str, run_id: str) -> CheckOutcome:
    return run_checks(settings, suites=[SUITE], url=url, run_id=run_id, alert=False)


def test_day_counts_follow_new_batches_reloads_and_the_time_zone(
    fresh_db: str, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    first = write(
        landing / CONNECT / "a.jsonl",
        jsonl(
            call(1, "2026-01-05T10:00:00Z"),
            call(2, "2026-01-05T11:00:00Z"),
            call(3, "2026-01-05T12:00:00Z"),
            call(4, "2026-01-06T10:00:00Z"),
            call(5, "2026-01-06T11:00:00Z"),
        ),
    )
    settings = settings_for(landing)
    extract_source(settings, "amazon_connect", url=fresh_db)
    outcome = check(settings, fresh_db, "dc-1")
    assert stored(fresh_db, "initiation_timestamp", "UTC") == {"2026-01-05": 3, "2026-01-06": 2}
    assert result(outcome, "missing_days").success
    assert result(outcome, "freshness").observed_value == (
        "newest last_update_timestamp 2026-01-06 11:05 UTC"
    )

    # a new batch adds to a day already counted and brings a day of its own
    write(
        landing / CONNECT / "b.jsonl",
        jsonl(call(6, "2026-01-06T15:00:00Z"), call(7, "2026-01-07T03:00:00Z")),
    )
    extract_source(settings, "amazon_connect", url=fresh_db)
    check(settings, fresh_db, "dc-2")
    assert stored(fresh_db, "initiation_timestamp", "UTC") == {
        "2026-01-05": 3,
        "2026-01-06": 3,
        "2026-01-07": 1,
    }
    # each column's counts are kept once per batch and day, not once per run
    assert query(
        fresh_db,
        "select count(*), count(distinct (batch_id, day)) from quality.day_counts "
        "where column_name = 'initiation_timestamp'",
    ) == [(4, 4)]

    # the corrected delivery of a.jsonl drops 2026-01-06's contacts of batch 1: the reload
    # forgets batch 1's counts and the next check counts what is left of it
    first.write_bytes(jsonl(call(1, "2026-01-05T10:00:00Z"), call(2, "2026-01-05T11:00:00Z")))
    extract_source(settings, "amazon_connect", url=fresh_db)
    assert stored(fresh_db, "initiation_timestamp", "UTC") == {"2026-01-07": 1, "2026-01-06": 1}
    outcome = check(settings, fresh_db, "dc-3")
    for column in ("initiation_timestamp", "last_update_timestamp"):
        assert stored(fresh_db, column, "UTC") == recounted(fresh_db, column, "UTC")
    assert stored(fresh_db, "initiation_timestamp", "UTC") == {
        "2026-01-05": 2,
        "2026-01-06": 1,
        "2026-01-07": 1,
    }
    assert result(outcome, "freshness").observed_value == (
        "newest last_update_timestamp 2026-01-07 03:07 UTC"
    )

    # now b.jsonl loses its 2026-01-06 contact: that day has no contact left
    write(landing / CONNECT / "b.jsonl", jsonl(call(7, "2026-01-07T03:00:00Z")))
    extract_source(settings, "amazon_connect", url=fresh_db)
    outcome = check(settings, fresh_db, "dc-4")
    gap = result(outcome, "missing_days")
    assert (gap.success, gap.observed_value) == (False, "no rows on 2026-01-06 Tue")

    # another business time zone: counted again in its own days (03:00Z on the 7th is the
    # 6th in Los Angeles: no gap there), the UTC counts of these columns are dropped
    pacific = settings_for(landing, "America/Los_Angeles")
    outcome = check(pacific, fresh_db, "dc-5")
    zone = "America/Los_Angeles"
    assert stored(fresh_db, "initiation_timestamp", zone) == {"2026-01-05": 2, "2026-01-06": 1}
    assert stored(fresh_db, "initiation_timestamp", zone) == recounted(
        fresh_db, "initiation_timestamp", zone
    )
    assert query(fresh_db, "select distinct timezone from quality.day_counts") == [(zone,)]
    assert result(outcome, "missing_days").success
