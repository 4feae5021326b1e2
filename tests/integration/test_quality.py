"""Quality checks on real PostgreSQL with real Great Expectations.

Hand-made raw rows (layout of 001_schemas.sql) in a database of this module's own, grouped
into a few load batches so that one run_checks call judges every kind of defect at once:
clean tickets (batch A), tickets with >2% null requester_id, a duplicate (id, updated_at)
and a future created_at (batch B), survey responses with out-of-range CSAT and orphan links
(batch C), 40 days of orders with a missing day and a weekday volume drop (batch D), clean
calls (batch E) matched to clean users (batch F).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg2
import pytest
from psycopg2.extras import execute_values

from cxscore.quality import CheckOutcome, CheckResult, run_checks
from cxscore.settings import ConfigError, Settings, load_settings
from cxscore.sources import amazon_connect, zendesk
from cxscore.sources import orders as orders_source
from tests.helpers import query, scratch_database

pytestmark = [pytest.mark.pg, pytest.mark.slow]

NOW = datetime.now(UTC).replace(microsecond=0)


def _database(pg_server_url: str) -> contextlib.AbstractContextManager[str]:
    return scratch_database(pg_server_url, "cxtest_quality")


def new_batch(url: str, source: str, stream: str) -> int:
    rows = query(
        url,
        "insert into meta.load_batches (source, stream, status, run_id, finished_at) "
        "values (%s, %s, 'succeeded', 'test', now()) returning batch_id",
        (source, stream),
    )
    return int(rows[0][0])


def insert(url: str, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    with contextlib.closing(psycopg2.connect(url)) as conn, conn, conn.cursor() as cur:
        execute_values(cur, f"insert into {table} ({', '.join(columns)}) values %s", rows)


TICKET_COLUMNS = [*zendesk.TICKET_COLUMNS, "_batch_id"]


def ticket(
    i: int, batch: int, *, requester: int | None = -1, created: datetime | None = None
) -> tuple[Any, ...]:
    return (
        i,
        created or NOW - timedelta(hours=2),
        NOW - timedelta(hours=1),
        "open",
        "email",
        1000 + i if requester == -1 else requester,
        json.dumps({"id": i, "priority": "normal", "via": {"channel": "email"}}),
        batch,
    )


CALL_COLUMNS = [*amazon_connect.COLUMNS[:-1], "_batch_id", "_source_file", "_line"]


def call_row(
    ctr: dict[str, Any], start: datetime, batch: int, file: str, line: int
) -> tuple[Any, ...]:
    """A raw inbound voice CTR row (5 minutes long, updated a minute later)."""
    return (
        ctr["ContactId"],
        "VOICE",
        "INBOUND",
        start,
        start + timedelta(minutes=5),
        start + timedelta(minutes=6),
        json.dumps(ctr),
        batch,
        file,
        line,
    )


def check_settings() -> Settings:
    return load_settings(
        environ={"CX_QUALITY__MIN_TIMESTAMP": (NOW - timedelta(days=400)).isoformat()}
    )


@pytest.fixture(scope="module")
def world(pg_server_url: str) -> Iterator[dict[str, Any]]:
    with _database(pg_server_url) as url:
        ids = load_world(url)
        ids["outcome"] = run_checks(
            check_settings(), stage="raw", url=url, run_id="t-run-1", alert=False
        )
        yield ids


def load_world(url: str) -> dict[str, Any]:
    """The raw rows of the module docstring, in load batches; returns their batch ids."""
    ids: dict[str, Any] = {"url": url}
    # tickets A: clean
    a = ids["tickets_a"] = new_batch(url, "zendesk", "tickets")
    insert(url, "raw.zendesk__tickets", TICKET_COLUMNS, [ticket(i, a) for i in range(1, 101)])
    # tickets B: 3 null requester_id (3% > 2%), a duplicate (id, updated_at), a future
    # created_at
    b = ids["tickets_b"] = new_batch(url, "zendesk", "tickets")
    rows = [ticket(i, b) for i in range(101, 199)]
    for i in (101, 102, 103):
        rows[i - 101] = ticket(i, b, requester=None)
    rows[150 - 101] = ticket(150, b, created=NOW + timedelta(days=1))
    rows += [ticket(198, b), ticket(199, b)]  # 198 twice with the same updated_at
    insert(url, "raw.zendesk__tickets", TICKET_COLUMNS, rows)
    # metric sets G: 45 of 50 belong to a loaded ticket (tickets A), 5 to unknown ones
    g = ids["metric_sets_g"] = new_batch(url, "zendesk", "ticket_metric_sets")
    insert(
        url,
        "raw.zendesk__ticket_metric_sets",
        ["id", "ticket_id", "created_at", "updated_at", "payload", "_batch_id"],
        [
            (
                5000 + i,
                i if i <= 45 else 99000 + i,
                NOW - timedelta(hours=2),
                NOW - timedelta(hours=1),
                json.dumps({"reply_time_in_minutes": {"calendar": 30}, "reopens": 0}),
                g,
            )
            for i in range(1, 51)
        ],
    )
    # survey responses C: 5 of 50 csat '9' (out of 1..5); links: 1-40 to loaded tickets
    # (1 also to a loaded contact: counted once), 41-43 to a loaded contact beside an
    # unknown or non-numeric ticket id, 44 to an unknown contact, 45 to nothing, 46-50 to
    # unknown tickets: 43 linked, 6 orphans
    c = ids["survey_c"] = new_batch(url, "qualtrics", "responses")
    links: dict[int, dict[str, str]] = {
        1: {"ticket_id": "1", "contact_id": "C1"},
        41: {"ticket_id": "99041", "contact_id": "C2"},
        42: {"ticket_id": "99042", "contact_id": "C3"},
        43: {"ticket_id": "T-43", "contact_id": "C4"},
        44: {"contact_id": "C999"},
        45: {},
    }
    responses = []
    for i in range(1, 51):
        payload = {
            "csat": "9" if i <= 5 else "4",
            "nps": "8",
            "ces": "5",
            **links.get(i, {"ticket_id": str(i) if i <= 40 else str(99000 + i)}),
            "layout": "current",
        }
        responses.append(
            (f"R_{i}", NOW - timedelta(hours=1), "1", "0", json.dumps(payload), c, "a.csv", i)
        )
    insert(
        url,
        "raw.qualtrics__responses",
        [
            "response_id",
            "end_date",
            "finished",
            "status",
            "payload",
            "_batch_id",
            "_source_file",
            "_line",
        ],
        responses,
    )
    # orders D: 40 days up to yesterday, 20 a day; 3 days before yesterday: none;
    # 5 days before: 5 (a drop against the same weekday of the previous 4 weeks)
    d = ids["orders_d"] = new_batch(url, "orders", "orders")
    newest = NOW.date() - timedelta(days=1)
    ids["missing_day"] = newest - timedelta(days=3)
    ids["drop_day"] = newest - timedelta(days=5)
    orders = []
    line = 0
    for k in range(40):
        day = newest - timedelta(days=k)
        count = 0 if k == 3 else 5 if k == 5 else 20
        for j in range(count):
            line += 1
            ordered = datetime(day.year, day.month, day.day, 6, tzinfo=UTC)
            orders.append(
                (
                    f"O{line}",
                    f"c{j}@example.com",
                    ordered + timedelta(minutes=j),
                    "10.00",
                    "USD",
                    "placed",
                    NOW - timedelta(hours=1),
                    json.dumps({"order_id": f"O{line}"}),
                    d,
                    "orders.csv",
                    line,
                )
            )
    insert(
        url,
        "raw.crm__orders",
        [*orders_source.COLUMNS[:-1], "_batch_id", "_source_file", "_line"],
        orders,
    )
    # users F and calls E: 18 of 20 inbound calls come from a known phone (90% >= 80%)
    f = ids["users_f"] = new_batch(url, "zendesk", "users")
    users = [
        (
            i,
            NOW - timedelta(days=10),
            NOW - timedelta(hours=1),
            json.dumps({"id": i, "phone": f"+1 555 010 {i:04d}", "email": f"u{i}@x.com"}),
            f,
        )
        for i in range(1, 19)
    ]
    insert(
        url,
        "raw.zendesk__users",
        ["id", "created_at", "updated_at", "payload", "_batch_id"],
        users,
    )
    e = ids["calls_e"] = new_batch(url, "amazon_connect", "contact_records")
    calls = []
    for i in range(1, 21):
        address = f"+1555010{i:04d}" if i <= 18 else f"+1999888{i:04d}"
        start = NOW - timedelta(hours=3)
        ctr = {
            "ContactId": f"C{i}",
            "CustomerEndpoint": {"Address": address, "Type": "TELEPHONE_NUMBER"},
            "Queue": {"Name": "Support", "Duration": 12},
            "Agent": {"AgentInteractionDuration": 200, "CustomerHoldDuration": 0},
        }
        calls.append(call_row(ctr, start, e, "ctr.jsonl", i))
    insert(url, "raw.amazon_connect__contact_records", CALL_COLUMNS, calls)
    return ids


def find(
    outcome: CheckOutcome,
    suite: str,
    expectation: str,
    column: str | None = None,
    batch_id: int | None = None,
) -> CheckResult:
    found = [
        r
        for r in outcome.results
        if r.suite == suite
        and r.expectation == expectation
        and r.column_name == column
        and r.batch_id == batch_id
    ]
    assert len(found) == 1, (suite, expectation, column, batch_id, found)
    return found[0]


def test_batches_checked_are_the_new_ones(world: dict[str, Any]) -> None:
    outcome: CheckOutcome = world["outcome"]
    assert outcome.batches["zendesk__tickets"] == [world["tickets_a"], world["tickets_b"]]
    assert outcome.batches["qualtrics__responses"] == [world["survey_c"]]
    assert outcome.batches["crm__orders"] == [world["orders_d"]]
    assert outcome.batches["zendesk__users"] == [world["users_f"]]
    assert outcome.batches["amazon_connect__contact_records"] == [world["calls_e"]]
    assert outcome.batches["zendesk__ticket_metric_sets"] == [world["metric_sets_g"]]


def test_clean_batches_pass(world: dict[str, Any]) -> None:
    outcome: CheckOutcome = world["outcome"]
    for batch in (world["tickets_a"], world["users_f"], world["calls_e"], world["orders_d"]):
        results = [r for r in outcome.results if r.batch_id == batch]
        assert len(results) >= 6
        assert [r.line() for r in results if not r.success] == []
    matched = find(
        outcome,
        "amazon_connect__contact_records",
        "calls_matched_to_customer",
        "CustomerEndpoint.Address",
        world["calls_e"],
    )
    assert matched.success and matched.severity == "warning"
    # schema checks run once per table and pass
    schema = [
        r for r in outcome.results if r.batch_id is None and r.expectation.startswith("expect_")
    ]
    assert schema and all(r.success for r in schema)


def test_nulls_over_two_percent_fail_critical(world: dict[str, Any]) -> None:
    outcome: CheckOutcome = world["outcome"]
    b = world["tickets_b"]
    result = find(
        outcome, "zendesk__tickets", "expect_column_values_to_not_be_null", "requester_id", b
    )
    assert (result.success, result.severity) == (False, "critical")
    assert result.observed_value == "97.00% as expected (3 of 100 rows not)"
    assert result.threshold == "not null for >= 98% of rows"
    # the same check on yesterday's clean batch passes on its own
    clean = find(
        outcome,
        "zendesk__tickets",
        "expect_column_values_to_not_be_null",
        "requester_id",
        world["tickets_a"],
    )
    assert clean.success
    assert find(outcome, "zendesk__tickets", "expect_column_values_to_not_be_null", "id", b).success


def test_duplicate_ids_fail_critical(world: dict[str, Any]) -> None:
    result = find(
        world["outcome"],
        "zendesk__tickets",
        "expect_compound_columns_to_be_unique",
        "id,updated_at",
        world["tickets_b"],
    )
    assert (result.success, result.severity) == (False, "critical")
    assert "2 of 100 rows not" in str(result.observed_value)
    assert [r.label() for r in world["outcome"].critical_failures] == [
        f"zendesk__tickets: expect_column_values_to_not_be_null (requester_id) on "
        f"raw.zendesk__tickets batch {world['tickets_b']}",
        f"zendesk__tickets: expect_compound_columns_to_be_unique (id,updated_at) on "
        f"raw.zendesk__tickets batch {world['tickets_b']}",
    ]


def test_future_timestamp_fails_warning(world: dict[str, Any]) -> None:
    result = find(
        world["outcome"],
        "zendesk__tickets",
        "expect_column_values_to_be_between",
        "created_at",
        world["tickets_b"],
    )
    assert (result.success, result.severity) == (False, "warning")
    assert result.observed_value == "99.00% as expected (1 of 100 rows not)"


def test_out_of_range_scores_fail_warning(world: dict[str, Any]) -> None:
    c = world["survey_c"]
    outcome: CheckOutcome = world["outcome"]
    csat = find(outcome, "qualtrics__responses", "expect_column_values_to_be_between", "csat", c)
    assert (csat.success, csat.severity) == (False, "warning")
    assert csat.observed_value == "90.00% as expected (5 of 50 rows not)"
    assert csat.details["partial_unexpected_list"] == [9, 9, 9, 9, 9]
    nps = find(outcome, "qualtrics__responses", "expect_column_values_to_be_between", "nps", c)
    assert nps.success


def test_orphan_survey_links_fail_warning(world: dict[str, Any]) -> None:
    result = find(
        world["outcome"],
        "qualtrics__responses",
        "survey_links_known_interaction",
        "ticket_id,contact_id",
        world["survey_c"],
    )
    assert (result.success, result.severity) == (False, "warning")
    assert result.observed_value == (
        "43 of 50 scored responses link to a known interaction (86.00%); "
        "6 carry a link to an unknown ticket or contact"
    )
    assert result.threshold == ">= 0.9 of scored responses in the batch link to a known interaction"


def test_survey_link_counts_are_the_same_probed_or_hashed(
    world: dict[str, Any], tmp_path: Any
) -> None:
    """The link check counts by index probes under ``probe_below`` responses and by hashed
    semi-joins above it (docs/performance.md): both give the batch's same counts."""
    from cxscore.paths import expectations_dir
    from cxscore.quality.suites import load_suite, template_values

    text = (expectations_dir() / "qualtrics__responses.yml").read_text(encoding="utf-8")
    assert "probe_below: 100000" in text
    batch = (
        "(select t.* from raw.qualtrics__responses as t "
        f"where t._batch_id = {int(world['survey_c'])}) as subselect"
    )
    (tmp_path / "templates").symlink_to(expectations_dir() / "templates")
    observed = {}
    for probe_below in (100000, 0):  # 50 responses: probed, then hashed
        path = tmp_path / f"qualtrics__responses_{probe_below}.yml"
        path.write_text(text.replace("probe_below: 100000", f"probe_below: {probe_below}"))
        suite = load_suite(path, template_values(check_settings(), NOW))
        (link,) = [e for e in suite.expectations if e.name == "survey_links_known_interaction"]
        sql = link.kwargs["unexpected_rows_query"].replace("{batch}", batch)
        observed[probe_below] = query(world["url"], sql)
    assert (
        observed[100000]
        == observed[0]
        == [
            (
                50,
                43,
                6,
                "43 of 50 scored responses link to a known interaction (86.00%); "
                "6 carry a link to an unknown ticket or contact",
            )
        ]
    )


