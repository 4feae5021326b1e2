{{ config(materialized='table') }}

-- What an incremental scorecard run recomputes (scorecard.md, "Incremental builds"): rows of
-- (grain, period) plus either a cell (touchpoint and segment) or neither (the whole period).
-- - Cells: the cell of every fact row changed since the last scorecard build, in segment
--   `all` and in its own segment, and the cell each such row held before (logged by the
--   facts' pre-hook in intermediate.cx_fact_cells): a segment change or a late answer on an
--   old ticket recomputes its few cells, not its whole days.
-- - Whole periods: of every fact row deleted since, of the follow-ups whose ledger row,
--   ticket or customer's triggers changed (trigger and ticket creation periods), and of the
--   look-back window on event time; every period when a seed or var changed (configuration
--   hash) or a fact was rebuilt whole.
-- - Each such period's successor, cell for cell (its prior_value moved).
-- - Transitions only (`transitions_only`): the period up to the transition window before a
--   changed or deleted interaction (the transition into it is counted in its predecessor's
--   period); touchpoint_transitions rebuilds every period of the scope, whole.
{%- set consumers = scorecard_scope_consumers() %}
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

-- NOT MATERIALIZED (PostgreSQL 12+): each reference reads through its own index
-- (_changed_at, started_at) instead of a copy of the whole fact
interactions as not materialized (

    select interaction_id, started_at, touchpoint_id, segment, customer_id, _changed_at
    from {{ ref('fct_interactions') }}

),

responses as not materialized (

    select response_id, submitted_at, touchpoint_id, segment, customer_id, _changed_at
    from {{ ref('fct_survey_responses') }}

),

logged_cells as (

    -- what rows rewritten since held before (a row without key: a fact rebuilt whole)
    select model, key, event_at, touchpoint_id, segment
    from {{ source('build_state', 'cx_fact_cells') }}
    where logged_at > (select changed_after from since)

),

everything as (

    select
        (select config_changed from since)
        or exists (select 1 from logged_cells where key is null) as in_scope

),

interactions_changed as (

    select * from interactions
    where _changed_at > (select changed_after from since)

),

responses_changed as (

    select * from responses
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
    select customer_id from responses_changed
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

cell_events as (

    -- a changed fact's cell now ...
    select started_at as event_at, touchpoint_id, segment from interactions_changed

    union all

    select submitted_at, touchpoint_id, segment from responses_changed

    union all

    -- ... and the cell it held before this build (or an earlier one the scorecard missed)
    select logged_cells.event_at, logged_cells.touchpoint_id, logged_cells.segment
    from logged_cells
    inner join interactions_changed
        on logged_cells.model = 'fct_interactions'
        and logged_cells.key = interactions_changed.interaction_id

    union all

    select logged_cells.event_at, logged_cells.touchpoint_id, logged_cells.segment
    from logged_cells
    inner join responses_changed
        on logged_cells.model = 'fct_survey_responses'
        and logged_cells.key = responses_changed.response_id

),

whole_period_events as (

    select started_at as event_at from interactions
    where (select in_scope from everything)

    union all

    select submitted_at from responses
    where (select in_scope from everything)

    union all

    select event_at
    from {{ source('build_state', 'cx_deleted_facts') }}
    where deleted_at > (select changed_after from since)

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

transition_events as (

    -- the transition into a changed interaction belongs to the period of the interaction
    -- before it, up to the transition window earlier
    select started_at - interval '{{ var("recontact_window_hours") }} hours' as event_at
    from interactions_changed

    union all

    select event_at - interval '{{ var("recontact_window_hours") }} hours'
    from {{ source('build_state', 'cx_deleted_facts') }}
    where deleted_at > (select changed_after from since)

),

events as (

    select event_at, touchpoint_id, segment, false as transitions_only from cell_events
    union all
    select event_at, touchpoint_id, 'all', false from cell_events
    union all
    select event_at, cast(null as text), cast(null as text), false from whole_period_events
    union all
    select event_at, cast(null as text), cast(null as text), true from transition_events

),

grains as (

    select 'day' as period_grain
    union all select 'week'
    union all select 'month'

),

event_days as (

    select distinct
        {{ period_start("'day'", 'event_at') }} as event_day,
        touchpoint_id,
        segment,
        transitions_only
    from events
    where event_at is not null

),

periods as (

    select distinct
        grains.period_grain,
        case grains.period_grain
            when 'day' then event_days.event_day
            when 'week' then cast({{ dbt.date_trunc('week', 'event_days.event_day') }} as date)
            when 'month' then cast({{ dbt.date_trunc('month', 'event_days.event_day') }} as date)
        end as period_start,
        event_days.touchpoint_id,
        event_days.segment,
        event_days.transitions_only
    from event_days
    cross join grains

),

with_successors as (

    select period_grain, period_start, touchpoint_id, segment, transitions_only from periods
    union
    select
        period_grain,
        {{ period_end('period_grain', 'period_start') }},
        touchpoint_id,
        segment,
        transitions_only
    from periods

),

final as (

    -- a cell inside a whole period in scope is left out (the period covers it), and so is
    -- a transitions-only row of a period in scope for all
    select *
    from with_successors as candidate
    where not exists (
        select 1 from with_successors as whole
        where whole.touchpoint_id is null
            and not whole.transitions_only
            and whole.period_grain = candidate.period_grain
            and whole.period_start = candidate.period_start
            and (candidate.touchpoint_id is not null or candidate.transitions_only)
    )

)

select * from final
