"""The scorecard built by dbt on real PostgreSQL from a small hand-made raw dataset.

Expected numbers are worked out by hand from tests/dbt/world.py (see the comments there);
irrational values (intervals, square roots) are written as the closed-form arithmetic.
"""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import query

pytestmark = [pytest.mark.pg, pytest.mark.slow]

COLUMNS = (
    "metric, value, numerator, sample_size, target, amber_band, direction, target_type,"
    " status, owner, prior_value, change_vs_prior, ci_low, ci_high, change_significant"
)
Z = 1.96
THIRD = 100 / 3


def _wilson(k: int, n: int) -> tuple[float, float]:
    p = k / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / (1 + Z**2 / n)
    return 100 * (centre - half), 100 * (centre + half)


NPS_MOE = 196 * math.sqrt((1 / 3 + 1 / 3 - 0) / 3)  # 1 promoter, 1 detractor of 3
CSAT_CI = _wilson(2, 3)
CES_HALF = 1.96 * math.sqrt(((7 - 4.5) ** 2 + (2 - 4.5) ** 2) / 1) / math.sqrt(2)

# phone_support, day 2026-03-02, segment all: C1 (U2, answered, transferred, recontacted
# by T103), C2 (short abandon), C3 (abandoned), C4 (unanswered callback); R1, R2, R3 scored;
# O1 attributed to C1. Prior day: C8 (unknown caller answered after 10 s, handle 100 s).
PHONE_SUPPORT_DAY: dict[str, tuple[Any, ...]] = {
    #  metric: (value, numerator, n, target, amber, direction, type, status, owner,
    #           prior, change, ci_low, ci_high, significant)
    "interactions": (4, None, 4, None, None, None, None, "no_target", "Ops supervisor", 1, 3, None, None, None),
    "csat_pct": (200 / 3, 2, 3, 80, 5, "higher", "absolute", "low_sample", "Ops supervisor", None, None, CSAT_CI[0], CSAT_CI[1], None),
    "nps": (0, 0, 3, 30, 10, "higher", "absolute", "low_sample", "Ops supervisor", None, None, -NPS_MOE, NPS_MOE, None),
    "nps_moe95": (NPS_MOE, None, 3, None, None, None, None, "no_target", "Ops supervisor", None, None, None, None, None),
    "ces_avg": (4.5, None, 2, 5, 0.5, "higher", "absolute", "low_sample", "Ops supervisor", None, None, 4.5 - CES_HALF, 4.5 + CES_HALF, None),
    "problematic_moment_pct": (50, 2, 4, 10, 5, "lower", "absolute", "low_sample", "CX analyst", 0, 50, None, None, None),
    "first_response_avg_seconds": (30, None, 1, 15, 15, "lower", "absolute", "amber", "Ops supervisor", 10, 20, None, None, None),
    "abandonment_pct": (THIRD, 1, 3, 5, 3, "lower", "absolute", "low_sample", "Ops supervisor", 0, THIRD, None, None, None),
    "ivr_containment_pct": (0, 0, 4, None, None, None, None, "no_target", "Ops supervisor", 0, 0, None, None, None),
    "avg_handle_seconds": (360, None, 1, None, None, None, None, "no_target", "Ops supervisor", 100, 260, None, None, None),
    "recontact_24h_pct": (100, 1, 1, 5, 2, "lower", "absolute", "low_sample", "Team lead", None, None, None, None, None),
    "fcr_pct": (0, 0, 1, 80, 5, "higher", "absolute", "low_sample", "Ops supervisor", None, None, None, None, None),
    "escalation_pct": (100, 1, 1, 10, 5, "lower", "absolute", "low_sample", "Ops supervisor", 0, 100, None, None, None),
    "assisted_conversion_pct": (100, 1, 1, 2, 2, "higher", "relative_change", "no_data", "Business owner", None, None, None, None, None),
    "influenced_revenue": (100, None, 1, None, None, None, None, "no_target", "Ops supervisor", None, None, None, None, None),
    "refund_pct": (0, 0, 1, 5, 2, "lower", "absolute", "low_sample", "Business owner", None, None, None, None, None),
    "data_completeness_pct": (25, 1, 4, 98, 1, "higher", "absolute", "red", "Data engineer", 0, 25, None, None, None),
    "survey_response_rate_pct": (75, 3, 4, 80, 20, "higher", "absolute", "low_sample", "CX analyst", 0, 75, None, None, None),
    "survey_linkage_pct": (200 / 3, 2, 3, 90, 5, "higher", "absolute", "low_sample", "Data engineer", None, None, None, None, None),
    "customer_sentiment_avg": (-0.15, None, 2, 0, 0.1, "higher", "absolute", "low_sample", "CX analyst", -0.6, 0.45, None, None, None),
    "negative_sentiment_pct": (50, 1, 2, 10, 5, "lower", "absolute", "low_sample", "CX analyst", 100, -50, None, None, None),
    "sentiment_coverage_pct": (200 / 3, 2, 3, 80, 10, "higher", "absolute", "low_sample", "Data engineer", 100, 200 / 3 - 100, None, None, None),
    "followup_rate_pct": (None, 0, 0, 95, 5, "higher", "absolute", "no_data", "Team lead", None, None, None, None, None),
    "followup_within_sla_pct": (None, 0, 0, 90, 10, "higher", "absolute", "no_data", "Team lead", None, None, None, None, None),
}  # fmt: skip


