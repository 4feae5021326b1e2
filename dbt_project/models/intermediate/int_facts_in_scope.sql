{{ config(materialized='table', indexes=[{'columns': ['entity', 'key'], 'unique': True}]) }}
{%- set facts = ['fct_interactions', 'fct_orders', 'fct_survey_responses'] -%}
{%- set state = incremental_state(facts, ref('stg_meta__build_marks')) -%}
{%- set window_hours = [var('fcr_window_hours') | int, var('recontact_window_hours') | int] | max -%}
{%- set attribution_days = var('attribution_window_days') | int -%}

-- depends_on: {{ ref('int_customer_identities_resolved') }}
-- depends_on: {{ ref('stg_zendesk__users') }}
-- depends_on: {{ ref('int_customer_sentiment_aggregated') }}

-- The interactions, orders and survey responses whose facts this build recomputes
-- (scorecard.md, "Incremental builds"). Full build: all of them. Incremental, driven by the
-- records (re)written since the facts' last build (_changed_batch_id) and the facts' previous
-- state:
-- - touched interactions (new, changed, re-identified, re-mapped, removed: the log
--   intermediate.cx_removed_records), touched orders
--   and touched responses, each with its old and new customer and event time;
-- - per customer the earliest affected instant: a touched interaction's start minus the
--   longest look-ahead window (recontact / FCR), a touched order's time minus the attribution
--   window, and the whole history of a customer whose user record changed (segment and
--   identity are as of now);
-- - every interaction of those customers from that instant (minus the attribution window,
--   so that new last touches are included), every order from that instant, the interactions
--   the affected orders were attributed to before, the interactions a touched response links
--   (its survey scores feed the moment class), and the responses of every interaction in
--   scope and of every changed customer.
with

{% if state.full %}

final as (

    select 'interaction' as entity, interaction_id as key
    from {{ ref('int_interactions_mapped_to_touchpoints') }}
    union all
    select 'order', order_id from {{ ref('stg_crm__orders') }}
    union all
    select 'response', response_id from {{ ref('stg_qualtrics__responses') }}

)

{% else %}

-- Import CTEs of big tables are NOT MATERIALIZED (PostgreSQL 12+): a CTE referenced
-- twice would otherwise be copied whole before the key filters apply.
mapped as not materialized (

    select * from {{ ref('int_interactions_mapped_to_touchpoints') }}

),

orders as not materialized (

    select * from {{ ref('stg_crm__orders') }}

),

responses as not materialized (

    select * from {{ ref('stg_qualtrics__responses') }}

),

identities as not materialized (

    select * from {{ ref('int_customer_identities_resolved') }}

),

previous_interactions as not materialized (

    select interaction_id, customer_id, started_at from {{ previous_relation('fct_interactions') }}

),

previous_orders as not materialized (

    select order_id, customer_id, ordered_at, attributed_interaction_id
    from {{ previous_relation('fct_orders') }}

),

previous_responses as not materialized (

    select response_id, claimed_interaction_id, customer_id
    from {{ previous_relation('fct_survey_responses') }}

),

removed as (

    -- records the canonical / staging layer removed since the facts' last build (a deleted
    -- ticket, a record of a replaced file)
    select model, key
    from {{ source('build_state', 'cx_removed_records') }}
    where batch_id > {{ state.batch_after }}

),

new_sentiment as (

    -- interactions and survey responses with customer messages scored since the facts'
    -- last build (a late comment on an old ticket changes its sentiment, nothing else)
    select unit_type, unit_id
    from {{ ref('int_customer_sentiment_aggregated') }}
    where last_batch_id > {{ state.batch_after }}

),

changed_users as (

    select customer_id, email_hash
    from {{ ref('stg_zendesk__users') }}
    where _changed_batch_id > {{ state.batch_after }}

),

