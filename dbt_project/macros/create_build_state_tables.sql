{% macro create_build_state_tables() -%}
    {#- on-run-start: the small bookkeeping tables of the incremental build (idempotent).
        cx_build_state: per incremental consumer, what it has already reflected (load batch
        id, fact change time, configuration hash). cx_deleted_facts: event times of fact rows
        removed by an incremental run, so that their scorecard periods are recomputed. -#}
    create schema if not exists intermediate;
    create table if not exists intermediate.cx_build_state (
        model           text primary key,
        last_batch_id   bigint,
        last_changed_at timestamptz,
        config_hash     text,
        updated_at      timestamptz not null default now()
    );
    create table if not exists intermediate.cx_deleted_facts (
        model       text        not null,
        event_at    timestamptz,
        deleted_at  timestamptz not null default now()
    );
{%- endmacro %}
