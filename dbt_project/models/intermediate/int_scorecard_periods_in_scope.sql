{{ config(materialized='table') }}

-- The (grain, period) pairs an incremental scorecard run recomputes (scorecard.md,
-- "Incremental builds"): periods of every fact row changed or deleted since the last
-- scorecard build, of every raw row in a load batch the scorecard has not reflected, and of
-- the look-back window on event time; plus each such period's successor (its prior_value
-- moved), and the period of a changed interaction's possible predecessor (the transition into
-- it is counted in the predecessor's period); the trigger and ticket periods of every
-- follow-up whose ledger row, ticket or customer changed. A changed seed or var (configuration hash) puts every period in scope.
{%- set consumers = ['int_scorecard_day_aggregates', 'touchpoint_scorecard', 'touchpoint_scorecard_wide', 'touchpoint_transitions'] %}
with state as (

    -- what every consumer of this scope already reflects (the least of them); a consumer
    -- without a state row, or built with another configuration, puts every period in scope
    select
        case when count(*) = {{ consumers | length }} then min(last_changed_at) end
            as last_changed_at,
        case when count(*) = {{ consumers | length }} then min(last_batch_id) end
            as last_batch_id,
        case when count(*) = {{ consumers | length }} and count(distinct config_hash) = 1
            then min(config_hash) end as config_hash
    from {{ source('build_state', 'cx_build_state') }}
    where model in ('{{ consumers | join("', '") }}')

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

    select started_at, customer_id, _changed_at from {{ ref('fct_interactions') }}

),

interactions_changed as (

    select customer_id from interactions
    where _changed_at > (select changed_after from since)

),

followups as (

    select * from {{ ref('int_followups_tracked') }}

),

followup_customers as (

    -- customers whose triggers may have changed: a fact or a trigger of theirs changed (the
    -- cooldown chain runs over all of a customer's triggers)
    select customer_id from interactions_changed
    union
    select customer_id from {{ ref('fct_survey_responses') }}
    where _changed_at > (select changed_after from since)
    union
    select customer_id from followups
    where _source_batch_id > (select batch_after from since)

),

changed_followups as (

    -- follow-ups whose ledger row (with an hour's margin for a row written during the last
    -- build), ticket, or customer's triggers changed since the last build
    select triggered_at, ticket_created_at
    from followups
    where _ledger_updated_at > (select changed_after from since) - interval '1 hour'
        or _ticket_batch_id > (select batch_after from since)
        or _source_batch_id > (select batch_after from since)
        or customer_id in (select customer_id from followup_customers where customer_id is not null)

),

changed_events as (

    select started_at as event_at
    from interactions
    where _changed_at > (select changed_after from since) or (select config_changed from since)

    union all

    -- the transition into a changed interaction belongs to the period of the interaction
    -- before it, up to the transition window earlier
    select started_at - interval '{{ var("recontact_window_hours") }} hours'
    from interactions
    where _changed_at > (select changed_after from since)

    union all

    select submitted_at
    from {{ ref('fct_survey_responses') }}
    where _changed_at > (select changed_after from since) or (select config_changed from since)

    union all

    select event_at
    from {{ source('build_state', 'cx_deleted_facts') }}
    where deleted_at > (select changed_after from since)

    union all

    select event_at - interval '{{ var("recontact_window_hours") }} hours'
    from {{ source('build_state', 'cx_deleted_facts') }}
    where deleted_at > (select changed_after from since)

    union all

    select event_at
    from {{ ref('stg_meta__batch_events') }}
    where _batch_id > (select batch_after from since)

    union all

    -- closing the loop: a changed follow-up's trigger period and its ticket's creation period
    select triggered_at from changed_followups

    union all

    select ticket_created_at from changed_followups

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