def test_metric_sets_of_unknown_tickets_fail_warning(world: dict[str, Any]) -> None:
    result = find(
        world["outcome"],
        "zendesk__ticket_metric_sets",
        "metric_set_links_ticket",
        "ticket_id",
        world["metric_sets_g"],
    )
    assert (result.success, result.severity) == (False, "warning")
    assert result.observed_value == "45 of 50 metric sets belong to a loaded ticket (90.00%)"


def test_missing_day_and_weekday_volume_drop_fail_warning(world: dict[str, Any]) -> None:
    outcome: CheckOutcome = world["outcome"]
    missing: date = world["missing_day"]
    drop: date = world["drop_day"]
    gap = find(outcome, "crm__orders", "missing_days", "ordered_at")
    assert (gap.success, gap.severity) == (False, "warning")
    assert gap.observed_value == f"no rows on {missing:%Y-%m-%d %a}"
    volume = find(outcome, "crm__orders", "volume_same_weekday", "ordered_at")
    assert (volume.success, volume.severity) == (False, "warning")
    suffix = " (mean of the same weekday, previous 4 weeks)"
    assert volume.observed_value == (
        f"{drop:%Y-%m-%d %a}: 5 rows vs 20.0{suffix}; {missing:%Y-%m-%d %a}: 0 rows vs 20.0{suffix}"
    )
    assert find(outcome, "crm__orders", "freshness", "updated_at").success


