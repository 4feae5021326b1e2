-- Closed-loop follow-ups (signals.md, "Closing the loop"): one row per trigger (a detractor
-- NPS, an unhappy CSAT answer, a negative interaction) with whether it is due (cooldown,
-- consent), the ticket created for it and whether it was solved within the SLA. What
-- `cxscore followup` reads after publish; the scorecard's followup metrics count it. The
-- public columns only (public_columns): int_followups_tracked's bookkeeping (_source_batch_id,
-- _ledger_updated_at, ...) stays out.
with tracked as (

    select * from {{ ref('int_followups_tracked') }}

),

final as (

    select
        {{ public_columns(ref('int_followups_tracked')) }}
    from tracked

)

select * from final
