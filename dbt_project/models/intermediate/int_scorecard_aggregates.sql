-- Counts behind every scorecard metric, one row per touchpoint, period grain, period
-- (business timezone) and segment that has at least one interaction or scored survey
-- response: the stored day rows of int_scorecard_day_aggregates, rolled up into ISO weeks
-- and months (sums of counts and sums; CES mean and sample standard deviation from n, the
-- sum and the sum of squares). touchpoint_scorecard reads it with constant period filters.
with days as (

    select * from {{ ref('int_scorecard_day_aggregates') }}

),

grains as (

    select 'day' as period_grain
    union all select 'week'
    union all select 'month'

),

day_periods as (

    select
        days.*,
        grains.period_grain as grain,
        case grains.period_grain
            when 'day' then days.period_start
            when 'week' then cast({{ dbt.date_trunc('week', 'cast(days.period_start as timestamp)') }} as date)
            when 'month' then cast({{ dbt.date_trunc('month', 'cast(days.period_start as timestamp)') }} as date)
        end as grain_start
    from days
    cross join grains

),

rolled_up as (

    select
        touchpoint_id,
        grain as period_grain,
        grain_start as period_start,
        segment,
        sum(n_interactions) as n_interactions,
        sum(n_problematic) as n_problematic,
        sum(n_first_response) as n_first_response,
        sum(n_queued) as n_queued,
        sum(n_abandoned) as n_abandoned,
        sum(n_phone) as n_phone,
        sum(n_contained) as n_contained,
        sum(n_handle) as n_handle,
        sum(n_known) as n_known,
        sum(n_recontact_24h) as n_recontact_24h,
        sum(n_handled_known) as n_handled_known,
        sum(n_fcr) as n_fcr,
        sum(n_handled) as n_handled,
        sum(n_escalated) as n_escalated,
        sum(n_converted) as n_converted,
        sum(n_attributed_orders) as n_attributed_orders,
        sum(n_attributed_refunds) as n_attributed_refunds,
        sum(n_complete) as n_complete,
        sum(n_responses) as n_responses,
        sum(n_linked) as n_linked,
        sum(n_csat) as n_csat,
        sum(n_csat_satisfied) as n_csat_satisfied,
        sum(n_nps) as n_nps,
        sum(n_promoters) as n_promoters,
        sum(n_detractors) as n_detractors,
        sum(n_ces) as n_ces,
        sum(sum_first_response) as sum_first_response,
        sum(sum_handle) as sum_handle,
        sum(sum_attributed_amount) as sum_attributed_amount,
        min(currency_min) as currency_min,
        max(currency_max) as currency_max,
        sum(sum_ces) as sum_ces,
        sum(sum_ces_squared) as sum_ces_squared,
        sum(n_sentiment_messaged) as n_sentiment_messaged,
        sum(n_sentiment_scored) as n_sentiment_scored,
        sum(sum_sentiment) as sum_sentiment,
        sum(n_sentiment_negative) as n_sentiment_negative,
        sum(n_followups_due) as n_followups_due,
        sum(n_followups_created) as n_followups_created,
        sum(n_followup_tickets) as n_followup_tickets,
        sum(n_followup_tickets_within_sla) as n_followup_tickets_within_sla
    from day_periods
    group by touchpoint_id, grain, grain_start, segment

),

final as (

    select
        touchpoint_id,
        period_grain,
        period_start,
        segment,
        n_interactions,
        n_problematic,
        n_first_response,
        sum_first_response,
        n_queued,
        n_abandoned,
        n_phone,
        n_contained,
        n_handle,
        sum_handle,
        n_known,
        n_recontact_24h,
        n_handled_known,
        n_fcr,
        n_handled,
        n_escalated,
        n_converted,
        n_attributed_orders,
        n_attributed_refunds,
        sum_attributed_amount,
        currency_min,
        currency_max,
        n_complete,
        n_responses,
        n_linked,
        n_csat,
        n_csat_satisfied,
        n_nps,
        n_promoters,
        n_detractors,
        n_ces,
        n_sentiment_messaged,
        n_sentiment_scored,
        sum_sentiment,
        n_sentiment_negative,
        n_followups_due,
        n_followups_created,
        n_followup_tickets,
        n_followup_tickets_within_sla,
        {{ trim_numeric('sum_ces / nullif(n_ces, 0)') }} as ces_mean,
        {{ trim_numeric('case when n_ces >= 2 then sqrt((sum_ces_squared - sum_ces * sum_ces / n_ces) / (n_ces - 1)) end') }}
            as ces_stddev
    from rolled_up

)

select * from final
