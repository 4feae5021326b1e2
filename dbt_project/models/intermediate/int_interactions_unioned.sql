-- The canonical interaction (sources.md): Zendesk tickets and inbound Amazon Connect
-- contacts in one shape, for the interactions of this build's scope
-- (int_interactions_to_remap: all of them on a full build, the touched ones on an
-- incremental one). Customer and touchpoint are resolved downstream.
-- The scope and the filtered imports are NOT MATERIALIZED (PostgreSQL 12+): each is read
-- twice, and a materialised CTE hides its size and key from the planner (an estimate of 200
-- rows: a full build then probed the staging indexes 687,570 times instead of hashing).
with scope as not materialized (

    select interaction_id from {{ ref('int_interactions_to_remap') }}

),

tickets as not materialized (

    select * from {{ ref('stg_zendesk__tickets') }}
    where not is_deleted and interaction_id in (select interaction_id from scope)
        -- closed-loop follow-up tickets (signals.md) are our outreach, not a customer contact
        and not coalesce('cxscore_followup' = any(tags), false)

),

metric_sets as (

    select * from {{ ref('stg_zendesk__ticket_metric_sets') }}
    where ticket_id in (select ticket_id from tickets)

),

contacts as not materialized (

    select * from {{ ref('stg_amazon_connect__contact_records') }}
    where interaction_id in (select interaction_id from scope)

),

transfer_children as (

    select distinct previous_contact_id as contact_id
    from {{ ref('stg_amazon_connect__contact_records') }}
    where initiation_method in ('TRANSFER', 'QUEUE_TRANSFER')
        and previous_contact_id in (select contact_id from contacts)

),

zendesk_interactions as (

    select
        tickets.interaction_id,
        'zendesk' as source_system,
        tickets.channel,
        tickets.requester_id as requester_user_id,
        cast(null as {{ dbt.type_string() }}) as customer_phone_hash,
        cast(null as {{ dbt.type_string() }}) as customer_email_hash,
        tickets.tags,
        tickets.ticket_type,
        cast(null as {{ dbt.type_string() }}) as queue_name,
        cast(null as {{ dbt.type_string() }}) as ivr_menu,
        metric_sets.reply_time_calendar_minutes * 60 as first_response_seconds,
        cast(null as numeric) as handle_seconds,
        coalesce(metric_sets.reopens, 0) as reopens,
        tickets.status in ('solved', 'closed') as is_handled,
        false as was_queued,
        false as was_abandoned,
        false as is_short_abandon,
        false as was_contained,
        coalesce(metric_sets.group_stations > 1, false) as was_transferred,
        coalesce(tickets.priority = 'urgent', false) or 'escalated' = any(tickets.tags)
            as was_escalated,
        tickets.created_at as started_at,
        metric_sets.solved_at as ended_at
    from tickets
    left join metric_sets on metric_sets.ticket_id = tickets.ticket_id

),

connect_flags as (

    select
        contacts.*,
        contacts.enqueued_at is not null as was_queued,
        contacts.connected_to_agent_at is not null as was_answered,
        transfer_children.contact_id is not null as has_transfer_child
    from contacts
    left join transfer_children on transfer_children.contact_id = contacts.contact_id
    where contacts.initiation_method in ('INBOUND', 'CALLBACK')

),

connect_classified as (

    select
        *,
        was_queued and not was_answered
            and coalesce(queue_duration_seconds < {{ var('short_abandon_seconds') }}, false)
            as is_short_abandon,
        not was_queued and not has_agent
            and (is_self_service_complete or coalesce(disconnect_reason = 'CONTACT_FLOW_DISCONNECT', false))
            as was_contained
    from connect_flags

),

connect_interactions as (

    select
        interaction_id,
        'amazon_connect' as source_system,
        channel,
        cast(null as bigint) as requester_user_id,
        customer_phone_hash,
        customer_email_hash,
        cast(array[] as {{ dbt.type_string() }}[]) as tags,
        cast(null as {{ dbt.type_string() }}) as ticket_type,
        case when was_queued then queue_name end as queue_name,
        case when not was_queued then ivr_menu_attribute end as ivr_menu,
        case when was_answered and enqueued_at is not null
            then extract(epoch from (connected_to_agent_at - enqueued_at)) end
            as first_response_seconds,
        case when was_answered then
            coalesce(agent_interaction_seconds, 0) + coalesce(customer_hold_seconds, 0)
            + coalesce(after_contact_work_seconds, 0)
        end as handle_seconds,
        0 as reopens,
        was_answered or was_contained as is_handled,
        was_queued,
        was_queued and not was_answered and not is_short_abandon
            and initiation_method <> 'CALLBACK' as was_abandoned,
        is_short_abandon,
        was_contained,
        next_contact_id is not null or transfer_completed_at is not null or has_transfer_child
            as was_transferred,
        is_escalated_attribute as was_escalated,
        initiated_at as started_at,
        disconnected_at as ended_at
    from connect_classified

),

final as (

    select * from zendesk_interactions
    union all
    select * from connect_interactions

)

select * from final
