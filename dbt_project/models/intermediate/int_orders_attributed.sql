-- Last-touch attribution (scorecard.md): for each non-cancelled order, the latest
-- interaction of the same customer with started_at in [ordered_at - 7 days, ordered_at);
-- ties on started_at break on the lower interaction_id.
-- Only the orders of this build's scope (int_facts_in_scope: all on a full build).
with scope as (

    select key as order_id from {{ ref('int_facts_in_scope') }} where entity = 'order'

),

orders as (

    select * from {{ ref('stg_crm__orders') }}
    where order_id in (select order_id from scope)

),

identities as (

    select * from {{ ref('int_customer_identities_resolved') }}

),

interactions as (

    select interaction_id, customer_id, started_at
    from {{ ref('int_interactions_mapped_to_touchpoints') }}
    where customer_id is not null

),

orders_identified as (

    select
        orders.*,
        identities.customer_id
    from orders
    left join identities
        on identities.identity_type = 'email'
        and identities.identity_hash = orders.customer_email_hash

),

candidates as (

    select
        orders_identified.order_id,
        interactions.interaction_id,
        row_number() over (
            partition by orders_identified.order_id
            order by interactions.started_at desc, interactions.interaction_id asc
        ) as touch_rank
    from orders_identified
    inner join interactions
        on interactions.customer_id = orders_identified.customer_id
        and interactions.started_at >= orders_identified.ordered_at
            - interval '{{ var("attribution_window_days") }} days'
        and interactions.started_at < orders_identified.ordered_at
    where not orders_identified.is_cancelled

),

final as (

    select
        orders_identified.order_id,
        orders_identified.customer_id,
        candidates.interaction_id as attributed_interaction_id,
        orders_identified.status,
        orders_identified.currency,
        orders_identified.amount,
        orders_identified.is_refund,
        orders_identified.is_cancelled,
        orders_identified.ordered_at,
        orders_identified.updated_at
    from orders_identified
    left join candidates
        on candidates.order_id = orders_identified.order_id
        and candidates.touch_rank = 1

)

select * from final
