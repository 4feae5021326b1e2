"""Quality check stage (GX Core, SQL pushed down) on a large raw contact-record table.

Builds ``CX_BENCH_CHECK_ROWS`` (default 1,000,000) Amazon Connect contact records over 35
days, in one load batch, plus 50,000 Zendesk users with phones, with SQL
``generate_series`` in a fresh database, then times:

- the fixed overhead: importing great_expectations and building the ephemeral context and
  PostgreSQL data source (paid once per run);
- the check stage: ``run_checks`` on the ``amazon_connect__contact_records`` suite (schema,
  completeness, enumerations, ranges, timestamps on the batch; linkage; freshness, volume,
  missing days on the table), results written to quality.check_results;
- the baseline, in the same process: the equivalent plain SQL, i.e. one aggregate query
  counting nulls / out-of-set / out-of-range values over the batch plus the same linkage,
  freshness, volume and missing-day queries, run with psycopg2.

PostgreSQL: ``CX_BENCH_PG_URL`` (server URL, its database part an admin DB), else the local
server on 127.0.0.1:5432, else an embedded one. The benchmark database is dropped after.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from datetime import UTC, datetime

import psycopg2

from benchmarks import _pg

SUITE = "amazon_connect__contact_records"


def _populate(url: str, rows: int) -> None:
    """``rows`` CTRs over the 35 days before now, 2% without a disconnect time, one batch."""
    with contextlib.closing(psycopg2.connect(url)) as conn, conn, conn.cursor() as cur:
        cur.execute(
            "insert into meta.load_batches (source, stream, status, finished_at) "
            "values ('amazon_connect', 'contact_records', 'succeeded', now()) "
            "returning batch_id"
        )
        (batch,) = cur.fetchone()
        cur.execute(
            """
            insert into raw.zendesk__users (id, created_at, updated_at, payload, _batch_id)
            select g, now() - interval '90 days', now() - interval '1 hour',
                   jsonb_build_object('id', g, 'phone', '+1 555 ' || lpad(g::text, 7, '0')),
                   %s
            from generate_series(1, 50000) as g
            """,
            (batch,),
        )
        cur.execute(
            """
            insert into raw.amazon_connect__contact_records
                (contact_id, channel, initiation_method, initiation_timestamp,
                 disconnect_timestamp, last_update_timestamp, payload, _batch_id,
                 _source_file, _line)
            select 'c-' || g,
                   case when g %% 10 = 0 then 'CHAT' else 'VOICE' end,
                   case when g %% 20 = 0 then 'OUTBOUND' else 'INBOUND' end,
                   ts,
                   case when g %% 50 = 0 then null else ts + interval '5 minutes' end,
                   ts + interval '6 minutes',
                   jsonb_build_object(
                       'ContactId', 'c-' || g,
                       'CustomerEndpoint', jsonb_build_object(
                           'Address', '+1555' || lpad((g %% 60000)::text, 7, '0')),
                       'Queue', jsonb_build_object('Name', 'Support', 'Duration', g %% 97),
                       'Agent', jsonb_build_object('AgentInteractionDuration', g %% 600,
                                                   'CustomerHoldDuration', g %% 7,
                                                   'AfterContactWorkDuration', 30)),
                   %s, 'bench/ctr-' || (g / 10000) || '.jsonl', g
            from (select g, now() - interval '35 days' * (g::float8 / %s) as ts
                  from generate_series(1, %s) as g) as s
            """,
            (batch, rows, rows),
        )
    with contextlib.closing(psycopg2.connect(url)) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("vacuum analyze raw.amazon_connect__contact_records")
            cur.execute("vacuum analyze raw.zendesk__users")


def _plain_sql(url: str, suite_queries: list[str]) -> float:
    """The same judgements written by hand: one aggregate pass over the batch + the SQL
    checks (linkage, freshness, volume, missing days) with {batch} as the table."""
    table = "raw.amazon_connect__contact_records"
    aggregate = f"""
        select count(*),
               count(*) filter (where contact_id is null),
               count(*) filter (where channel is null),
               count(*) filter (where initiation_method is null),
               count(*) filter (where initiation_timestamp is null),
               count(*) filter (where disconnect_timestamp is null),
               count(*) filter (where last_update_timestamp is null),
               count(*) filter (where channel not in ('VOICE', 'CHAT', 'TASK', 'EMAIL')),
               count(*) filter (where initiation_method not in ('INBOUND', 'OUTBOUND',
                   'TRANSFER', 'QUEUE_TRANSFER', 'CALLBACK', 'API', 'DISCONNECT', 'MONITOR',
                   'EXTERNAL_OUTBOUND', 'WEBRTC_API', 'AGENT_REPLY', 'FLOW')),
               count(*) filter (where disconnect_timestamp < initiation_timestamp),
               count(*) filter (where (payload->'Queue'->>'Duration')::numeric < 0),
               count(*) filter (where (payload->'Agent'->>'AgentInteractionDuration')::numeric < 0),
               count(*) filter (where (payload->'Agent'->>'CustomerHoldDuration')::numeric < 0),
               count(*) filter (where (payload->'Agent'->>'AfterContactWorkDuration')::numeric < 0),
               count(*) filter (where initiation_timestamp > now()
                                   or initiation_timestamp < '2026-01-01'),
               count(*) filter (where disconnect_timestamp > now()),
               count(*) filter (where last_update_timestamp > now())
        from {table} where _batch_id = 1
    """
    start = time.perf_counter()
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(aggregate)
        cur.fetchall()
        for sql in suite_queries:
            batch = f"(select * from {table} where _batch_id = 1)"
            # like GX: a query with a JOIN aliases {batch} itself, others get an alias
            alias = "" if " join " in sql.lower() else " as batch"
            cur.execute(sql.replace("{batch}", batch + alias))
            cur.fetchall()
    return time.perf_counter() - start


def main() -> list[str]:
    rows = int(os.environ.get("CX_BENCH_CHECK_ROWS", "1000000"))
    from cxscore.settings import load_settings
    from cxscore.warehouse import init_warehouse, sqlalchemy_url

    settings = load_settings(environ={})
    with _pg.server() as server, _pg.scratch_database(server, "cxbench_checks") as url:
        init_warehouse(url)
        started = time.perf_counter()
        _populate(url, rows)
        populate_s = time.perf_counter() - started

        already = "great_expectations" in sys.modules
        started = time.perf_counter()
        from cxscore.quality.runner import import_gx

        gx = import_gx()
        import_s = time.perf_counter() - started
        started = time.perf_counter()
        context = gx.get_context(mode="ephemeral")
        context.data_sources.add_postgres(name="probe", connection_string=sqlalchemy_url(url))
        context_s = time.perf_counter() - started

        from cxscore.quality import load_suites, run_checks

        started = time.perf_counter()
        outcome = run_checks(settings, suites=[SUITE], url=url, run_id="bench", alert=False)
        checks_s = time.perf_counter() - started

        suite = load_suites(settings, datetime.now(UTC))[SUITE]
        queries = [str(e.kwargs["unexpected_rows_query"]) for e in suite.expectations if e.is_sql]
        plain_s = min(_plain_sql(url, queries) for _ in range(2))
    failed = [
        r.expectation + (f"({r.column_name})" if r.column_name else "")
        for r in outcome.results
        if not r.success
    ]
    return [
        f"rows: {rows:,} contact records in one load batch (+50,000 users), "
        f"generated in {populate_s:.1f} s",
        f"fixed overhead: GX import {import_s:.1f} s"
        + (" (already imported in this process)" if already else "")
        + f", context + data source {context_s:.2f} s",
        f"check stage (run_checks, {len(outcome.results)} expectations, results written): "
        f"{checks_s:.1f} s",
        f"plain SQL, same judgements, same process: {plain_s:.1f} s",
        f"ratio check stage / plain SQL: {checks_s / plain_s:.2f}x",
        f"failed expectations (none expected: 2% null disconnect_timestamp is at the limit): "
        f"{', '.join(failed) or 'none'}",
    ]


if __name__ == "__main__":
    for line in main():
        print(line)
