from __future__ import annotations

import contextlib

import psycopg2
import psycopg2.errors
import pytest

from cxscore.warehouse import init_warehouse
from tests.helpers import query

pytestmark = pytest.mark.pg


def test_init_is_idempotent_and_creates_contract_objects(fresh_db: str) -> None:
    assert init_warehouse(fresh_db) == [
        "001_schemas.sql",
        "002_roles.sql",
        "003_gate.sql",
        "004_sentiment.sql",
        "005_owner_signals.sql",
        "006_followups.sql",
        "007_day_counts.sql",
    ]
    query(fresh_db, "insert into meta.extract_state (source, stream, cursor) values ('z','t','c')")
    init_warehouse(fresh_db)  # again: nothing breaks, nothing is lost
    assert query(fresh_db, "select cursor from meta.extract_state") == [("c",)]
    schemas = {r[0] for r in query(fresh_db, "select nspname from pg_namespace")}
    assert {"raw", "meta", "staging", "intermediate", "marts", "quality"} <= schemas
    tables = {
        f"{s}.{t}"
        for s, t in query(
            fresh_db,
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw','meta','quality')",
        )
    }
    assert {
        "raw.zendesk__tickets",
        "raw.zendesk__ticket_metric_sets",
        "raw.zendesk__users",
        "raw.amazon_connect__contact_records",
        "raw.qualtrics__responses",
        "raw.crm__orders",
        "raw.rejected_rows",
        "meta.extract_state",
        "meta.loaded_files",
        "meta.load_batches",
        "meta.status_alert_state",
        "meta.owner_notifications",
        "meta.signalled_interactions",
        "meta.followups",
        "quality.check_results",
    } <= tables


def _as_bi_reader(url: str, sql: str) -> list[tuple]:
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute("set role cx_bi_reader")
        cur.execute(sql)
        return cur.fetchall()


def test_bi_reader_reads_marts_and_quality_not_raw(fresh_db: str) -> None:
    init_warehouse(fresh_db)
    # a mart created AFTER init (as dbt will) is readable through default privileges
    query(fresh_db, "create table marts.example as select 1 as x")
    query(fresh_db, "create view marts.example_v as select 2 as y")
    query(
        fresh_db,
        "insert into raw.crm__orders (payload, _batch_id, _source_file, _line) "
        "values ('{}', 1, 'f', 1)",
    )
    assert _as_bi_reader(fresh_db, "select x from marts.example") == [(1,)]
    assert _as_bi_reader(fresh_db, "select y from marts.example_v") == [(2,)]
    assert _as_bi_reader(fresh_db, "select count(*) from quality.check_results") == [(0,)]
    for table in ("raw.crm__orders", "meta.extract_state", "raw.rejected_rows"):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            _as_bi_reader(fresh_db, f"select * from {table}")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        _as_bi_reader(fresh_db, "create table marts.hack (x int)")


def test_session_database_is_initialised(pg_url: str) -> None:
    assert query(pg_url, "select count(*) from raw.zendesk__tickets") == [(0,)]


def test_gate_objects_migrate_an_older_warehouse(fresh_db: str) -> None:
    """A warehouse initialised before the gate: check_results had no stage. Init again
    fills it from the table name, and the gate view reads them."""
    init_warehouse(fresh_db)
    query(fresh_db, "drop view quality.gate; alter table quality.check_results drop column stage")
    query(
        fresh_db,
        "insert into quality.check_results (run_id, suite, table_name, expectation, severity, "
        "success, batch_id) values "
        "('old', 'crm__orders', 'raw.crm__orders', 'not_null', 'critical', false, 7),"
        "('old', 'touchpoint_scorecard', 'marts.touchpoint_scorecard', 'unique', 'critical', "
        "false, null)",
    )
    init_warehouse(fresh_db)
    assert query(fresh_db, "select table_name, stage from quality.check_results order by 1") == [
        ("marts.touchpoint_scorecard", "marts"),
        ("raw.crm__orders", "raw"),
    ]
    # the old raw failure is an open quarantine; a marts failure never is
    assert query(fresh_db, "select kind, batch_id, suite from quality.gate") == [
        ("quarantine", 7, "crm__orders")
    ]
    with pytest.raises(psycopg2.errors.CheckViolation):
        query(
            fresh_db,
            "insert into quality.check_results (run_id, suite, table_name, expectation, "
            "severity, success, stage) values ('x', 's', 't', 'e', 'critical', true, 'other')",
        )


def test_bi_reader_reads_the_gate_but_not_the_build_schema(fresh_db: str) -> None:
    init_warehouse(fresh_db)
    query(fresh_db, "create table marts_build.touchpoint_scorecard as select 1 as x")
    assert _as_bi_reader(fresh_db, "select count(*) from quality.gate") == [(0,)]
    for relation in ("marts_build.touchpoint_scorecard", "quality.releases"):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            _as_bi_reader(fresh_db, f"select * from {relation}")