def _same(actual: Any, expected: Any) -> bool:
    if expected is None or actual is None:
        return actual is expected
    if isinstance(expected, str | bool):
        return bool(actual == expected)
    return math.isclose(float(actual), float(expected), rel_tol=1e-12, abs_tol=1e-12)


def _rows(url: str, where: str, params: tuple[object, ...]) -> dict[str, tuple[Any, ...]]:
    rows = query(
        url, f"select {COLUMNS} from marts_build.touchpoint_scorecard where {where}", params
    )
    return {row[0]: row[1:] for row in rows}


def test_phone_support_day_all_metrics(built_world: str) -> None:
    rows = _rows(
        built_world,
        "touchpoint_id = %s and period_grain = 'day' and period_start = %s and segment = 'all'",
        ("phone_support", "2026-03-02"),
    )
    assert set(rows) == set(PHONE_SUPPORT_DAY)
    for metric, expected in PHONE_SUPPORT_DAY.items():
        actual = rows[metric]
        for name, a, e in zip(COLUMNS.split(", ")[1:], actual, expected, strict=True):
            assert _same(a, e), f"{metric}.{name}: got {a!r}, expected {e!r}"


def test_exact_numeric_values_on_boundaries(built_world: str) -> None:
    # stored exactly (numeric, not float): 1/3 of 100 to full numeric precision
    [(value,)] = query(
        built_world,
        "select value from marts_build.touchpoint_scorecard where touchpoint_id = 'phone_support'"
        " and period_grain = 'day' and period_start = '2026-03-02' and segment = 'all'"
        " and metric = 'abandonment_pct'",
    )
    assert isinstance(value, Decimal) and str(value).startswith("33.33333333333333")
    # chat FRT exactly 120 s against the chat target 120 -> green; owner from the touchpoint
    [(status, owner, target)] = query(
        built_world,
        "select status, owner, target from marts_build.touchpoint_scorecard where touchpoint_id ="
        " 'chat_checkout_help' and period_grain = 'day' and period_start = '2026-03-02'"
        " and segment = 'all' and metric = 'first_response_avg_seconds'",
    )
    assert (status, owner, target) == ("green", "E-commerce lead", Decimal("120"))


