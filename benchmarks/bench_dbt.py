"""dbt build: full refresh vs one incremental run after one more day of data.

A synthetic raw world of about CX_BENCH_DBT_ROWS interactions (default 1,000,000: half
Zendesk tickets, half Amazon Connect contacts, over CX_BENCH_DBT_DAYS days, default 90) is
written straight into the raw tables with generate_series, built with a full refresh, then
one more day of data (a new load batch, including updates of older tickets, late surveys
and a changed customer) is loaded and built incrementally. Goal: incremental <= 20 % of the
full refresh. The warehouse is $CX_BENCH_PG_URL (a server URL), else the local PostgreSQL at
127.0.0.1:5432, else an embedded one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta

import psycopg2

from benchmarks import _pg

START = "2026-01-01 00:00:00+00"

# Parameters: :n tickets/contacts per stream, :u users, :days, :first id, :batch, :t0 start.
WORLD_SQL = """
insert into raw.zendesk__users (id, created_at, updated_at, payload, _batch_id)
select u, %(t0)s::timestamptz - interval '30 days' + u * interval '1 second',
       %(t0)s::timestamptz - interval '30 days' + u * interval '1 second',
       jsonb_build_object('id', u, 'email', 'user' || u || '@example.com',
           'phone', '+1555' || lpad(u::text, 7, '0'),
           'user_fields', jsonb_build_object(
               'segment', (array['gold','silver','bronze'])[1 + u %% 3])),
       %(batch)s
from generate_series(%(u0)s, %(u1)s) as u;

insert into raw.zendesk__tickets
    (id, created_at, updated_at, status, via_channel, requester_id, payload, _batch_id)
select i, ts, ts + interval '2 hours', st, via, req,
       jsonb_build_object('id', i, 'status', st, 'via', jsonb_build_object('channel', via),
           'requester_id', req, 'priority', case when i %% 50 = 0 then 'urgent' else 'normal' end,
           'type', 'question',
           'tags', case i %% 4 when 0 then '["presales"]'::jsonb when 1 then '["returns"]'::jsonb
                   when 2 then '["checkout"]'::jsonb else '[]'::jsonb end),
       %(batch)s
from (
    select i,
           %(t0)s::timestamptz
               + ((i::bigint * 7919) %% (%(days)s * 86400)) * interval '1 second' as ts,
           (array['solved','closed','open','pending','solved'])[1 + i %% 5] as st,
           (array['web','email','chat','mobile','twitter','web_form'])[1 + i %% 6] as via,
           1 + (i::bigint * 31) %% %(users)s as req
    from generate_series(%(i0)s, %(i1)s) as i
) as t;

insert into raw.zendesk__ticket_metric_sets
    (id, ticket_id, created_at, updated_at, payload, _batch_id)
select id, id, created_at, updated_at,
       jsonb_build_object('ticket_id', id,
           'reply_time_in_minutes', jsonb_build_object('calendar', 5 + id %% 300),
           'solved_at', case when status in ('solved','closed') then updated_at end,
           'group_stations', 1 + id %% 3, 'reopens', id %% 7 / 6),
       %(batch)s
from raw.zendesk__tickets where _batch_id = %(batch)s and id between %(i0)s and %(i1)s;

insert into raw.amazon_connect__contact_records
    (contact_id, channel, initiation_method, initiation_timestamp, disconnect_timestamp,
     last_update_timestamp, payload, _batch_id, _source_file, _line)
