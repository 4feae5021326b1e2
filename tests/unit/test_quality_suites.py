"""The shipped suites and the suite file format (no database, no GX import)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cxscore.quality.suites import SQL_TYPE, Suite, load_suite, load_suites, template_values
from cxscore.settings import ConfigError, load_settings
from cxscore.sources import orders

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

# the spec's required fields per raw table, and where each lives in the raw row
REQUIRED = {
    "zendesk__tickets": {
        "id": "id",
        "created_at": "created_at",
        "updated_at": "updated_at",
        "status": "status",
        "via.channel": "via_channel",
        "requester_id": "requester_id",
    },
    "zendesk__users": {"id": "id", "created_at": "created_at", "updated_at": "updated_at"},
    "amazon_connect__contact_records": {
        "ContactId": "contact_id",
        "Channel": "channel",
        "InitiationMethod": "initiation_method",
        "InitiationTimestamp": "initiation_timestamp",
        "DisconnectTimestamp": "disconnect_timestamp",
        "LastUpdateTimestamp": "last_update_timestamp",
    },
    "qualtrics__responses": {
        "ResponseId": "response_id",
        "EndDate": "end_date",
        "Finished": "finished",
        "Status": "status",
    },
    "crm__orders": {c: c for c in orders.FIELDS},
}


CRITICAL_TYPES = (
    "expect_column_values_to_not_be_null",
    "expect_column_to_exist",
    "expect_compound_columns_to_be_unique",
)


@pytest.fixture(scope="module")
def suites() -> dict[str, Suite]:
    return load_suites(load_settings(environ={}), NOW)


def test_one_suite_per_raw_table_plus_the_marts(suites: dict[str, Suite]) -> None:
    assert {n: (s.stage, s.qualified_table) for n, s in suites.items()} == {
        "amazon_connect__contact_records": ("raw", "raw.amazon_connect__contact_records"),
        "crm__orders": ("raw", "raw.crm__orders"),
        "qualtrics__responses": ("raw", "raw.qualtrics__responses"),
        "zendesk__ticket_metric_sets": ("raw", "raw.zendesk__ticket_metric_sets"),
        "zendesk__tickets": ("raw", "raw.zendesk__tickets"),
        "zendesk__users": ("raw", "raw.zendesk__users"),
        "zendesk__ticket_comments": ("raw", "raw.zendesk__ticket_comments"),
        "sentiment__message_scores": ("raw", "raw.sentiment__message_scores"),
        "amazon_connect__contact_lens": ("raw", "raw.amazon_connect__contact_lens"),
        "touchpoint_scorecard": ("marts", "marts_build.touchpoint_scorecard"),
        "touchpoint_scorecard_wide": ("marts", "marts_build.touchpoint_scorecard_wide"),
    }


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_required_fields_are_mapped_and_critical_at_98_percent(
    suites: dict[str, Suite], name: str
) -> None:
    suite = suites[name]
    assert suite.batch_column == "_batch_id"
    for field, column in REQUIRED[name].items():
        assert suite.fields[field] == column
        (not_null,) = [
            e
            for e in suite.expectations
            if e.type == "expect_column_values_to_not_be_null" and e.column == column
        ]
        assert (not_null.severity, not_null.scope, not_null.kwargs["mostly"]) == (
            "critical",
            "batch",
            0.98,
        )
        exists = [
            e
            for e in suite.expectations
            if e.type == "expect_column_to_exist" and e.column == column
        ]
        assert [(e.severity, e.scope) for e in exists] == [("critical", "table")]


def test_default_severities_follow_the_spec(suites: dict[str, Suite]) -> None:
    for name in REQUIRED:
        for spec in suites[name].expectations:
            if spec.type in CRITICAL_TYPES or spec.name == "rejected_share_within_limit":
                # required fields, uniqueness, and the loader's reject verdict (the gate)
                assert spec.severity == "critical", spec.where
            elif spec.type != "expect_column_values_to_be_in_type_list":
                # enumerations, ranges, timestamps, freshness, volume, linkage
                assert spec.severity == "warning", spec.where
    unique = {
        n: e.column
        for n in REQUIRED
        for e in suites[n].expectations
        if e.type == "expect_compound_columns_to_be_unique"
    }
    assert unique == {
        "zendesk__tickets": "id,updated_at",
        "zendesk__users": "id,updated_at",
        "crm__orders": "order_id,updated_at",
        "qualtrics__responses": "_source_file,response_id",
    }


def test_templates_are_rendered_with_settings(suites: dict[str, Suite]) -> None:
    tickets = suites["zendesk__tickets"]
    (between,) = [
        e
        for e in tickets.expectations
        if e.type == "expect_column_values_to_be_between" and e.column == "updated_at"
    ]
    assert between.kwargs["min_value"] == datetime(2026, 1, 1, tzinfo=UTC)
    assert between.kwargs["max_value"] == NOW + timedelta(minutes=10)
    (volume,) = [e for e in tickets.expectations if e.name == "volume_same_weekday"]
    # a day-count template: it reads the table's counts per day (suites say scope: days;
    # scope: table, how suites said it before, means the same)
    assert volume.type == SQL_TYPE and volume.scope == "days" and volume.column == "created_at"
    query = volume.kwargs["unexpected_rows_query"]
    assert "${" not in query and "0.5 * baseline" in query and "created_at" in query
    assert volume.threshold is not None and "0.5" in volume.threshold


def test_settings_feed_the_templates() -> None:
    settings = load_settings(
        environ={
            "CX_QUALITY__COMPLETENESS_MOSTLY": "0.95",
            "CX_QUALITY__MIN_TIMESTAMP": "2025-06-01T00:00:00+00:00",
        }
    )
    values = template_values(settings, NOW)
    assert values["mostly"] == 0.95
    assert values["start_time"] == datetime(2025, 6, 1, tzinfo=UTC)
    suite = load_suites(settings, NOW)["crm__orders"]
    mostly = {e.kwargs["mostly"] for e in suite.expectations if "mostly" in e.kwargs}
    assert mostly == {0.95}


def write(tmp_path: Path, text: str) -> Path:
    """A suite file next to a copy of the shipped templates."""
    import shutil

    from cxscore.paths import expectations_dir

    if not (tmp_path / "templates").exists():
        shutil.copytree(expectations_dir() / "templates", tmp_path / "templates")
    path = tmp_path / "s.yml"
    path.write_text(text, encoding="utf-8")
    return path


BASE = "suite: s\nstage: raw\ntable: raw.t\nbatch_column: _batch_id\nexpectations:\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("  - {type: expect_column_to_exist, column: a, severity: high}\n", "severity"),
        ("  - {type: expect_column_values_to_not_be_null, column: a, mostly: '${nope}'}\n", "nope"),
        (
            "  - {type: unexpected_rows_expectation, name: x, unexpected_rows_query: select 1}\n",
            "{batch}",
        ),
        ("  - {query_template: nothing_here, column: a}\n", "nothing_here"),
        ("  - {query_template: freshness, column: a, scope: batch}\n", "write scope: days"),
        ("  - {query_template: freshness, column: \"payload->>'a'\"}\n", "a column name"),
        (
            "  - {type: unexpected_rows_expectation, name: x, scope: days,\n"
            "     unexpected_rows_query: 'select 1 from {batch}'}\n",
            "day-count templates",
        ),
        (
            "  - {type: expect_column_to_exist, column: a}\n"
            "  - {type: expect_column_to_exist, column: a}\n",
            "duplicate",
        ),
    ],
)
def test_bad_suite_files_name_the_file_and_key(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, BASE + body)
    values = template_values(load_settings(environ={}), NOW)
    with pytest.raises(ConfigError) as raised:
        load_suite(path, values)
    assert str(path) in str(raised.value) and message in str(raised.value)
    assert "expectations[" in str(raised.value)


def test_unknown_top_level_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("stage: raw", "stage: raw\nseverity: x") + "  []\n")
    with pytest.raises(ConfigError, match="unknown key"):
        load_suite(path, template_values(load_settings(environ={}), NOW))


def test_day_count_templates_take_scope_table_as_days_and_need_a_batch_column(
    tmp_path: Path,
) -> None:
    settings = load_settings(environ={})
    values = template_values(settings, NOW)
    suite = load_suite(
        write(tmp_path, BASE + "  - {query_template: missing_days, column: a, scope: table}\n"),
        values,
    )
    assert [(e.name, e.scope, e.column) for e in suite.expectations] == [
        ("missing_days", "days", "a")
    ]
    no_batches = "suite: s\nstage: raw\ntable: raw.t\nexpectations:\n"
    with pytest.raises(ConfigError, match="needs the suite's 'batch_column'"):
        load_suite(
            write(tmp_path, no_batches + "  - {query_template: freshness, column: a}\n"), values
        )


def test_decompress_payload_is_a_flag_of_batch_suites(
    tmp_path: Path, suites: dict[str, Suite]
) -> None:
    assert suites["amazon_connect__contact_records"].decompress_payload
    assert not suites["qualtrics__responses"].decompress_payload
    values = template_values(load_settings(environ={}), NOW)
    body = "  - {type: expect_column_to_exist, column: a}\n"
    path = write(
        tmp_path, BASE.replace("stage: raw", "stage: raw\ndecompress_payload: yes please") + body
    )
    with pytest.raises(ConfigError, match="'decompress_payload' must be true or false"):
        load_suite(path, values)
    no_batches = BASE.replace("batch_column: _batch_id\n", "decompress_payload: true\n")
    path = write(tmp_path, no_batches + body)
    with pytest.raises(ConfigError, match="'decompress_payload' needs a 'batch_column'"):
        load_suite(path, values)