def test_segments_weeks_months_and_rows_that_exist(built_world: str) -> None:
    counts = dict(
        query(
            built_world,
            "select segment || '/' || period_grain || '/' || period_start, value"
            " from marts_build.touchpoint_scorecard"
            " where touchpoint_id = 'phone_support' and metric = 'interactions'",
        )
    )
    assert counts == {
        "all/day/2026-03-01": 1,
        "unknown/day/2026-03-01": 1,
        "all/day/2026-03-02": 4,
        "silver/day/2026-03-02": 1,  # C1 (U2)
        "unknown/day/2026-03-02": 3,  # C2, C3, C4
        "all/week/2026-02-23": 1,  # 03-01 is a Sunday
        "unknown/week/2026-02-23": 1,
        "all/week/2026-03-02": 4,
        "silver/week/2026-03-02": 1,
        "unknown/week/2026-03-02": 3,
        "all/month/2026-03-01": 5,
        "silver/month/2026-03-01": 1,
        "unknown/month/2026-03-01": 4,
    }
    # metric rows per channel: email has no abandonment / handle / IVR rows
    metrics = {
        tp: n
        for tp, n in query(
            built_world,
            "select touchpoint_id, count(distinct metric) from marts_build.touchpoint_scorecard"
            " group by touchpoint_id",
        )
    }
    # (+ followup_rate_pct and followup_within_sla_pct: no_data while closing the loop is off)
    assert metrics["phone_support"] == 24
    assert metrics["chat_checkout_help"] == 23
    assert metrics["email_support"] == 21
    assert metrics["unmapped_social"] == 21
    # a row that exists only because of a survey response (R5 -> unmapped_other)
    survey_only = _rows(
        built_world,
        "touchpoint_id = 'unmapped_other' and period_grain = 'day' and segment = 'all'",
        (),
    )
    assert survey_only["interactions"][:3] == (None, None, 0)
    assert survey_only["interactions"][7] == "no_data"
    assert survey_only["survey_response_rate_pct"][:3] == (None, 1, 0)
    assert survey_only["survey_response_rate_pct"][7] == "no_data"
    assert survey_only["csat_pct"][:3] == (0, 0, 1)
    [(period_end,)] = query(
        built_world,
        "select distinct period_end::text from marts_build.touchpoint_scorecard"
        " where period_grain = 'month' and period_start = '2026-03-01'",
    )
    assert period_end == "2026-04-01"


def test_interaction_level_flags(built_world: str) -> None:
    rows = {
        r[0]: r[1:]
        for r in query(
            built_world,
            "select interaction_id, touchpoint_id, customer_id, segment, recontact_24h,"
            " first_contact_resolved, moment_class, was_transferred, was_abandoned,"
            " is_short_abandon, is_complete, attributed_orders"
            " from marts_build.fct_interactions",
        )
    }
    assert set(rows) == {
        "zendesk:101", "zendesk:102", "zendesk:103", "zendesk:105", "zendesk:106",
        "connect:C1", "connect:C2", "connect:C3", "connect:C4", "connect:C5", "connect:C8",
    }  # fmt: skip
    assert rows["zendesk:101"] == (
        "web_presales_question", "zendesk:1", "gold", True, False, "problematic", False,
        False, False, True, 0,
    )  # fmt: skip
    assert rows["zendesk:103"][0] == "email_support"
    assert rows["zendesk:103"][5:7] == ("problematic", True)  # reopened; 2 group stations
    assert rows["zendesk:105"][1:3] == (None, "unknown")
    assert rows["zendesk:105"][9] is False  # no customer -> incomplete
    assert rows["zendesk:106"][0] == "unmapped_social"
    assert rows["zendesk:106"][9] is False  # solved before created -> incomplete
    assert rows["zendesk:106"][10] == 1  # O2 (refunded) last touch
    assert rows["connect:C1"][:2] == ("phone_support", "zendesk:2")
    assert rows["connect:C1"][6] is True  # transfer child C7
    assert rows["connect:C1"][10] == 1  # O1
    assert rows["connect:C2"][7:9] == (False, True)
    assert rows["connect:C3"][5:8] == ("problematic", False, True)
    assert rows["connect:C5"][:6] == (
        "ivr_self_service", "zendesk:1", "gold", False, True, "indifferent",
    )  # fmt: skip
    [(refunds,)] = query(
        built_world,
        "select attributed_refunds from marts_build.fct_interactions where interaction_id ="
        " 'zendesk:106'",
    )
    assert refunds == 1
    orders = dict(
        query(built_world, "select order_id, attributed_interaction_id from marts_build.fct_orders")
    )
    assert orders == {"O1": "connect:C1", "O2": "zendesk:106", "O3": None, "O4": "connect:C5"}


