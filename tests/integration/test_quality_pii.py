"""Values of PII columns (``pii:`` in a suite) never reach quality.check_results or alerts:
real GX on real PostgreSQL, a suite of the test's own on raw.crm__orders."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from cxscore.quality import run_checks
from cxscore.quality.alerts import build_check_alert
from cxscore.settings import load_settings
from tests.helpers import query
from tests.integration.test_quality import NOW, _database, insert, new_batch

pytestmark = [pytest.mark.pg, pytest.mark.slow]

SUITE = """
suite: orders_pii
stage: raw
table: raw.crm__orders
batch_column: _batch_id
pii: [customer_email, payload]
expectations:
  - {type: expect_column_values_to_match_regex, column: customer_email,
     regex: "^[^@]+@example\\\\.com$", severity: warning}
  - {type: expect_column_most_common_value_to_be_in_set, column: customer_email,
     value_set: [nobody@example.com], severity: warning}
  - {type: expect_column_values_to_match_regex, column: currency, regex: "^[A-Z]{3}$",
     severity: warning}
  - type: unexpected_rows_expectation
    name: emails_with_plus
    column: customer_email
    severity: warning
    unexpected_rows_query: |
      select order_id, customer_email, 'plus address' as observed
      from {batch} where customer_email like '%+%'
"""


@pytest.fixture(scope="module")
def orders_db(pg_server_url: str) -> Iterator[str]:
    with _database(pg_server_url) as url:
        yield url


def test_pii_values_are_redacted_in_results_and_alerts(orders_db: str, tmp_path: Path) -> None:
    folder = tmp_path / "expectations"
    folder.mkdir()
    (folder / "orders_pii.yml").write_text(SUITE)
    batch = new_batch(orders_db, "orders", "orders")
    rows = [
        (f"O{i}", f"c{i}@example.com", NOW - timedelta(hours=1), 10, "EUR", "placed", batch)
        for i in range(6)
    ]
    rows += [
        ("O7", "jane.doe+cx@private.example", NOW, 10, "eur", "placed", batch),
        ("O8", "john.roe@private.example", NOW, 10, "EUR", "placed", batch),
    ]
    columns = ["order_id", "customer_email", "ordered_at", "amount", "currency", "status"]
    insert(
        orders_db,
        "raw.crm__orders",
        [*columns, "updated_at", "payload", "_batch_id", "_source_file", "_line"],
        [
            (*r[:6], NOW, json.dumps({"customer_email": r[1]}), r[6], "f.csv", n)
            for n, r in enumerate(rows)
        ],
    )
    settings = load_settings(
        environ={
            "CX_QUALITY__EXPECTATIONS_DIR": str(folder),
            "CX_QUALITY__MIN_TIMESTAMP": (NOW - timedelta(days=400)).isoformat(),
        }
    )
    outcome = run_checks(
        settings, suites=["orders_pii"], url=orders_db, run_id="pii-1", alert=False
    )
    by_name = {(r.expectation, r.column_name): r for r in outcome.results}

    email_regex = by_name[("expect_column_values_to_match_regex", "customer_email")]
    assert not email_regex.success
    assert email_regex.observed_value == "75.00% as expected (2 of 8 rows not)"
    assert email_regex.details["partial_unexpected_list"] == ["***", "***"]
    common = by_name[("expect_column_most_common_value_to_be_in_set", "customer_email")]
    assert common.observed_value == "***"
    currency = by_name[("expect_column_values_to_match_regex", "currency")]
    assert currency.details["partial_unexpected_list"] == ["eur"]  # not PII: kept
    plus = by_name[("emails_with_plus", "customer_email")]
    assert plus.details["unexpected_rows"] == [
        {"order_id": "O7", "customer_email": "***", "observed": "plus address"}
    ]

    stored = query(
        orders_db,
        "select details::text, observed_value from quality.check_results where run_id = 'pii-1'",
    )
    assert stored and not any(
        "private.example" in d or "private.example" in (o or "") for d, o in stored
    )
    alert = build_check_alert(
        settings,
        event="quality_check_failed",
        suite="orders_pii",
        results=[r for r in outcome.results if not r.success],
        run_id="pii-1",
    )
    assert "private.example" not in json.dumps(alert.payload())
    assert "private.example" not in alert.text()
