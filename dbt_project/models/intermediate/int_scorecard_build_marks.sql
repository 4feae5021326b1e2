{{ config(materialized='table') }}

-- One row: what the scorecard will reflect once this build succeeds (the post-hook of
-- touchpoint_scorecard copies it into intermediate.cx_build_state): the build's safe load
-- batch and configuration hash (stg_meta__build_marks) and the latest fact change.
with marks as (

    select * from {{ ref('stg_meta__build_marks') }}

),

fact_changes as (

    select max(_changed_at) as changed_at from {{ ref('fct_interactions') }}
    union all
    select max(_changed_at) from {{ ref('fct_survey_responses') }}
    union all
    select max(_changed_at) from {{ ref('fct_orders') }}
    union all
    select max(deleted_at) from {{ source('build_state', 'cx_deleted_facts') }}

),

final as (

    select
        marks.max_batch_id,
        (select max(changed_at) from fact_changes) as max_changed_at,
        marks.config_hash
    from marks

)

select * from final
