{{ config(materialized='table', indexes=[{'columns': ['followup_key'], 'unique': True}]) }}

-- Every follow-up trigger with what became of it (signals.md, "Closing the loop"): the
-- ledger row cxscore followup wrote (meta.followups: created, failed or pending) and the
-- Zendesk ticket as the incremental export brought it back (solved_at of its metric set,
-- side-loaded with every version of the ticket).
-- A follow-up is on time when its ticket was solved within closed_loop_sla_hours of its
-- creation. One snapshot per build: the scorecard's scope and day aggregates read this table.
with due as (

    select * from {{ ref('int_followups_due') }}

),

ledger as (

    select * from {{ source('meta', 'followups') }}

),

metric_sets as (

    select ticket_id, solved_at, _changed_batch_id from {{ ref('stg_zendesk__ticket_metric_sets') }}

),

joined as (

    select
        due.*,
        ledger.status as ledger_status,
        ledger.ticket_id,
        ledger.http_status,
        ledger.created_at as ticket_created_at,
        ledger.due_at as ticket_due_at,
        ledger.updated_at as _ledger_updated_at,
        metric_sets.solved_at as ticket_solved_at,
        metric_sets._changed_batch_id as _ticket_batch_id
    from due
    left join ledger on ledger.followup_key = due.followup_key
    left join metric_sets on metric_sets.ticket_id = ledger.ticket_id

),

final as (

    select
        followup_key,
        source,
        record_id,
        interaction_id,
        touchpoint_id,
        customer_id,
        requester_id,
        ticket_id,
        touchpoint_name,
        owner,
        segment,
        reason,
        coalesce(ledger_status, 'not_created') as followup_status,
        http_status,
        score,
        has_followup_consent,
        is_eligible,
        is_due,
        coalesce(ledger_status = 'created', false) as is_created,
        coalesce(
            ledger_status = 'created'
            and ticket_solved_at <= {{ dbt.dateadd('hour', var('closed_loop_sla_hours'), 'ticket_created_at') }},
            false
        ) as is_solved_within_sla,
        triggered_at,
        ticket_created_at,
        ticket_due_at,
        ticket_solved_at,
        _ledger_updated_at,
        _source_batch_id,
        _ticket_batch_id
    from joined

)

select * from final