def test_bi_reader_reads_only_check_results_and_gate_in_quality(fresh_db: str) -> None:
    """BI reads quality.check_results and quality.gate, not any other table of `quality`
    (alert_state, or one created later): no default privileges in that schema."""
    init_warehouse(fresh_db)
    query(fresh_db, "create table quality.internal_later as select 1 as x")
    init_warehouse(fresh_db)  # the gate view is granted; the new table is not
    query(fresh_db, "create table quality.internal_after as select 2 as x")
    assert _as_bi_reader(fresh_db, "select count(*) from quality.gate") == [(0,)]
    assert _as_bi_reader(fresh_db, "select count(*) from quality.check_results") == [(0,)]
    for table in ("quality.internal_later", "quality.internal_after", "quality.alert_state"):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            _as_bi_reader(fresh_db, f"select * from {table}")


def test_init_withdraws_the_old_default_grant_in_quality(fresh_db: str) -> None:
    """A warehouse initialised by an older cxscore (every future `quality` table readable)
    loses that default privilege on the next init."""
    init_warehouse(fresh_db)
    query(
        fresh_db,
        "alter default privileges in schema quality grant select on tables to cx_bi_reader",
    )
    init_warehouse(fresh_db)
    query(fresh_db, "create table quality.internal_new as select 1 as x")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        _as_bi_reader(fresh_db, "select * from quality.internal_new")


def test_an_initialised_warehouse_is_not_initialised_again(fresh_db: str) -> None:
    """Every task calls ensure_warehouse: on a warehouse at this version it runs no DDL (the
    init scripts' ALTERs took table locks next to parallel loads: a deadlock)."""
    from cxscore.settings import load_settings
    from cxscore.warehouse import ensure_warehouse, is_current, scripts_digest

    settings = load_settings(environ={"CX_WAREHOUSE__URL": fresh_db})
    assert not is_current(fresh_db)
    ensure_warehouse(settings)
    assert is_current(fresh_db)
    assert query(fresh_db, "select digest from meta.warehouse_version") == [(scripts_digest(),)]
    # a marker the init would remove if it ran again (001 re-grants, 002 revokes on raw)
    query(fresh_db, "grant select on raw.crm__orders to cx_bi_reader")
    ensure_warehouse(settings)
    assert query(
        fresh_db, "select has_table_privilege('cx_bi_reader', 'raw.crm__orders', 'select')"
    ) == [(True,)]
    query(fresh_db, "delete from meta.warehouse_version")  # an older version's warehouse
    ensure_warehouse(settings)
    assert query(
        fresh_db, "select has_table_privilege('cx_bi_reader', 'raw.crm__orders', 'select')"
    ) == [(False,)]


def test_cxscore_sessions_run_without_jit_unless_the_url_says_otherwise(pg_url: str) -> None:
    """Every cxscore session (psycopg2 through ``connect``, GX's SQLAlchemy engine) sets
    jit=off (docs/performance.md, "JIT"); ``options`` in the URL keep theirs and win for
    the same setting."""
    import sqlalchemy

    from cxscore.warehouse import connect, session_options, sqlalchemy_url

    assert session_options("") == "-c jit=off"
    assert session_options("-c search_path=raw") == "-c search_path=raw -c jit=off"
    assert session_options("-c jit=on") == "-c jit=on"
    assert session_options("-cjit=on") == "-cjit=on"
    sep = "&" if "?" in pg_url else "?"
    cases = {
        pg_url: ("off", '"$user", public'),
        f"{pg_url}{sep}options=-c%20jit%3Don": ("on", '"$user", public'),
        f"{pg_url}{sep}options=-c%20search_path%3Draw": ("off", "raw"),
    }
    for url, expected in cases.items():
        with contextlib.closing(connect(url)) as conn, conn.cursor() as cur:
            cur.execute("select current_setting('jit'), current_setting('search_path')")
            assert cur.fetchone() == expected, url
        engine = sqlalchemy.create_engine(sqlalchemy_url(url))
        try:
            with engine.connect() as conn:
                row = conn.exec_driver_sql(
                    "select current_setting('jit'), current_setting('search_path')"
                ).fetchone()
                assert tuple(row or ()) == expected, url
        finally:
            engine.dispose()


def test_statistics_after_a_load_sample_at_the_configured_target(fresh_db: str) -> None:
    """refresh_statistics analyses with warehouse.statistics_target: a column of 1,000
    distinct values gets target + 1 histogram bounds (31 at 30; 101 at PostgreSQL's default
    100), and the session's own default is restored afterwards."""
    from cxscore.warehouse import connect, refresh_statistics

    init_warehouse(fresh_db)
    conn = connect(fresh_db)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                "create table raw.stats_probe as select g as n from generate_series(1, 1000) g"
            )
            cur.execute("show default_statistics_target")
            [(server,)] = cur.fetchall()  # 100 unless the server is configured otherwise
        refresh_statistics(conn, ["raw.stats_probe"], target=30)
        bounds = (
            "select array_length(histogram_bounds::text::int[], 1) from pg_stats "
            "where schemaname = 'raw' and tablename = 'stats_probe' and attname = 'n'"
        )
        with conn.cursor() as cur:
            cur.execute(bounds)
            assert cur.fetchone() == (31,)
            cur.execute("show default_statistics_target")
            assert cur.fetchone() == (server,)
        refresh_statistics(conn, ["raw.stats_probe"])  # 0: the server's target
        with conn.cursor() as cur:
            cur.execute(bounds)
            assert cur.fetchone() == (min(int(server), 999) + 1,)
    finally:
        conn.close()
