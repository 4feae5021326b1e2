{{ config(materialized='table', indexes=[{'columns': ['followup_key'], 'unique': True}, {'columns': ['customer_id']}]) }}

-- Closing the loop (signals.md): every trigger of a follow-up and whether it is due.
-- Triggers: a scored survey response with nps <= 6 or csat <= 2, and a negative interaction
-- (min_customer_sentiment < -0.5). Eligible: a response passes the consent field when one is
-- configured (closed_loop_consent_field); interactions need none. Due: eligible, and the
-- customer's previous due follow-up is at least closed_loop_cooldown_days older (a chain per
-- customer in trigger order; a trigger without a known customer is always due). No rows
-- unless closed_loop_enabled. Reads the full staging / intermediate tables (the triggers are
-- few); a response's interaction, customer and touchpoint come from
-- int_survey_responses_resolved (the precedence of survey linking).
with recursive

responses as (

    select * from {{ ref('int_survey_responses_resolved') }}
    where {{ var('closed_loop_enabled') }}
        and is_scored
        and (nps <= 6 or csat <= 2)

),

interactions as (

    select * from {{ ref('int_interactions_mapped_to_touchpoints') }}

),

sentiment as (

    select * from {{ ref('int_customer_sentiment_aggregated') }}

),

users as (

    select * from {{ ref('stg_zendesk__users') }}

),

touchpoints as (

    select * from {{ ref('touchpoints') }}

),

response_triggers as (

    select
        'qualtrics:' || responses.response_id as followup_key,
        'qualtrics' as source,
        responses.response_id as record_id,
        case when responses.nps <= 6 then 'nps' else 'csat' end as reason,
        responses.linked_interaction_id as interaction_id,
        responses.touchpoint_id,
        responses.customer_id,
        cast(case when responses.nps <= 6 then responses.nps else responses.csat end as numeric)
            as score,
        responses.has_followup_consent,
        responses.submitted_at as triggered_at,
        responses._changed_batch_id as _source_batch_id
    from responses

),

interaction_triggers as (

    select
        interactions.source_system || ':' || {{ dbt.split_part('interactions.interaction_id', "':'", 2) }}
            as followup_key,
        interactions.source_system as source,
        {{ dbt.split_part('interactions.interaction_id', "':'", 2) }} as record_id,
        'negative_sentiment' as reason,
        interactions.interaction_id,
        interactions.touchpoint_id,
        interactions.customer_id,
        cast(sentiment.min_customer_sentiment as numeric) as score,
        cast(null as boolean) as has_followup_consent,
        interactions.started_at as triggered_at,
        greatest(interactions._changed_batch_id, sentiment.last_batch_id) as _source_batch_id
    from interactions
    inner join sentiment
        on sentiment.unit_type = 'interaction'
        and sentiment.unit_id = interactions.interaction_id
    where {{ var('closed_loop_enabled') }}
        and sentiment.min_customer_sentiment < -0.5
        and interactions.started_at is not null

),

triggers as (

    select * from response_triggers
    union all
    select * from interaction_triggers

),

eligible as (

    select
        triggers.*,
        coalesce(has_followup_consent, true) as is_eligible,
        row_number() over (
            partition by customer_id, coalesce(has_followup_consent, true)
            order by triggered_at, followup_key
        ) as customer_rank
    from triggers

),

-- the cooldown chain: a customer's first eligible trigger is due; each next one is due when
-- it comes at least cooldown_days after the last due one
chained (customer_id, customer_rank, followup_key, triggered_at, anchor_at, is_due) as (

    select customer_id, customer_rank, followup_key, triggered_at, triggered_at, true
    from eligible
    where is_eligible and customer_id is not null and customer_rank = 1

    union all

    select
        eligible.customer_id,
        eligible.customer_rank,
        eligible.followup_key,
        eligible.triggered_at,
        case
            when eligible.triggered_at >= {{ dbt.dateadd('day', var('closed_loop_cooldown_days'), 'chained.anchor_at') }}
                then eligible.triggered_at
            else chained.anchor_at
        end,
        eligible.triggered_at >= {{ dbt.dateadd('day', var('closed_loop_cooldown_days'), 'chained.anchor_at') }}
    from chained
    inner join eligible
        on eligible.customer_id = chained.customer_id
        and eligible.is_eligible
        and eligible.customer_rank = chained.customer_rank + 1

),

final as (

    select
        eligible.followup_key,
        eligible.source,
        eligible.record_id,
        eligible.interaction_id,
        eligible.touchpoint_id,
        eligible.customer_id,
        case when eligible.customer_id like 'zendesk:%'
            then cast({{ dbt.split_part('eligible.customer_id', "':'", 2) }} as bigint)
        end as requester_id,
        touchpoints.touchpoint_name,
        touchpoints.owner,
        coalesce(users.segment, 'unknown') as segment,
        eligible.reason,
        eligible.score,
        eligible.has_followup_consent,
        eligible.is_eligible,
        case
            when not eligible.is_eligible then false
            when eligible.customer_id is null then true
            else coalesce(chained.is_due, false)
        end as is_due,
        eligible.triggered_at,
        eligible._source_batch_id
    from eligible
    left join chained on chained.followup_key = eligible.followup_key
    left join touchpoints on touchpoints.touchpoint_id = eligible.touchpoint_id
    left join users on users.customer_id = eligible.customer_id

)

select * from final
