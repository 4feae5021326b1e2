"""Incremental builds give exactly the tables a full refresh gives.

The hand-made world is loaded in three batches (late metric sets, a ticket deleted later, a
duplicate contact copy, survey responses for earlier calls, an order refunded later, a
customer whose segment changes and one who gains a phone number, a survey response exported
again with a changed answer), then a fourth batch replaces landing files (the loader deletes
a file's rows and loads its new version, here without contact C4, and without the re-export
of R2, whose older version must come back); the warehouse is built incrementally after each
batch and compared, row by row, with a full refresh over all data. Each build is also
published, and what BI reads (``marts``) must then equal the build row by row, whether a
relation was copied whole or brought up to date by its changed rows.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from tests.dbt import world
from tests.helpers import query

pytestmark = [pytest.mark.pg, pytest.mark.slow]


def _rebatch(rows: list[tuple[Any, ...]], key: int, batches: dict[Any, int]) -> list[Any]:
    out = []
    for i, row in enumerate(rows):
        ident = (row[key], i)
        batch = batches.get(ident, batches.get(row[key], 1))
        out.append((*row[:-1], batch))
    return out


def batched_world() -> dict[str, list[tuple[Any, ...]]]:
    users = list(world.USERS)
    # batch 3: U2 moves to segment gold; U3 gains the phone of the unknown caller C2
    u2 = copy.deepcopy(users[1])
    u2[3]["user_fields"]["segment"] = "gold"
    users.append((2, u2[1], "2026-03-05T00:00:00Z", u2[3], 3))
    u3 = copy.deepcopy(users[2])
    u3[3]["phone"] = "+1 415 555 0199"
    users.append((3, u3[1], "2026-03-05T00:00:00Z", u3[3], 3))
    # batch 3: R2 comes again in a later export (survey-3.csv) with CSAT 4 instead of 2
    responses = list(world.RESPONSES)
    r2 = copy.deepcopy(responses[1])
    r2[4]["csat"] = "4"
    responses.append(r2)
    # batch 3: R1 comes again unchanged (overlapping exports): its staged row stays as it is
    responses.append(copy.deepcopy(responses[0]))
    r1_again = len(responses) - 1
    contacts = list(world.CONTACTS)
    # an old call in January, loaded once and never touched again
    c9 = copy.deepcopy(contacts[-1])
    c9[6]["ContactId"] = "C9"
    contacts.append(("C9", "VOICE", "INBOUND", "2026-01-10T12:00:00Z", "2026-01-10T12:05:00Z",
                     "2026-01-10T12:06:00Z", c9[6], 1))  # fmt: skip
    # a February call of U2: only the change tracking (U2's segment changes in batch 3, no
    # batch-3 row has a February event time) can move it from silver to gold
    c10 = copy.deepcopy(contacts[0])
    c10[6]["ContactId"] = "C10"
    c10[6]["Queue"]["Name"] = "Billing"
    contacts.append(("C10", "VOICE", "INBOUND", "2026-02-20T10:00:00Z", "2026-02-20T10:07:00Z",
                     "2026-02-20T10:08:00Z", c10[6], 1))  # fmt: skip
    return {
        "users": users,
        "tickets": _rebatch(world.TICKETS, 0, {(104, 4): 2, 105: 2, 106: 2}),
        "metric_sets": _rebatch(world.METRIC_SETS, 1, {105: 2, 106: 3}),
        "contacts": _rebatch(contacts, 0, {"C4": 2, ("C5", 4): 2, ("C5", 5): 3, "C6": 3, "C7": 2}),
        "responses": _rebatch(
            responses,
            0,
            {"R1": 2, ("R1", r1_again): 3, "R2": 2, ("R2", 6): 3}
            | {"R3": 3, "R4": 3, "R5": 3, "R6": 3},
        ),
        "orders": _rebatch(world.ORDERS, 0, {("O2", 1): 2, ("O2", 2): 3, "O3": 3, "O4": 3}),
        # R1's comment is scored with R1 (batch 2); C8's turn is a late score (batch 3), and
        # so is a second customer comment on ticket 101 (its first, 0.5, came in batch 1:
        # the stored unit gains a message: mean (0.5 - 0.9) / 2, minimum -0.9)
        "sentiment": _rebatch(
            [
                *world.SENTIMENT,
                (
                    "zc:3",
                    "zendesk",
                    "ticket_comment",
                    "101",
                    "zendesk:101",
                    True,
                    "en",
                    "vader",
                    -0.9,
                    3,
                ),
            ],
            0,
            {"qc:R1": 2, "clt:C8:1": 3},
        ),
    }


def replace_file(url: str, table: str, key: str, path: str, dropped: str, batch: int) -> None:
    """What the loader does with a changed landing file: its rows are deleted and the new
    version (here: the same records without `dropped`) is loaded under a new batch."""
    query(
        url,
        f"create temporary table new_version as select * from raw.{table}"
        f" where _source_file = %(path)s and {key} <> %(dropped)s;"
        "update new_version set _batch_id = %(batch)s;"
        f"delete from raw.{table} where _source_file = %(path)s;"
        f"insert into raw.{table} select * from new_version;"
        "drop table new_version;"
        "insert into meta.loaded_files (source, path, size_bytes, sha256, rows_read,"
        " rows_loaded, rows_rejected, batch_id) values (%(source)s, %(path)s, 1, 'x',"
        " 0, 0, 0, %(batch)s) on conflict (source, path) do update set batch_id = %(batch)s",
        {"path": path, "dropped": dropped, "batch": batch, "source": table.split("__")[0]},
    )


def reload_files(url: str) -> None:
    """Batch 4: ctr-2.jsonl is delivered again without C4, survey-3.csv without R2."""
    replace_file(url, "amazon_connect__contact_records", "contact_id", "ctr-2.jsonl", "C4", 4)
    replace_file(url, "qualtrics__responses", "response_id", "survey-3.csv", "R2", 4)


def publish_and_compare(url: str) -> dict[str, Any]:
    """Publish the newest build (its verdict stamped as passed: the scorecard checks are not
    under test here) and assert that every published relation equals its build, row by row,
    duplicates included."""
    from cxscore.publish import publish_marts

    query(
        url,
        "update meta.dbt_builds set checks_passed = true, checked_run_id = 't-inc'"
        " where build_id = (select max(build_id) from meta.dbt_builds)",
    )
    result = publish_marts(url, run_id="t-inc")
    for name in result["relations"]:
        differ = query(
            url,
            f"select (select count(*) from (select * from marts.{name} except all"
            f" select * from marts_build.{name}) a), (select count(*) from"
            f" (select * from marts_build.{name} except all select * from marts.{name}) b)",
        )
        assert differ == [(0, 0)], name
    return result


def staging_test_filter(state_dir: Path, test_name: str) -> str:
    """The rows a compiled staging data test reads: its `where` subquery (the config's
    placeholder replaced by the macro since_last_scorecard, dbt_project/macros)."""
    [path] = (Path(state_dir) / "dbt" / "target" / "compiled").rglob(f"{test_name}.sql")
    sql = path.read_text(encoding="utf-8")
    return sql[sql.index("(select * from ") + 1 : sql.index(") dbt_subquery")]


def assert_staging_tests_read_rows_since_last_scorecard(url: str, state_dir: str) -> None:
    """The staging tests' rows after builds that reached the scorecard, in states made in
    one transaction that is rolled back: nothing new (the last build's watermark M: a build
    without a new batch may rewrite rows with it), one new batch (only its rows), a build
    stamped after the last one that reached the scorecard (its rows again), no such build."""
    table = "staging.stg_amazon_connect__contact_records"
    rows = staging_test_filter(
        Path(state_dir), "not_null_stg_amazon_connect__contact_records_contact_id"
    )
    count = f"select count(*) from ({rows}) tested"
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:

        def one(sql: str) -> Any:
            cur.execute(sql)
            row = cur.fetchone()
            assert row is not None
            return row[0]

        mark = one("select max_batch_id from staging.stg_meta__build_marks")
        assert (
            one(
                "select last_batch_id from intermediate.cx_build_state"
                " where model = 'touchpoint_scorecard'"
            )
            == mark
        )
        total = one(f"select count(*) from {table}")
        at_mark = one(f"select count(*) from {table} where _changed_batch_id = {mark}")
        assert (total, at_mark) == (9, 2)
        assert one(count) == at_mark  # nothing new: the rows of the last build
        c1_before = one(f"select _changed_batch_id from {table} where contact_id = 'C1'")
        assert c1_before == 1  # loaded in the first batch, not restaged since
        # a new batch restaged contact C1: only that row (the scorecard's build passed the rest)
        cur.execute(
            f"update staging.stg_meta__build_marks set max_batch_id = {mark + 1};"
            f" update {table} set _changed_batch_id = {mark + 1} where contact_id = 'C1'"
        )
        assert one(count) == 1
        # a build stamped after the one that reached the scorecard (failed, or a partial
        # --select) may have rewritten rows with the same watermark: they are read again
        cur.execute("insert into meta.dbt_builds (invocation_id, command) values ('t', 'build')")
        assert one(count) == at_mark + 1 == 3
        # no build has reached the scorecard: every row
        cur.execute("delete from intermediate.cx_build_state where model = 'touchpoint_scorecard'")
        assert one(count) == total
        conn.rollback()


FACTS = ("fct_interactions", "fct_orders", "fct_survey_responses")


def test_incremental_runs_equal_full_refresh(
    pg_server_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from cxscore import publish
    from cxscore.transform import build_models

    # this small world changes most of its facts in every batch: publish them by their
    # changes anyway (a larger share is copied whole, see cxscore.publish)
    monkeypatch.setattr(publish, "COPY_WHOLE_SHARE", 1.0)

    data = batched_world()
    with world.scratch_database(pg_server_url) as url:
        # no event-time look-back: the change tracking alone must find every affected period
        settings = world.make_settings(
            tmp_path / "inc", CX_SCORECARD__LOOKBACK_DAYS="0", CX_CLOSED_LOOP__ENABLED="true"
        )
        rows: dict[str, int] = {}
        for batch in (1, 2, 3):
            world.insert_world(url, batches={batch}, data=data)
            summary = build_models(settings, url=url, full_refresh=batch == 1)
            assert summary["tests_failed"] == 0, summary["failures"]
            published = publish_and_compare(url)
            # the facts: copied whole the first time (and while the published copy is
            # empty: nothing to compare with), then by their changed rows only
            expected = ["copy" if batch == 1 or not rows.get(f) else "changes" for f in FACTS]
            assert [published["modes"][f] for f in FACTS] == expected
            rows = published["relations"]
            if batch > 1:
                assert published["modes"]["touchpoint_scorecard"] == "copy"
                assert (
                    published["written"]["fct_interactions"]
                    < published["relations"]["fct_interactions"]
                )
            if batch == 3:
                # R1's unchanged repeat in survey-3.csv left its staged row as it was: still
                # from survey-2.csv, and not marked changed by this build
                assert query(
                    url,
                    "select _source_file, _changed_batch_id < (select max_batch_id from"
                    " staging.stg_meta__build_marks) from staging.stg_qualtrics__responses"
                    " where response_id = 'R1'",
                ) == [("survey-2.csv", True)]
                # U2's February call moved from silver to gold: the scope names its cells
                # (the one it left among them, logged before fct_interactions rewrote it),
                # not its whole day (the transitions rebuild the day whole: an interaction
                # changed within the transition window after it)
                assert query(
                    url,
                    "select touchpoint_id, segment, transitions_only"
                    " from intermediate.int_scorecard_periods_in_scope"
                    " where period_grain = 'day' and period_start = '2026-02-20'"
                    " order by 1, 2",
                ) == [
                    ("phone_billing", "all", False),
                    ("phone_billing", "gold", False),
                    ("phone_billing", "silver", False),
                    (None, None, True),
                ]
                assert query(
                    url,
                    "select touchpoint_id, segment from intermediate.cx_fact_cells"
                    " where model = 'fct_interactions' and key = 'connect:C10'",
                ) == [("phone_billing", "silver")]
            if batch == 1:
                [(january_built,)] = query(
                    url,
                    "select max(built_at) from marts_build.touchpoint_scorecard"
                    " where period_start < '2026-02-01'",
                )
        # the January periods were not rebuilt by the incremental runs
        [(january_after,)] = query(
            url,
            "select max(built_at) from marts_build.touchpoint_scorecard"
            " where period_start < '2026-02-01'",
        )
        assert january_after == january_built
        # re-identification and segment change reached the facts
        [(c2_customer, c2_segment)] = query(
            url,
            "select customer_id, segment from marts_build.fct_interactions"
            " where interaction_id = 'connect:C2'",
        )
        assert (c2_customer, c2_segment) == ("zendesk:3", "gold")
        # a late sentiment score (batch 3) reached its old interaction (loaded in batch 1)
        assert query(
            url,
            "select customer_sentiment, is_negative_sentiment from marts_build.fct_interactions"
            " where interaction_id = 'connect:C8'",
        ) == [(Decimal("-0.6"), True)]
        # a late message adds to what its unit had (int_customer_sentiment_aggregated)
        assert query(
            url,
            "select customer_sentiment, min_customer_sentiment, customer_messages"
            " from intermediate.int_customer_sentiment_aggregated where unit_id = 'zendesk:101'",
        ) == [(Decimal("-0.2"), Decimal("-0.9"), 2)]
        # ... and made it a due follow-up, counted in its old period (closing the loop)
        assert query(
            url,
            "select is_due, touchpoint_id, cast(triggered_at as date) from"
            " marts_build.fct_followups where followup_key = 'amazon_connect:C8'",
        ) == [(True, "phone_support", date(2026, 3, 1))]
        assert query(
            url,
            "select sample_size from marts_build.touchpoint_scorecard where touchpoint_id ="
            " 'phone_support' and period_grain = 'day' and period_start = '2026-03-01'"
            " and segment = 'all' and metric = 'followup_rate_pct'",
        ) == [(1,)]
        assert query(
            url,
            "select segment from marts_build.touchpoint_scorecard where touchpoint_id ="
            " 'phone_billing' and period_grain = 'day' and metric = 'interactions'"
            " order by segment",
        ) == [("all",), ("gold",)]
        assert query(url, "select count(*) from marts_build.fct_interactions where interaction_id"
                     " = 'zendesk:104'") == [(0,)]  # fmt: skip
        # the re-export of R2 (batch 3) outranks its first version
        r2 = "select csat from staging.stg_qualtrics__responses where response_id = 'R2'"
        assert query(url, r2) == [(4,)]
        # batch 4: ctr-2.jsonl is delivered again without C4, survey-3.csv without R2
        assert query(url, "select count(*) from marts_build.fct_interactions where interaction_id"
                     " = 'connect:C4'") == [(1,)]  # fmt: skip
        reload_files(url)
        summary = build_models(settings, url=url)
        assert summary["tests_failed"] == 0, summary["failures"]
        # C4 vanished from the build: the published copy loses it too (rows removed), by
        # the build's deletion log, not by comparing the whole copy with the build
        assert query(
            url,
            "select event_at from intermediate.cx_deleted_facts"
            " where model = 'fct_interactions' and key = 'connect:C4'",
        ) == [(datetime(2026, 3, 2, 14, 0, tzinfo=UTC),)]
        with caplog.at_level(logging.INFO, logger="cxscore.publish"):
            published = publish_and_compare(url)
        assert "found by comparison" not in caplog.text
        assert published["modes"]["fct_interactions"] == "changes"
        assert query(url, "select count(*) from marts.fct_interactions where interaction_id"
                     " = 'connect:C4'") == [(0,)]  # fmt: skip
        assert query(url, r2) == [(2,)]  # its first version (survey-2.csv) is back
        # the responses staged from survey-3.csv, unchanged in its new version, are staged
        # again from it (not removed with its old batch); R1 stays staged from survey-2.csv
        assert query(
            url,
            "select response_id, _source_file from staging.stg_qualtrics__responses"
            " where response_id in ('R1', 'R3', 'R4', 'R5', 'R6') order by 1",
        ) == [("R1", "survey-2.csv")] + [(r, "survey-3.csv") for r in ("R3", "R4", "R5", "R6")]
        assert query(url, "select count(*) from staging.stg_amazon_connect__contact_records"
                     " where contact_id = 'C4'") == [(0,)]  # fmt: skip
        assert query(url, "select count(*) from marts_build.fct_interactions where interaction_id"
                     " = 'connect:C4'") == [(0,)]  # fmt: skip
        incremental = world.marts_snapshot(url)
        analysed = (
            "select c.relname, pg_stat_get_last_analyze_time(c.oid) from pg_class c join"
            " pg_namespace n on n.oid = c.relnamespace where n.nspname = 'staging' and"
            " c.relname in ('stg_zendesk__tickets', 'stg_zendesk__ticket_metric_sets',"
            " 'stg_zendesk__users', 'stg_amazon_connect__contact_records',"
            " 'stg_qualtrics__responses', 'stg_crm__orders', 'stg_meta__build_marks')"
            " order by 1"
        )
        before = dict(query(url, analysed))
        # a run with nothing new changes nothing, and its publish writes no fact row
        build_models(settings, url=url)
        assert world.marts_snapshot(url) == incremental
        # ... nor analyses the staging tables it wrote no row to (post-hook
        # refresh_statistics); the build marks, a table rebuilt by every build, are analysed
        after = dict(query(url, analysed))
        assert after.pop("stg_meta__build_marks") > before.pop("stg_meta__build_marks")
        assert after == before and len(after) == 6 and None not in after.values()
        published = publish_and_compare(url)
        assert [published["written"][f] for f in FACTS] == [0, 0, 0]
        # the logged cells every scorecard consumer reflects are gone (on-run-start)
        assert query(
            url,
            "select count(*) from intermediate.cx_fact_cells where logged_at <= (select"
            " min(last_changed_at) from intermediate.cx_build_state where model in"
            " ('int_scorecard_day_aggregates', 'touchpoint_scorecard',"
            " 'touchpoint_scorecard_wide', 'touchpoint_transitions'))",
        ) == [(0,)]
        assert query(url, "select count(*) from intermediate.cx_fact_cells where key is null") == [
            (0,)
        ]
        assert_staging_tests_read_rows_since_last_scorecard(url, settings.state_dir)

    with world.scratch_database(pg_server_url) as url:
        world.insert_world(url, data=data)
        reload_files(url)
        build_models(
            world.make_settings(tmp_path / "full", CX_CLOSED_LOOP__ENABLED="true"),
            url=url,
            full_refresh=True,
        )
        world.assert_same_marts(world.marts_snapshot(url), incremental)
    assert len(incremental["touchpoint_scorecard"]) > 300