def test_every_result_lands_in_history(world: dict[str, Any]) -> None:
    outcome: CheckOutcome = world["outcome"]
    url = world["url"]
    rows = query(
        url,
        "select count(*), count(*) filter (where not success), "
        "count(*) filter (where not success and severity = 'critical') "
        "from quality.check_results where run_id = 't-run-1'",
    )
    failures = len(outcome.critical_failures) + len(outcome.warning_failures)
    assert rows == [(len(outcome.results), failures, 2)]
    row = query(
        url,
        "select table_name, severity, success, observed_value, threshold, batch_id, "
        "details->>'type' from quality.check_results where run_id = 't-run-1' "
        "and expectation = 'expect_column_values_to_not_be_null' and column_name = 'requester_id' "
        "and batch_id = %s",
        (world["tickets_b"],),
    )
    assert row == [
        (
            "raw.zendesk__tickets",
            "critical",
            False,
            "97.00% as expected (3 of 100 rows not)",
            "not null for >= 98% of rows",
            world["tickets_b"],
            "expect_column_values_to_not_be_null",
        )
    ]


def test_next_run_checks_only_the_new_batch(world: dict[str, Any]) -> None:
    url = world["url"]
    g = new_batch(url, "zendesk", "tickets")
    insert(url, "raw.zendesk__tickets", TICKET_COLUMNS, [ticket(i, g) for i in range(201, 251)])
    outcome = run_checks(
        check_settings(), suites=["zendesk__tickets"], url=url, run_id="t-run-2", alert=False
    )
    # the new batch is validated; the quarantined batch of the same Zendesk stream (it
    # failed its required-field check in t-run-1) is closed: a newer version passed
    assert outcome.batches == {"zendesk__tickets": [g, world["tickets_b"]]}
    assert outcome.critical_failures == []
    assert {r.batch_id for r in outcome.results} == {None, g, world["tickets_b"]}
    (closed,) = [r for r in outcome.results if r.batch_id == world["tickets_b"]]
    assert (closed.expectation, closed.success, closed.observed_value) == (
        "quarantine_superseded",
        True,
        f"superseded by batch {g} of zendesk/tickets, which passed",
    )
    # history is appended, never overwritten
    assert query(url, "select count(distinct run_id) from quality.check_results") == [(2,)]