def test_wide_statuses(built_world: str) -> None:
    [row] = query(
        built_world,
        "select interactions, first_response_avg_seconds, customer_status,"
        " operations_status, financial_status, data_quality_status, overall_status"
        " from marts_build.touchpoint_scorecard_wide where touchpoint_id = 'phone_support'"
        " and period_grain = 'day' and period_start = '2026-03-02' and segment = 'all'",
    )
    assert row == (Decimal(4), Decimal(30), "no_data", "amber", "no_data", "red", "red")
    [row] = query(
        built_world,
        "select customer_status, operations_status, data_quality_status, overall_status"
        " from marts_build.touchpoint_scorecard_wide where touchpoint_id = 'ivr_self_service'"
        " and period_grain = 'day' and period_start = '2026-03-02' and segment = 'gold'",
    )
    # C5: completeness 100 >= 98 (green, min sample 1); everything else low sample/no data
    assert row == ("no_data", "no_data", "green", "green")


def test_transitions(built_world: str) -> None:
    rows = query(
        built_world,
        "select from_touchpoint_id, to_touchpoint_id, transitions, avg_gap_minutes,"
        " problematic_after_pct from marts_build.touchpoint_transitions"
        " where period_grain = 'day' and period_start = '2026-03-02' order by 1, 2",
    )
    assert [(a, b, n, float(gap), float(pct)) for a, b, n, gap, pct in rows] == [
        ("email_support", "ivr_self_service", 1, 120.0, 0.0),  # T102 -> C5
        ("email_support", "unmapped_social", 1, 360.0, 0.0),  # T103 -> T106
        ("phone_support", "email_support", 1, 240.0, 100.0),  # C1 -> T103 (reopened)
        ("web_presales_question", "email_support", 1, 660.0, 100.0),  # T101 -> T102
    ]


def test_pii_is_hashed_with_hmac(built_world: str) -> None:
    import hashlib
    import hmac

    from tests.dbt.world import HASH_KEY

    # staging views hash at query time (they need the key's session settings); the
    # identity table materialises the hashes
    hashes = dict(
        query(
            built_world,
            "select identity_type, identity_hash from intermediate.int_customer_identities_resolved"
            " where customer_id = 'zendesk:2'",
        )
    )
    key = HASH_KEY.encode()
    assert hashes == {
        "email": hmac.new(key, b"b@x.com", hashlib.sha256).hexdigest(),
        "phone": hmac.new(key, b"+14155550102", hashlib.sha256).hexdigest(),
    }
    leaked = query(
        built_world,
        "select table_schema || '.' || table_name from information_schema.columns"
        " where table_schema in ('staging', 'intermediate', 'marts')"
        " and column_name in ('email', 'phone', 'customer_email', 'comment')",
    )
    assert leaked == []


