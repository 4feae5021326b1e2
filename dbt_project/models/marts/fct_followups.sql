-- Closed-loop follow-ups (signals.md, "Closing the loop"): one row per trigger (a detractor
-- NPS, an unhappy CSAT answer, a negative interaction) with whether it is due (cooldown,
-- consent), the ticket created for it and whether it was solved within the SLA. What
-- `cxscore followup` reads after publish; the scorecard's followup metrics count it. The
-- public columns only: int_followups_tracked's bookkeeping (_source_batch_id, ...) stays out.
with tracked as (

    select * from {{ ref('int_followups_tracked') }}

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
        followup_status,
        http_status,
        score,
        has_followup_consent,
        is_eligible,
        is_due,
        is_created,
        is_solved_within_sla,
        triggered_at,
        ticket_created_at,
        ticket_due_at,
        ticket_solved_at
    from tracked

)

select * from final