def test_marts_stage_reports_missing_tables_then_checks_them(world: dict[str, Any]) -> None:
    url = world["url"]
    missing = run_checks(check_settings(), stage="marts", url=url, run_id="t-marts-1", alert=False)
    assert [(r.suite, r.expectation, r.observed_value) for r in missing.critical_failures] == [
        ("touchpoint_scorecard", "expect_table_to_exist", "missing"),
        ("touchpoint_scorecard_wide", "expect_table_to_exist", "missing"),
    ]
    query(
        url,
        "create table marts_build.touchpoint_scorecard (touchpoint_id text, period_grain text, "
        "period_start date, segment text, perspective text, metric text, value numeric, "
        "sample_size bigint, status text);"
        "insert into marts_build.touchpoint_scorecard values "
        "('phone_support','day','2026-03-02','all','customer','csat_pct',120,40,'green'),"
        "('phone_support','day','2026-03-02','all','customer','nps',30,40,'green'),"
        "('phone_support','day','2026-03-02','all','customer','nps',31,40,'green')",
    )
    outcome = run_checks(
        check_settings(), suites=["touchpoint_scorecard"], url=url, run_id="t-marts-2", alert=False
    )
    unique = find(
        outcome,
        "touchpoint_scorecard",
        "expect_compound_columns_to_be_unique",
        "touchpoint_id,period_grain,period_start,segment,metric",
    )
    assert (unique.success, unique.severity) == (False, "critical")
    in_range = find(outcome, "touchpoint_scorecard", "metric_values_in_range", "value")
    assert (in_range.success, in_range.severity) == (False, "warning")
    assert in_range.observed_value == "csat_pct: 1 rows out of range (min 120, max 120)"
    assert find(outcome, "touchpoint_scorecard", "expect_table_to_exist").success