def test_no_customer_text_past_raw(built_world: str) -> None:
    """Values, not only column names: the known comment phrase of the world (a Qualtrics
    comment in raw) appears in no row of any table or view of staging, intermediate or the
    marts; only scores, language and flags do (signals.md, "Text sources")."""
    import contextlib

    import psycopg2

    from cxscore.transform import hash_key, hmac_pads
    from tests.dbt import world

    phrase = "private text"
    [(in_raw,)] = query(
        built_world,
        "select count(*) from raw.qualtrics__responses where payload::text like %s",
        (f"%{phrase}%",),
    )
    assert in_raw > 0
    ipad, opad = hmac_pads(hash_key(world.make_settings(Path("."))))
    relations = query(
        built_world,
        "select table_schema, table_name from information_schema.tables"
        " where table_schema in ('staging', 'intermediate', 'marts_build', 'marts')",
    )
    assert len(relations) > 20
    found = []
    with contextlib.closing(psycopg2.connect(built_world)) as conn, conn.cursor() as cur:
        cur.execute("select set_config('cx.hmac_ipad', %s, false)", (ipad,))
        cur.execute("select set_config('cx.hmac_opad', %s, false)", (opad,))
        for schema, name in relations:
            cur.execute(
                f'select count(*) from "{schema}"."{name}" as t where t::text ilike %s',
                (f"%{phrase}%",),
            )
            row = cur.fetchone()
            if row and row[0]:
                found.append(f"{schema}.{name}")
    assert found == []


def test_bi_reader_sees_every_mart_and_nothing_else(built_world: str) -> None:
    import contextlib

    import psycopg2

    marts = [
        "dim_touchpoints", "dim_customers", "fct_interactions", "fct_survey_responses",
        "fct_orders", "touchpoint_scorecard", "touchpoint_scorecard_wide",
        "touchpoint_transitions", "touchpoint_pain_points", "scorecard_weeks", "fct_followups",
    ]  # fmt: skip
    from cxscore.errors import QualityGateFailed
    from cxscore.pipeline import check_scorecard
    from cxscore.publish import publish_marts
    from cxscore.settings import load_settings

    with pytest.raises(QualityGateFailed, match="was never checked"):
        publish_marts(built_world, run_id="t-bi")  # only a checked build is published
    check_scorecard(load_settings(environ={}), url=built_world, run_id="t-bi")
    published = publish_marts(built_world, run_id="t-bi")
    assert sorted(published["relations"]) == sorted(marts)
    assert set(published["modes"].values()) == {"copy"}  # a first publish copies whole
    indexes = (
        "select c.relname, i.indisunique, split_part(pg_get_indexdef(i.indexrelid), ' USING ', 2) "
        "from pg_index i join pg_class c on c.oid = i.indrelid "
        "join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s"
    )
    with contextlib.closing(psycopg2.connect(built_world)) as conn, conn.cursor() as cur:
        cur.execute(indexes, ("marts_build",))
        built = sorted(cur.fetchall())
        cur.execute(indexes, ("marts",))
        # the published tables have the build's indexes (made after their rows are in)
        assert sorted(cur.fetchall()) == built
    assert ("fct_interactions", True, "btree (interaction_id)") in built
    with contextlib.closing(psycopg2.connect(built_world)) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("set role cx_bi_reader")
            for name in marts:
                cur.execute(f"select count(*) from marts.{name}")
                empty = name == "fct_followups"  # closing the loop is off here
                count = cur.fetchone()[0]
                assert count == published["relations"][name] > (-1 if empty else 0), name
            for relation in (
                "marts_build.touchpoint_scorecard",  # the unchecked build candidate
                "raw.zendesk__users",
                "raw.crm__orders",
                "staging.stg_zendesk__users",
                "intermediate.int_customer_identities_resolved",
                "intermediate.touchpoints",
                "intermediate.pain_point_notes",
                "meta.status_alert_state",  # owner alert state and ledger
                "meta.owner_notifications",
                "meta.followups",
            ):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cur.execute(f"select 1 from {relation} limit 1")