touched_interactions as (

    -- new state of what this build re-mapped
    select interaction_id, customer_id, started_at
    from mapped
    where _changed_batch_id > {{ state.batch_after }}

    union all

    -- their previous state
    select previous_interactions.interaction_id, previous_interactions.customer_id,
        previous_interactions.started_at
    from previous_interactions
    inner join mapped on mapped.interaction_id = previous_interactions.interaction_id
    where mapped._changed_batch_id > {{ state.batch_after }}

    union all

    -- interactions that are gone (a deleted ticket, a contact of a replaced file)
    select previous_interactions.interaction_id, previous_interactions.customer_id,
        previous_interactions.started_at
    from previous_interactions
    inner join removed
        on removed.model = 'int_interactions_mapped_to_touchpoints'
        and removed.key = previous_interactions.interaction_id

),

touched_orders as (

    select orders.order_id, identities.customer_id, orders.ordered_at
    from orders
    left join identities
        on identities.identity_type = 'email'
        and identities.identity_hash = orders.customer_email_hash
    where orders._changed_batch_id > {{ state.batch_after }}

    union all

    select previous_orders.order_id, previous_orders.customer_id, previous_orders.ordered_at
    from previous_orders
    inner join orders on orders.order_id = previous_orders.order_id
    where orders._changed_batch_id > {{ state.batch_after }}

    union all

    select previous_orders.order_id, previous_orders.customer_id, previous_orders.ordered_at
    from previous_orders
    inner join removed
        on removed.model = 'stg_crm__orders' and removed.key = previous_orders.order_id

),

touched_responses as (

    select response_id, interaction_id as claimed_interaction_id
    from responses
    where _changed_batch_id > {{ state.batch_after }}

    union all

    select previous_responses.response_id, previous_responses.claimed_interaction_id
    from previous_responses
    inner join responses on responses.response_id = previous_responses.response_id
    where responses._changed_batch_id > {{ state.batch_after }}

    union all

    select previous_responses.response_id, previous_responses.claimed_interaction_id
    from previous_responses
    inner join removed
        on removed.model = 'stg_qualtrics__responses'
        and removed.key = previous_responses.response_id

),

affected_since as (

    select customer_id, min(started_at) - interval '{{ window_hours }} hours' as since
    from touched_interactions
    where customer_id is not null
    group by customer_id

    union all

    select customer_id, min(ordered_at) - interval '{{ attribution_days }} days'
    from touched_orders
    where customer_id is not null
    group by customer_id

    union all

    select customer_id, cast('-infinity' as timestamptz)
    from changed_users

),

customers as (

    select customer_id, min(since) as since
    from affected_since
    group by customer_id

),

scoped_orders as (

    select order_id from touched_orders

    union

    select previous_orders.order_id
    from previous_orders
    inner join customers
        on customers.customer_id = previous_orders.customer_id
        and previous_orders.ordered_at >= customers.since

    union

    select orders.order_id
    from orders
    inner join identities
        on identities.identity_type = 'email'
        and identities.identity_hash = orders.customer_email_hash
    inner join customers
        on customers.customer_id = identities.customer_id
        and orders.ordered_at >= customers.since

),

scoped_interactions as (

    select interaction_id from touched_interactions

    union

    select mapped.interaction_id
    from mapped
    inner join customers
        on customers.customer_id = mapped.customer_id
        and mapped.started_at >= customers.since - interval '{{ attribution_days }} days'

    union

    select previous_orders.attributed_interaction_id
    from previous_orders
    where previous_orders.order_id in (select order_id from scoped_orders)
        and previous_orders.attributed_interaction_id is not null

    union

    select claimed_interaction_id
    from touched_responses
    where claimed_interaction_id is not null

    union

    select unit_id from new_sentiment where unit_type = 'interaction'

),

scoped_responses as (

    select response_id from touched_responses

    union

    select unit_id from new_sentiment where unit_type = 'response'

    union

    select responses.response_id
    from responses
    where responses.interaction_id in (select interaction_id from scoped_interactions)

    union

    select previous_responses.response_id
    from previous_responses
    where previous_responses.customer_id in (select customer_id from changed_users)

    union

    select responses.response_id
    from responses
    where responses.customer_email_hash in (
        select email_hash from changed_users where email_hash is not null
    )

),

final as (

    select 'interaction' as entity, interaction_id as key from scoped_interactions
    union all
    select 'order', order_id from scoped_orders
    union all
    select 'response', response_id from scoped_responses

)

{% endif %}

select * from final
