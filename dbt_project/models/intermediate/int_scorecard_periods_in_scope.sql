{{ config(materialized='table') }}

-- The (grain, period) pairs an incremental scorecard run recomputes (scorecard.md,
-- "Incremental builds"): periods of every fact row changed or deleted since the last
-- scorecard build, of every raw row in a load batch the scorecard has not reflected, and of
-- the look-back window on event time; plus each such period's successor (its prior_value
-- moved). A changed seed or var (configuration hash) puts every period in scope.
with state as (

    select * from intermediate.cx_build_state where model = 'touchpoint_scorecard'

),

marks as (

    select * from {{ ref('int_scorecard_build_marks') }}

),

since as (

    select
        coalesce((select last_changed_at from state), cast('-infinity' as timestamptz))
            as changed_after,
        coalesce((select last_batch_id from state), -1) as batch_after,
        (select config_hash from state) is distinct from (select config_hash from marks)
            as config_changed

),

interactions as (

    select started_at, _changed_at from {{ ref('fct_interactions') }}

),

changed_events as (

    select started_at as event_at
    from interactions
    where _changed_at > (select changed_after from since) or (select config_changed from since)

    union all

    select submitted_at
    from {{ ref('fct_survey_responses') }}
    where _changed_at > (select changed_after from since) or (select config_changed from since)

    union all

    select event_at
    from intermediate.cx_deleted_facts
    where deleted_at > (select changed_after from since)

    union all

    select event_at
    from {{ ref('stg_cx__batch_events') }}
    where _batch_id > (select batch_after from since)

    union all

    select started_at
    from interactions
    where started_at >= (select max(started_at) from interactions)
        - interval '{{ var("lookback_days") }} days'

),

grains as (

    select 'day' as period_grain
    union all select 'week'
    union all select 'month'

),

periods as (

    select distinct
        grains.period_grain,
        {{ period_start('grains.period_grain', 'changed_events.event_at') }} as period_start
    from changed_events
    cross join grains
    where changed_events.event_at is not null

),

final as (

    select period_grain, period_start from periods
    union
    select period_grain, {{ period_end('period_grain', 'period_start') }} from periods

)

select * from final