select 'c' || i, ch, meth, ts, ts + interval '6 minutes', ts + interval '7 minutes',
       jsonb_build_object('ContactId', 'c' || i, 'Channel', ch, 'InitiationMethod', meth,
           'CustomerEndpoint', jsonb_build_object('Address', '+1555' || lpad(cust::text, 7, '0'),
                                                  'Type', 'TELEPHONE_NUMBER'),
           'Queue', case when i %% 5 <> 0 then jsonb_build_object(
                'Name', (array['Sales','Support','Billing'])[1 + i %% 3],
                'EnqueueTimestamp',
                to_char(ts + interval '20 seconds', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                'Duration', 30 + i %% 120) end,
           'Agent', case when i %% 5 <> 0 and i %% 11 <> 0 then jsonb_build_object(
                'ConnectedToAgentTimestamp',
                to_char(ts + interval '40 seconds', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                'AgentInteractionDuration', 200 + i %% 400, 'CustomerHoldDuration', i %% 60,
                'AfterContactWorkDuration', 30) end,
           'Attributes', jsonb_build_object('ivr_menu', 'balance',
                'self_service_complete', case when i %% 2 = 0 then 'true' else 'false' end,
                'customer_email', 'user' || cust || '@example.com'),
           'DisconnectReason', 'CUSTOMER_DISCONNECT'),
       %(batch)s, 'bench-' || %(batch)s || '.jsonl', i
from (
    select i,
           %(t0)s::timestamptz
               + ((i::bigint * 104729) %% (%(days)s * 86400)) * interval '1 second' as ts,
           case when i %% 4 = 0 then 'CHAT' else 'VOICE' end as ch,
           case when i %% 20 = 0 then 'CALLBACK' else 'INBOUND' end as meth,
           1 + (i::bigint * 17) %% (%(users)s * 2) as cust
    from generate_series(%(i0)s, %(i1)s) as i
) as c;

insert into raw.qualtrics__responses
    (response_id, end_date, finished, status, payload, _batch_id, _source_file, _line)
select 'R_' || i, ts + interval '1 hour', '1', '0',
       jsonb_build_object('csat', (1 + i %% 5)::text, 'nps', (i %% 11)::text,
           'ces', (1 + i %% 7)::text,
           'contact_id', case when i %% 2 = 0 then 'c' || i end,
           'ticket_id', case when i %% 2 = 1 then i::text end, 'layout', 'current'),
       %(batch)s, 'bench-' || %(batch)s || '.csv', i
from (
    select i, %(t0)s::timestamptz
              + ((i::bigint * 7919) %% (%(days)s * 86400)) * interval '1 second' as ts
    from generate_series(%(i0)s, %(i1)s, 8) as i
) as r;

insert into raw.crm__orders
    (order_id, customer_email, ordered_at, amount, currency, status, updated_at, payload,
     _batch_id, _source_file, _line)
select 'O' || i, 'user' || (1 + (i::bigint * 31) %% %(users)s) || '@example.com', ts,
       10 + i %% 200, 'USD', (array['placed','fulfilled','refunded','cancelled'])[1 + i %% 4],
       ts, '{}'::jsonb, %(batch)s, 'bench-' || %(batch)s || '.csv', i
from (
    select i, %(t0)s::timestamptz + ((i::bigint * 7919) %% (%(days)s * 86400)) * interval '1 second'
              + interval '3 hours' as ts
    from generate_series(%(i0)s, %(i1)s, 20) as i
) as o;
"""

# One more day as a later batch: new records, plus changes to old ones.
UPDATES_SQL = """
insert into raw.zendesk__tickets
    (id, created_at, updated_at, status, via_channel, requester_id, payload, _batch_id)
select id, created_at, %(t1)s::timestamptz, 'solved', via_channel, requester_id,
       payload || '{"status": "solved"}'::jsonb, %(batch)s
from raw.zendesk__tickets
where _batch_id = 1 and status = 'open' and id %% 7 = 0
    and created_at >= %(t1)s::timestamptz - interval '14 days';
"""

# Ten customers change segment: their whole history moves between segment rows.
SEGMENT_SQL = """
insert into raw.zendesk__users (id, created_at, updated_at, payload, _batch_id)
select id, created_at, %(t1)s::timestamptz,
       jsonb_set(payload, '{user_fields,segment}', '"platinum"'), %(batch)s
from raw.zendesk__users where _batch_id = 1 and id %% (%(users)s / 10) = 0;
"""


def _load(url: str, sql: str, params: dict[str, object]) -> float:
    started = time.perf_counter()
    with contextlib.closing(psycopg2.connect(url)) as conn, conn, conn.cursor() as cur:
        cur.execute(sql, params)
        cur.execute("analyze")
    return time.perf_counter() - started


def main() -> list[str]:
    from cxscore.pipeline import check_scorecard
    from cxscore.publish import publish_marts
    from cxscore.settings import load_settings
    from cxscore.transform import build_models

    rows = int(os.environ.get("CX_BENCH_DBT_ROWS", "1000000"))
    days = int(os.environ.get("CX_BENCH_DBT_DAYS", "90"))
    per_stream = max(rows // 2, 10)
    users = max(rows // 20, 10)
    per_day = max(per_stream // days, 1)
    with (
        _pg.server() as server,
        _pg.scratch_database(server, "cxbench_dbt") as url,
        tempfile.TemporaryDirectory() as state,
    ):
        settings = load_settings(
            environ={"CX_STATE_DIR": state, "CX_IDENTITY__HASH_KEY": "bench-key"}
        )
        load_s = _load(
            url,
            WORLD_SQL,
            {"t0": START, "days": days, "users": users, "u0": 1, "u1": users, "i0": 1,
             "i1": per_stream, "batch": 1},
        )  # fmt: skip
        full = build_models(settings, url=url, full_refresh=True)
        with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
            cur.execute("select count(*) from marts_build.fct_interactions")
            interactions = cur.fetchone()[0]
            cur.execute("select count(*) from marts_build.touchpoint_scorecard")
            scorecard_rows = cur.fetchone()[0]
        # one more day (a new batch): new records plus updates of recent tickets
        times = {}
        for batch, day in ((2, days), (3, days + 1)):
            new_day = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day)
            first = per_stream + (batch - 2) * per_day + 1
            _load(
                url,
                WORLD_SQL.replace("%(u0)s, %(u1)s", "0, -1"),
                {"t0": new_day.isoformat(), "days": 1, "users": users, "u0": 0, "u1": -1,
                 "i0": first, "i1": first + per_day - 1, "batch": batch},
            )  # fmt: skip
            updated = (new_day + timedelta(hours=23)).isoformat()
            _load(url, UPDATES_SQL, {"t1": updated, "batch": batch})
            if batch == 3:  # the second day also re-segments ten customers
                _load(url, SEGMENT_SQL, {"t1": updated, "batch": batch, "users": users})
            times[batch] = build_models(settings, url=url)["seconds"]
        noop = build_models(settings, url=url)
        # the checked build is copied to marts (what BI reads) in one transaction
        check_scorecard(settings, url=url, run_id="bench")
        published = publish_marts(url, run_id="bench")
    incremental = {"seconds": times[2]}
    ratio = incremental["seconds"] / full["seconds"] if full["seconds"] else float("nan")
    return [
        f"world: {interactions:,} interactions over {days} days, {scorecard_rows:,} scorecard "
        f"rows (raw load {load_s:.1f} s)",
        f"full refresh: {full['seconds']:.1f} s ({full['models']} models, "
        f"{full['tests_passed']} tests)",
        f"incremental after one more day (~{per_day * 2:,} interactions + updates): "
        f"{incremental['seconds']:.1f} s",
        f"incremental, next day + ten customers changing segment: {times[3]:.1f} s",
        f"incremental with nothing new: {noop['seconds']:.1f} s",
        f"ratio incremental / full refresh: {ratio:.2f} (goal <= 0.20)",
        f"publish marts_build -> marts (one transaction): {published['seconds']:.1f} s for "
        f"{sum(published['relations'].values()):,} rows in {len(published['relations'])} "
        f"relations = {published['seconds'] / times[2]:.2f}x the one-more-day build",
    ]


if __name__ == "__main__":
    for line in main():
        print(line)
