-- Interaction-level derivations (scorecard.md): recontact / FCR look-ahead windows, the
-- linked survey scores, the moment class, attributed orders and completeness, for the
-- interactions of this build's scope (int_facts_in_scope: all on a full build). The
-- look-ahead reads each scoped customer's timeline from their earliest scoped interaction
-- on; attributed orders come from fct_orders, already rebuilt for the orders in scope.
-- scope is read twice: NOT MATERIALIZED so that the planner sees int_facts_in_scope's size
-- (a materialised CTE is estimated at 200 rows: a full build probed the indexes 631,278
-- times instead of hashing).
with scope as not materialized (

    select key as interaction_id from {{ ref('int_facts_in_scope') }} where entity = 'interaction'

),

-- Import CTEs of big tables are NOT MATERIALIZED (PostgreSQL 12+): a CTE referenced
-- twice would otherwise be copied whole before the key filters apply.
mapped as not materialized (

    select * from {{ ref('int_interactions_mapped_to_touchpoints') }}

),

-- read twice (the timeline and the result): not materialised either, so that the timeline's
-- customers are estimated from the scope (a full build: 99,039, not 200)
interactions as not materialized (

    select * from mapped
    where interaction_id in (select interaction_id from scope)

),

responses as (

    select * from {{ ref('int_survey_responses_linked') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

sentiment as (

    select * from {{ ref('int_customer_sentiment_aggregated') }}
    where unit_type = 'interaction'

),

timeline_from as (

    select customer_id, min(started_at) as started_from
    from interactions
    where customer_id is not null and started_at is not null
    group by customer_id

),

timeline as (

    select mapped.interaction_id, mapped.customer_id, mapped.started_at
    from mapped
    inner join timeline_from
        on timeline_from.customer_id = mapped.customer_id
        and mapped.started_at >= timeline_from.started_from

),

next_contact as (

    -- the first other interaction of the same customer strictly after started_at
    select
        interaction_id,
        min(started_at) over (
            partition by customer_id
            order by started_at
            range between interval '1 microsecond' following and unbounded following
        ) as next_started_at
    from timeline

),

survey_links as (

    select
        linked_interaction_id as interaction_id,
        csat,
        nps,
        ces,
        row_number() over (
            partition by linked_interaction_id
            order by submitted_at desc nulls last, response_id desc
        ) as link_rank
    from responses
    where is_scored and linked_interaction_id is not null

),

attributed_orders as (

    select
        attributed_interaction_id as interaction_id,
        count(*) as attributed_orders,
        sum(case when is_refund then 1 else 0 end) as attributed_refunds,
        sum(amount) as attributed_amount,
        min(currency) as attributed_currency_min,
        max(currency) as attributed_currency_max
    from orders
    where attributed_interaction_id in (select interaction_id from scope)
    group by attributed_interaction_id

),

windowed as (

    select
        interactions.*,
        interactions.customer_id is not null
            and next_contact.next_started_at
                <= interactions.started_at + interval '{{ var("recontact_window_hours") }} hours'
            as recontact_24h,
        interactions.customer_id is not null
            and next_contact.next_started_at
                <= interactions.started_at + interval '{{ var("fcr_window_hours") }} hours'
            as recontact_7d,
        survey_links.csat,
        survey_links.nps,
        survey_links.ces,
        coalesce(attributed_orders.attributed_orders, 0) as attributed_orders,
        coalesce(attributed_orders.attributed_refunds, 0) as attributed_refunds,
        attributed_orders.attributed_amount,
        attributed_orders.attributed_currency_min,
        attributed_orders.attributed_currency_max
    from interactions
    left join next_contact on next_contact.interaction_id = interactions.interaction_id
    left join survey_links
        on survey_links.interaction_id = interactions.interaction_id
        and survey_links.link_rank = 1
    left join attributed_orders on attributed_orders.interaction_id = interactions.interaction_id

),

final as (

    select
        interaction_id,
        source_system,
        channel,
        touchpoint_id,
        customer_id,
        segment,
        ticket_type,
        queue_name,
        ivr_menu,
        tags,
        csat,
        nps,
        ces,
        first_response_seconds,
        handle_seconds,
        reopens,
        attributed_orders,
        attributed_refunds,
        attributed_amount,
        attributed_currency_min,
        attributed_currency_max,
        sentiment.customer_sentiment,
        sentiment.min_customer_sentiment,
        coalesce(sentiment.has_customer_message, false) as has_customer_message,
        coalesce(sentiment.min_customer_sentiment < -0.5, false) as is_negative_sentiment,
        {{ moment_class('was_abandoned', 'coalesce(recontact_24h, false)', 'reopens', 'csat', 'nps', 'ces') }}
            as moment_class,
        customer_id is not null as has_known_customer,
        is_handled,
        was_queued,
        was_abandoned,
        is_short_abandon,
        was_contained,
        was_transferred,
        was_escalated,
        coalesce(recontact_24h, false) as recontact_24h,
        coalesce(recontact_7d, false) as recontact_7d,
        is_handled and customer_id is not null and not coalesce(recontact_7d, false)
            as first_contact_resolved,
        attributed_orders > 0 as is_assisted_conversion,
        started_at is not null and channel is not null and customer_id is not null
            and touchpoint_id is not null and touchpoint_id not like 'unmapped\_%'
            and (not is_handled or (ended_at is not null and ended_at >= started_at))
            as is_complete,
        started_at,
        ended_at
    from windowed
    left join sentiment on sentiment.unit_id = windowed.interaction_id

)

select * from final
