"""Counts per business day of a raw table's time column, kept up to date batch by batch:
what the whole-table templates (freshness, volume_same_weekday, missing_days; scope
``days``) read instead of the table itself.

``quality.day_counts`` holds, per (table, column, business time zone, load batch, day), the
rows of that batch whose column falls on that day and the newest value among them (nulls
are not counted, as the templates never counted them). Before a suite's day-count checks
run, the finished batches not counted yet are counted through the table's ``_batch_id``
index, so a check costs what the new batches cost, not what the table holds (docs/quality.md,
"Day counts"). Rows only leave a raw table when a changed landing file is loaded again
(:mod:`cxscore.load.files`): that load forgets the counts of the batches it deletes rows
from, in its own transaction, and the next check counts what is left of them. Both sides
hold the same transaction-level advisory lock per table, so a count never reads rows a
concurrent reload is deleting. A changed business time zone counts everything again once.
"""

from __future__ import annotations

import psycopg2.extensions
from psycopg2 import sql

LOCK_NAMESPACE = "cx.day_counts:"


def lock_table_counts(cur: psycopg2.extensions.cursor, table: str) -> None:
    """Hold the day-count lock of ``table`` until the transaction ends."""
    cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (LOCK_NAMESPACE + table,))


def forget_file_counts(cur: psycopg2.extensions.cursor, table: str, source_file: str) -> None:
    """Before rows of ``source_file`` are deleted from ``table`` (same transaction): forget
    the counts of every batch holding such rows; the next check counts them again."""
    lock_table_counts(cur, table)
    cur.execute(
        sql.SQL(
            "delete from quality.day_counts where table_name = %s and batch_id in "
            "(select distinct _batch_id from {} where _source_file = %s)"
        ).format(sql.SQL(table)),
        (table, source_file),
    )


def refresh_day_counts(
    conn: psycopg2.extensions.connection,
    *,
    table: str,
    column: str,
    batch_column: str,
    timezone: str,
) -> int:
    """Count the finished batches of ``table`` not counted yet for (``column``,
    ``timezone``); commits. Returns the number of (batch, day) rows added."""
    with conn, conn.cursor() as cur:
        lock_table_counts(cur, table)
        cur.execute(
            "delete from quality.day_counts "
            "where table_name = %s and column_name = %s and timezone <> %s",
            (table, column, timezone),
        )
        cur.execute(
            "select b.batch_id from meta.load_batches b where b.status <> 'running' "
            "and not exists (select 1 from quality.day_counts c where c.table_name = %s "
            "and c.column_name = %s and c.timezone = %s and c.batch_id = b.batch_id)",
            (table, column, timezone),
        )
        batches = [int(row[0]) for row in cur.fetchall()]
        if not batches:
            return 0
        col, batch = sql.Identifier(column), sql.Identifier(batch_column)
        cur.execute(
            sql.SQL(
                "insert into quality.day_counts "
                "(table_name, column_name, timezone, batch_id, day, n, newest) "
                "select %s, %s, %s, t.{batch}, (t.{col} at time zone %s)::date, count(*), "
                "max(t.{col}) from {table} as t "
                "where t.{batch} = any(%s) and t.{col} is not null "
                "group by t.{batch}, (t.{col} at time zone %s)::date "
                "on conflict do nothing"
            ).format(batch=batch, col=col, table=sql.SQL(table)),
            (table, column, timezone, timezone, batches, timezone),
        )
        return int(cur.rowcount)


def counts_query(*, table: str, column: str, timezone: str) -> str:
    """The day counts of (``table``, ``column``, ``timezone``) as one row per day: the GX
    batch a day-count template reads (columns ``day``, ``n``, ``newest``)."""

    def literal(value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    return (
        "SELECT c.day, sum(c.n) AS n, max(c.newest) AS newest FROM quality.day_counts AS c "
        f"WHERE c.table_name = {literal(table)} AND c.column_name = {literal(column)} "
        f"AND c.timezone = {literal(timezone)} GROUP BY c.day"
    )