def test_unknown_suite_is_a_config_error(world: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"unknown suite.*nope.*zendesk__tickets"):
        run_checks(check_settings(), suites=["nope"], url=world["url"], alert=False)


def test_unreachable_warehouse_is_a_clear_error(world: dict[str, Any]) -> None:
    from cxscore.errors import CxError

    with pytest.raises(CxError, match=r"cannot connect to the warehouse at postgresql://"):
        run_checks(
            check_settings(),
            suites=["zendesk__users"],
            url="postgresql://postgres@127.0.0.1:1/nowhere",
            alert=False,
        )


def test_derived_columns_of_large_compressed_records(world: dict[str, Any]) -> None:
    """The Connect suite reads each CTR decompressed once per row (decompress_payload) and
    computes each derived column once (a fenced batch query): the same verdicts as reading
    the stored record, here on CTRs large enough to be stored compressed."""
    url = world["url"]
    batch = new_batch(url, "amazon_connect", "contact_records")
    start = NOW - timedelta(hours=3)
    calls = []
    for i in range(1, 21):
        queue: dict[str, Any] = {"Name": "Support", "Duration": 12}
        if i == 1:
            queue["Duration"] = -5  # a number out of range
        if i == 2:
            queue["Duration"] = "12"  # not a JSON number: no derived value
        ctr = {
            "ContactId": f"Z{i}",
            "CustomerEndpoint": {"Address": f"+1555010{i:04d}", "Type": "TELEPHONE_NUMBER"},
            "Queue": queue,
            "Agent": {"AgentInteractionDuration": 200, "CustomerHoldDuration": -1 if i < 4 else 0},
            "Attributes": {"note": "padding of a long contact flow attribute " * 120},
        }
        calls.append(call_row(ctr, start, batch, "large-ctrs.jsonl", i))
    insert(url, "raw.amazon_connect__contact_records", CALL_COLUMNS, calls)
    stored, text = query(
        url,
        "select sum(pg_column_size(payload)), sum(octet_length(payload::text)) "
        "from raw.amazon_connect__contact_records where _batch_id = %s",
        (batch,),
    )[0]
    assert stored < text / 4  # compressed in storage
    outcome = run_checks(
        check_settings(),
        suites=["amazon_connect__contact_records"],
        url=url,
        run_id="t-run-large",
        alert=False,
    )
    assert outcome.batches["amazon_connect__contact_records"] == [batch]

    def between(column: str) -> CheckResult:
        return find(
            outcome,
            "amazon_connect__contact_records",
            "expect_column_values_to_be_between",
            column,
            batch,
        )

    queue_check = between("queue_duration")  # -5 out of range, "12" not a number (skipped)
    assert (queue_check.success, queue_check.observed_value) == (
        False,
        "94.74% as expected (1 of 19 rows not)",
    )
    hold = between("customer_hold_duration")
    assert (hold.success, hold.observed_value) == (False, "85.00% as expected (3 of 20 rows not)")
    assert between("agent_interaction_duration").success
    assert between("contact_seconds").success


