{{ config(materialized='table') }}

-- One row: what the scorecard will reflect once this build succeeds (the post-hook of
-- touchpoint_scorecard copies it into intermediate.cx_build_state): the highest safe load
-- batch, the latest fact change, and a hash of the seeds and vars the scorecard depends on.
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

fact_changes as (

    select max(_changed_at) as changed_at from {{ ref('fct_interactions') }}
    union all
    select max(_changed_at) from {{ ref('fct_survey_responses') }}
    union all
    select max(_changed_at) from {{ ref('fct_orders') }}
    union all
    select max(deleted_at) from intermediate.cx_deleted_facts

),

final as (

    select
        {{ safe_max_batch_id(ref('stg_cx__batch_events'), ref('stg_cx__load_batches')) }}
            as max_batch_id,
        (select max(changed_at) from fact_changes) as max_changed_at,
        md5(
            coalesce((select rows_text from touchpoints), '') || '#'
            || coalesce((select rows_text from rules), '') || '#'
            || coalesce((select rows_text from targets), '') || '#'
            || '{{ var("business_timezone") }}|{{ var("fcr_window_hours") }}|'
            || '{{ var("recontact_window_hours") }}|{{ var("attribution_window_days") }}|'
            || '{{ var("short_abandon_seconds") }}|{{ var("default_country") }}'
        ) as config_hash

)

select * from final