def test_docs_generate_describes_every_mart_column(built_world: str, tmp_path: Path) -> None:
    import json

    from cxscore.transform import PROJECT_DIR, generate_docs
    from tests.dbt.world import make_settings

    result = generate_docs(make_settings(tmp_path), url=built_world)
    docs = Path(result["path"]).parent
    # not dbt_project/target, whose manifest Airflow renders cx_scorecard from (a DAG
    # parsed while dbt rewrote it read an empty file)
    assert docs == tmp_path / "dbt" / "docs" != PROJECT_DIR / "target"
    assert Path(result["path"]).is_file()
    catalog = json.loads((docs / "catalog.json").read_text())
    manifest = json.loads((docs / "manifest.json").read_text())
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["schema"] != "marts":
            continue
        built_columns = catalog["nodes"][node["unique_id"]]["columns"]
        for column in built_columns:
            description = node["columns"].get(column, {}).get("description", "")
            assert description.strip(), f"{node['name']}.{column} has no description"
    assert "exposure.cxscore.touchpoint_scorecard_dashboard" in manifest["exposures"]


def test_every_table_the_build_writes_has_planner_statistics(built_world: str) -> None:
    """The post-hook refresh_statistics analyses each table, incremental model and seed (views
    are not analysed): the incremental steps are planned on their real sizes. A table never
    analysed (nor vacuumed) has reltuples = -1 ("unknown")."""
    tables = query(
        built_world,
        "select n.nspname || '.' || c.relname, c.reltuples >= 0 from pg_class c "
        "join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname in ('staging', 'intermediate', 'marts_build') and c.relkind = 'r' "
        "and c.relname not like 'cx\\_%' order by 1",
    )
    assert len(tables) >= 10
    assert [name for name, analysed in tables if not analysed] == []


# keys whose uniqueness no data test checks: the table's unique index fails the build on a
# duplicate before a test could see one (docs/scorecard.md, "Tests")
KEYS_HELD_BY_AN_INDEX = {
    "staging.stg_zendesk__tickets": ["ticket_id"],
    "staging.stg_zendesk__ticket_metric_sets": ["ticket_id"],
    "staging.stg_zendesk__users": ["user_id"],
    "staging.stg_qualtrics__responses": ["response_id"],
    "staging.stg_crm__orders": ["order_id"],
    "intermediate.int_customer_identities_resolved": ["identity_type", "identity_hash"],
    "intermediate.int_interactions_to_remap": ["interaction_id"],
    "intermediate.int_followups_due": ["followup_key"],
    "intermediate.int_followups_tracked": ["followup_key"],
    "marts_build.fct_interactions": ["interaction_id"],
    "marts_build.fct_orders": ["order_id"],
    "marts_build.fct_survey_responses": ["response_id"],
    "marts_build.touchpoint_scorecard": [
        "touchpoint_id",
        "period_grain",
        "period_start",
        "segment",
        "metric",
    ],
    "marts_build.touchpoint_scorecard_wide": [
        "touchpoint_id",
        "period_grain",
        "period_start",
        "segment",
    ],
    "marts_build.touchpoint_transitions": [
        "period_grain",
        "period_start",
        "from_touchpoint_id",
        "to_touchpoint_id",
    ],
}


def test_the_keys_without_a_unique_test_have_a_unique_index(built_world: str) -> None:
    """Each key above is exactly the columns of a unique index of its built table, and a
    duplicate of it is refused by the database."""
    import psycopg2
    import psycopg2.errors

    rows = query(
        built_world,
        """
        select n.nspname || '.' || t.relname,
               array_agg(a.attname::text order by k.ord)
        from pg_index i
        join pg_class t on t.oid = i.indrelid
        join pg_namespace n on n.oid = t.relnamespace
        cross join lateral unnest(i.indkey) with ordinality as k(attnum, ord)
        join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum
        where i.indisunique and i.indpred is null and i.indexprs is null
        group by i.indexrelid, n.nspname, t.relname
        """,
    )
    unique_indexes: dict[str, list[set[str]]] = {}
    for table, columns in rows:
        unique_indexes.setdefault(str(table), []).append(set(columns))
    missing = {
        table: key
        for table, key in KEYS_HELD_BY_AN_INDEX.items()
        if set(key) not in unique_indexes.get(table, [])
    }
    assert missing == {}
    conn = psycopg2.connect(built_world)
    try:
        with conn.cursor() as cur, pytest.raises(psycopg2.errors.UniqueViolation):
            cur.execute(
                "insert into marts_build.fct_orders select * from marts_build.fct_orders limit 1"
            )
    finally:
        conn.rollback()
        conn.close()


