{{ config(materialized='table') }}

-- One row, computed first in every build: the load batch this build reflects once it
-- succeeds, and the configuration hashes that force a full recompute when they change. The
-- incremental models read it (macro incremental_state) and copy it into
-- intermediate.cx_build_state (macro record_build_state).
--   max_batch_id: the highest load batch that is safe to call "seen" (below any batch still
--     running); rows of later batches are picked up by the next build.
--   staging_hash: what the staging tables depend on besides raw data: the E.164 default
--     country, the closed-loop consent field and the PII key (an HMAC of a constant, so the key itself is never stored).
--   config_hash: staging_hash plus the seeds and vars of the interaction and scorecard layers.
with touchpoints as (

    select string_agg(cast(t as {{ dbt.type_string() }}), '|' order by cast(t as {{ dbt.type_string() }})) as rows_text
    from {{ ref('touchpoints') }} as t

),

rules as (

    select string_agg(cast(r as {{ dbt.type_string() }}), '|' order by cast(r as {{ dbt.type_string() }})) as rows_text
    from {{ ref('touchpoint_rules') }} as r

),

targets as (

    select string_agg(cast(g as {{ dbt.type_string() }}), '|' order by cast(g as {{ dbt.type_string() }})) as rows_text
    from {{ ref('scorecard_targets') }} as g

),

staging as (

    select md5(
        '{{ var("default_country") }}|{{ var("closed_loop_consent_field") }}|'
        || {{ hash_pii("'cxscore staging fingerprint'") }}
    ) as staging_hash

),

final as (

    select
        {{ safe_max_batch_id(ref('stg_meta__load_batches')) }}
            as max_batch_id,
        cast(null as timestamptz) as max_changed_at,
        (select staging_hash from staging) as staging_hash,
        md5(
            (select staging_hash from staging) || '#'
            || coalesce((select rows_text from touchpoints), '') || '#'
            || coalesce((select rows_text from rules), '') || '#'
            || coalesce((select rows_text from targets), '') || '#'
            || '{{ var("business_timezone") }}|{{ var("fcr_window_hours") }}|'
            || '{{ var("recontact_window_hours") }}|{{ var("attribution_window_days") }}|'
            || '{{ var("short_abandon_seconds") }}|{{ var("closed_loop_enabled") }}|'
            || '{{ var("closed_loop_cooldown_days") }}|{{ var("closed_loop_sla_hours") }}'
        ) as config_hash

)

select * from final
