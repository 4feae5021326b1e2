{% macro create_build_state_tables() -%}
    {#- on-run-start: the small bookkeeping tables of the incremental build (idempotent).
        cx_build_state: per incremental consumer, what it has already reflected (load batch
        id, fact change time, configuration hash). cx_deleted_facts: keys and event times of
        fact rows removed by an incremental run, so that their scorecard periods are
        recomputed and a publish removes them from the published copy.
        cx_removed_records: keys an incremental staging or canonical model removed (a record
        of a replaced file, a deleted ticket), with the build's batch watermark, so that the
        next layer removes them too without comparing whole tables. cx_fact_cells: the
        scorecard cell (event time, touchpoint, segment) each fact row held before a build
        rewrote it (macro log_fact_cells), so that the cells it leaves are recomputed; rows
        every scorecard consumer has reflected are removed here. -#}
    create schema if not exists intermediate;
    create table if not exists intermediate.cx_build_state (
        model           text primary key,
        last_batch_id   bigint,
        last_changed_at timestamptz,
        config_hash     text,
        updated_at      timestamptz not null default now()
    );
    create table if not exists intermediate.cx_removed_records (
        model       text        not null,
        key         text        not null,
        batch_id    bigint      not null,
        removed_at  timestamptz not null default now()
    );
    create index if not exists cx_removed_records_batch
        on intermediate.cx_removed_records (model, batch_id);
    create table if not exists intermediate.cx_deleted_facts (
        model       text        not null,
        event_at    timestamptz,
        deleted_at  timestamptz not null default now()
    );
    -- the removed row's key: a publish removes those keys from the published copy
    -- (cxscore.publish) instead of comparing the whole copy with the build
    alter table intermediate.cx_deleted_facts add column if not exists key text;
    create index if not exists cx_deleted_facts_model
        on intermediate.cx_deleted_facts (model, deleted_at);
    create table if not exists intermediate.cx_fact_cells (
        model         text        not null,
        key           text,
        event_at      timestamptz,
        touchpoint_id text,
        segment       text,
        logged_at     timestamptz not null default now()
    );
    {%- set consumers = scorecard_scope_consumers() %}
    delete from intermediate.cx_fact_cells
    where logged_at <= (
        select case when count(*) = {{ consumers | length }} then min(last_changed_at) end
        from intermediate.cx_build_state
        where model in ('{{ consumers | join("', '") }}')
    );
{%- endmacro %}