# The marts under a model contract check their columns by constraints, which PostgreSQL
# enforces on every row written, instead of not_null / accepted_values data tests
CONSTRAINED_MARTS = (
    "touchpoint_scorecard",
    "touchpoint_scorecard_wide",
    "touchpoint_transitions",
    "touchpoint_pain_points",
    "scorecard_weeks",
)


def _declared_constraints() -> dict[str, dict[str, list[dict[str, Any]]]]:
    import yaml

    from cxscore.transform import PROJECT_DIR

    path = Path(PROJECT_DIR) / "models" / "marts" / "_marts__models.yml"
    models = yaml.safe_load(path.read_text(encoding="utf-8"))["models"]
    return {
        m["name"]: {c["name"]: c["constraints"] for c in m["columns"] if c.get("constraints")}
        for m in models
        if m["name"] in CONSTRAINED_MARTS
    }


def test_the_contracted_marts_enforce_their_column_constraints(built_world: str) -> None:
    """Each not_null / check constraint the contract declares is on the built table (and on
    its published copy's definition: ``LIKE .. INCLUDING ALL``), and the database refuses a
    null or a value outside the list."""
    import psycopg2
    import psycopg2.errors

    declared = _declared_constraints()
    assert sorted(declared) == sorted(CONSTRAINED_MARTS)
    assert sum(len(columns) for columns in declared.values()) == 38
    for model, columns in declared.items():
        not_null = dict(
            query(
                built_world,
                "select a.attname::text, a.attnotnull from pg_attribute a"
                " where a.attrelid = to_regclass(%s) and a.attnum > 0 and not a.attisdropped",
                (f"marts_build.{model}",),
            )
        )
        checks = [
            str(definition)
            for (definition,) in query(
                built_world,
                "select pg_get_constraintdef(oid) from pg_constraint"
                " where conrelid = to_regclass(%s) and contype = 'c'",
                (f"marts_build.{model}",),
            )
        ]
        for column, constraints in columns.items():
            kinds = [c["type"] for c in constraints]
            assert not_null[column] is ("not_null" in kinds), (model, column)
            for constraint in constraints:
                if constraint["type"] == "check":
                    assert any(column in d for d in checks), (model, column, checks)
        assert len(checks) == sum(c["type"] == "check" for cs in columns.values() for c in cs), (
            model
        )
    conn = psycopg2.connect(built_world)
    try:
        with conn.cursor() as cur:
            cur.execute("savepoint s")
            with pytest.raises(psycopg2.errors.NotNullViolation):
                cur.execute(
                    "insert into marts_build.touchpoint_scorecard (touchpoint_id, period_grain,"
                    " period_start, period_end, segment, perspective, metric, sample_size,"
                    " status) values (null, 'day', '2026-01-01', '2026-01-01', 'all',"
                    " 'customer', 'nps', 0, 'no_data')"
                )
            cur.execute("rollback to savepoint s")
            with pytest.raises(psycopg2.errors.CheckViolation):
                cur.execute(
                    "insert into marts_build.touchpoint_scorecard (touchpoint_id, period_grain,"
                    " period_start, period_end, segment, perspective, metric, sample_size,"
                    " status) values ('t', 'day', '2026-01-01', '2026-01-01', 'all',"
                    " 'customer', 'nps', 0, 'purple')"
                )
    finally:
        conn.rollback()
        conn.close()