def test_suites_one_at_a_time_give_the_same_results(
    pg_server_url: str, world: dict[str, Any]
) -> None:
    """The world's checks ran two suites at a time (the default quality.parallel_suites);
    one at a time, on the same rows in another database, every result is the same and
    comes in the same order (suite by suite, as the suites are listed)."""
    with scratch_database(pg_server_url, "cxtest_quality_one") as url:
        load_world(url)
        settings = load_settings(
            environ={
                "CX_QUALITY__MIN_TIMESTAMP": (NOW - timedelta(days=400)).isoformat(),
                "CX_QUALITY__PARALLEL_SUITES": "1",
            }
        )
        one = run_checks(settings, stage="raw", url=url, run_id="t-one", alert=False)

    def seen(outcome: CheckOutcome) -> list[tuple[Any, ...]]:
        return [
            (r.suite, r.expectation, r.column_name, r.batch_id, r.success, r.observed_value)
            for r in outcome.results
        ]

    two: CheckOutcome = world["outcome"]
    assert check_settings().quality.parallel_suites == 2
    assert len(seen(two)) > 60
    assert seen(one) == seen(two)
    assert [r.suite for r in two.results] == sorted(r.suite for r in two.results)


def test_raw_checks_started_as_sources_end_give_the_same_results(
    pg_server_url: str, world: dict[str, Any]
) -> None:
    """``cxscore run`` checks a source's suites as soon as the sources they read have ended
    (EarlyRawChecks): a suite waits for every source whose table it reads (the survey link
    check reads tickets and contacts; three sources write the sentiment scores), and the
    results are those of checking everything at the end."""
    from cxscore.quality.gate import EarlyRawChecks, raw_tables_read
    from cxscore.quality.suites import load_suites

    suites = load_suites(check_settings(), NOW)
    assert raw_tables_read(suites["qualtrics__responses"]) == {
        "qualtrics__responses",
        "zendesk__tickets",
        "amazon_connect__contact_records",
    }
    assert raw_tables_read(suites["amazon_connect__contact_records"]) == {
        "amazon_connect__contact_records",
        "zendesk__users",  # calls matched to a customer
    }
    assert raw_tables_read(suites["crm__orders"]) == {"crm__orders"}
    with scratch_database(pg_server_url, "cxtest_quality_early") as url:
        load_world(url)
        early = EarlyRawChecks(
            check_settings(),
            url=url,
            run_id="t-early",
            sources=["zendesk", "amazon_connect", "qualtrics", "orders"],
        )
        started = []
        for source in ("orders", "qualtrics", "amazon_connect", "zendesk"):
            early.source_done(source)
            started.append(sorted(early.started))
        outcome, state = early.finish()
    assert started == [
        ["crm__orders"],
        ["crm__orders"],  # the survey suite reads tickets and contacts; the scores, three
        ["amazon_connect__contact_lens", "crm__orders"],  # the calls read the users
        sorted(s for s in suites if suites[s].stage == "raw"),
    ]

    def seen(outcome: CheckOutcome) -> list[tuple[Any, ...]]:
        return sorted(
            (r.suite, r.expectation, r.column_name, r.batch_id, r.success, r.observed_value)
            for r in outcome.results
        )

    assert seen(outcome) == seen(world["outcome"])
    assert outcome.batches == world["outcome"].batches
    assert list(state.quarantined) == [world["tickets_b"]]
