-- The quality gate (docs/quality.md, "The gate"): the stage of every check result, the
-- releases people record, the open critical failures (quality.gate), the internal schema the
-- scorecard is built into and the record of each build published to marts.
-- Idempotent: every statement can run again on an initialised warehouse (and migrates a
-- warehouse initialised before the gate existed).

-- ---------------------------------------------------------------- check_results.stage
-- raw: a check of a raw table (per load batch or whole table); marts: a check of a scorecard
-- build. Rows written before the column existed are migrated from their table name.
alter table quality.check_results add column if not exists stage text;
update quality.check_results
   set stage = case when table_name like 'marts%' then 'marts' else 'raw' end
 where stage is null;
alter table quality.check_results alter column stage set default 'raw';
alter table quality.check_results alter column stage set not null;
do $$
begin
    if not exists (select 1 from pg_constraint where conname = 'check_results_stage_check') then
        alter table quality.check_results
            add constraint check_results_stage_check check (stage in ('raw', 'marts'));
    end if;
end
$$;
create index if not exists check_results_batch on quality.check_results (batch_id);
create index if not exists check_results_batch_latest
    on quality.check_results (suite, batch_id, checked_at desc) where batch_id is not null;

-- ---------------------------------------------------------------- releases
-- `cxscore quality release BATCH --reason TEXT`: a person accepts a quarantined batch as it
-- is. One row per release (history kept); a released batch never blocks again.
create table if not exists quality.releases (
    release_id      bigserial   primary key,
    batch_id        bigint      not null,
    released_by     text        not null,
    released_at     timestamptz not null default now(),
    reason          text        not null check (length(trim(reason)) > 0),
    failures        jsonb
);
create index if not exists releases_batch on quality.releases (batch_id);
revoke all on quality.releases from cx_bi_reader;  -- names of people: not for dashboards

-- ---------------------------------------------------------------- the gate
-- One row per open problem that holds the scorecard back:
--   quarantine: a critical expectation failed in the latest check of a load batch (per suite)
--               and nobody released the batch;
--   table:      a critical whole-table expectation of a raw suite failed in its latest run;
--   unchecked:  a finished load batch with rows and no check result yet (the next run, or
--               the gate itself, checks it before any build).
create or replace view quality.gate as
with latest_batch_checks as (
    select suite, batch_id, max(checked_at) as checked_at
    from quality.check_results
    where stage = 'raw' and batch_id is not null
    group by suite, batch_id
),
batch_failures as (
    select 'quarantine'::text as kind, r.batch_id, b.source, b.stream, r.suite, r.table_name,
           r.expectation, r.column_name, r.observed_value, r.threshold, r.run_id,
           r.checked_at, b.started_at as loaded_at
    from latest_batch_checks l
    join quality.check_results r
      on r.suite = l.suite and r.batch_id = l.batch_id and r.checked_at = l.checked_at
    left join meta.load_batches b on b.batch_id = r.batch_id
    where r.severity = 'critical' and not r.success
      and not exists (select 1 from quality.releases rl where rl.batch_id = r.batch_id)
),
latest_table_checks as (
    select suite, expectation, coalesce(column_name, '') as column_key,
           max(checked_at) as checked_at
    from quality.check_results
    where stage = 'raw' and batch_id is null
    group by suite, expectation, coalesce(column_name, '')
),
table_failures as (
    select 'table'::text as kind, null::bigint as batch_id, null::text as source,
           null::text as stream, r.suite, r.table_name, r.expectation, r.column_name,
           r.observed_value, r.threshold, r.run_id, r.checked_at, null::timestamptz as loaded_at
    from latest_table_checks l
    join quality.check_results r
      on r.suite = l.suite and r.expectation = l.expectation
     and coalesce(r.column_name, '') = l.column_key and r.checked_at = l.checked_at
    where r.batch_id is null and r.severity = 'critical' and not r.success
),
unchecked as (
    select 'unchecked'::text as kind, b.batch_id, b.source, b.stream, null::text as suite,
           null::text as table_name, null::text as expectation, null::text as column_name,
           b.rows_loaded::text || ' rows loaded, not checked yet' as observed_value,
           'checked before any build'::text as threshold, b.run_id,
           null::timestamptz as checked_at, b.started_at as loaded_at
    from meta.load_batches b
    where b.status <> 'running' and b.rows_loaded > 0
      -- a file batch whose every file was replaced since has no rows left to check
      and (b.files = 0 or exists (select 1 from meta.loaded_files f where f.batch_id = b.batch_id))
      and not exists (select 1 from quality.check_results r where r.batch_id = b.batch_id)
      and not exists (select 1 from quality.releases rl where rl.batch_id = b.batch_id)
)
select * from batch_failures
union all
select * from table_failures
union all
select * from unchecked;

comment on view quality.gate is
    'Open critical failures that hold the scorecard build back (cxscore quality status).';

-- BI (and dashboards) may read the gate and the check history, nothing else in quality.
grant usage on schema quality to cx_bi_reader;
grant select on quality.check_results, quality.gate to cx_bi_reader;

-- ---------------------------------------------------------------- build, then publish
-- dbt builds the marts into marts_build (internal: no BI access); the scorecard checks run
-- there, and only a build whose critical checks passed is copied to marts in one
-- transaction (cxscore.publish).
create schema if not exists marts_build;
revoke all on schema marts_build from cx_bi_reader;

-- Every dbt build/run leaves a row (the project's on-run-end hook); the scorecard checks
-- record their verdict on the newest one, and publish copies only a build whose checks
-- passed: a build that changed marts_build after the checks ran is never published.
create table if not exists meta.dbt_builds (
    build_id        bigserial   primary key,
    invocation_id   text        not null,
    command         text,
    finished_at     timestamptz not null default now(),
    checked_run_id  text,
    checks_passed   boolean,
    published_at    timestamptz
);

create table if not exists meta.published_builds (
    publish_id      bigserial   primary key,
    run_id          text,
    published_at    timestamptz not null default now(),
    relations       jsonb       not null,
    seconds         numeric
);
alter table meta.published_builds add column if not exists build_id bigint;
