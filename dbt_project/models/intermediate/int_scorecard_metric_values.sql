-- Every scorecard metric of every key (scorecard.md, "Metrics"): value, numerator, sample
-- size, and for the survey metrics the standard error and the 95 % interval. Abandonment and
-- handle time exist only for phone and chat touchpoints, IVR containment only for phone.
with survey_stats as (

    select * from {{ ref('int_scorecard_survey_stats') }}

),

touchpoints as (

    select * from {{ ref('touchpoints') }}

),

metric_rows as (

    select
        s.touchpoint_id,
        s.period_grain,
        s.period_start,
        s.segment,
        m.perspective,
        m.metric,
        {{ trim_numeric('m.value') }} as value,
        {{ trim_numeric('m.numerator') }} as numerator,
        m.sample_size,
        {{ trim_numeric('m.standard_error') }} as standard_error,
        {{ trim_numeric('m.ci_low') }} as ci_low,
        {{ trim_numeric('m.ci_high') }} as ci_high
    from survey_stats as s
    cross join lateral (
        values
            ('operations', 'interactions',
                cast(nullif(s.n_interactions, 0) as numeric), cast(null as numeric),
                s.n_interactions, cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            ('customer', 'csat_pct',
                s.csat_pct, cast(s.n_csat_satisfied as numeric), s.n_csat,
                s.csat_se, s.csat_ci_low, s.csat_ci_high),
            ('customer', 'nps',
                s.nps, cast(s.n_promoters - s.n_detractors as numeric), s.n_nps,
                s.nps_se, s.nps_ci_low, s.nps_ci_high),
            ('customer', 'nps_moe95',
                s.nps_moe95, cast(null as numeric), s.n_nps,
                cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            ('customer', 'ces_avg',
                s.ces_mean, cast(null as numeric), s.n_ces,
                s.ces_se, s.ces_ci_low, s.ces_ci_high),
            ('customer', 'problematic_moment_pct',
                100 * cast(s.n_problematic as numeric) / nullif(s.n_interactions, 0),
                cast(s.n_problematic as numeric), s.n_interactions,
                cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            ('operations', 'first_response_avg_seconds',
                cast(s.sum_first_response as numeric) / nullif(s.n_first_response, 0),
                cast(null as numeric), s.n_first_response,
                cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            ('operations', 'abandonment_pct',
                100 * cast(s.n_abandoned as numeric) / nullif(s.n_queued, 0),
                cast(s.n_abandoned as numeric), s.n_queued,
                cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            ('operations', 'ivr_containment_pct',
                100 * cast(s.n_contained as numeric) / nullif(s.n_phone, 0),
                cast(s.n_contained as numeric), s.n_phone,
                cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            ('operations', 'avg_handle_seconds',
                cast(s.sum_handle as numeric) / nullif(s.n_handle, 0),
                cast(null as numeric), s.n_handle,
                cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            ('operations', 'recontact_24h_pct',
                100 * cast(s.n_recontact_24h as numeric) / nullif(s.n_known, 0),
                cast(s.n_recontact_24h as numeric), s.n_known,
                cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            ('operations', 'fcr_pct',
                100 * cast(s.n_fcr as numeric) / nullif(s.n_handled_known, 0),
                cast(s.n_fcr as numeric), s.n_handled_known,
                cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            ('operations', 'escalation_pct',
                100 * cast(s.n_escalated as numeric) / nullif(s.n_handled, 0),
                cast(s.n_escalated as numeric), s.n_handled,
                cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            ('financial', 'assisted_conversion_pct',
                100 * cast(s.n_converted as numeric) / nullif(s.n_known, 0),
                cast(s.n_converted as numeric), s.n_known,
                cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            ('financial', 'influenced_revenue',
                case when s.n_attributed_orders > 0 and s.currency_min = s.currency_max
                    then cast(s.sum_attributed_amount as numeric)
                    when s.n_attributed_orders > 0 and s.currency_min is null
                    then cast(s.sum_attributed_amount as numeric) end,
                cast(null as numeric), s.n_attributed_orders,
                cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            ('financial', 'refund_pct',
                100 * cast(s.n_attributed_refunds as numeric) / nullif(s.n_attributed_orders, 0),
                cast(s.n_attributed_refunds as numeric), s.n_attributed_orders,
                cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            ('data_quality', 'data_completeness_pct',
                100 * cast(s.n_complete as numeric) / nullif(s.n_interactions, 0),
                cast(s.n_complete as numeric), s.n_interactions,
                cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            ('data_quality', 'survey_response_rate_pct',
                100 * cast(s.n_responses as numeric) / nullif(s.n_interactions, 0),
                cast(s.n_responses as numeric), s.n_interactions,
                cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            ('data_quality', 'survey_linkage_pct',
                100 * cast(s.n_linked as numeric) / nullif(s.n_responses, 0),
                cast(s.n_linked as numeric), s.n_responses,
                cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            -- sentiment (signals.md): units are interactions with customer messages and
            -- survey comments; negative = min_customer_sentiment < -0.5
            ('customer', 'customer_sentiment_avg',
                cast(s.sum_sentiment as numeric) / nullif(s.n_sentiment_scored, 0),
                cast(null as numeric), s.n_sentiment_scored,
                cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            ('customer', 'negative_sentiment_pct',
                100 * cast(s.n_sentiment_negative as numeric) / nullif(s.n_sentiment_scored, 0),
                cast(s.n_sentiment_negative as numeric), s.n_sentiment_scored,
                cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            ('data_quality', 'sentiment_coverage_pct',
                100 * cast(s.n_sentiment_scored as numeric) / nullif(s.n_sentiment_messaged, 0),
                cast(s.n_sentiment_scored as numeric), s.n_sentiment_messaged,
                cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            -- closing the loop (signals.md): due follow-ups by the trigger's period, follow-up
            -- tickets by the period they were created in
            ('operations', 'followup_rate_pct',
                100 * cast(s.n_followups_created as numeric) / nullif(s.n_followups_due, 0),
                cast(s.n_followups_created as numeric), s.n_followups_due,
                cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            ('operations', 'followup_within_sla_pct',
                100 * cast(s.n_followup_tickets_within_sla as numeric) / nullif(s.n_followup_tickets, 0),
                cast(s.n_followup_tickets_within_sla as numeric), s.n_followup_tickets,
                cast(null as numeric), cast(null as numeric), cast(null as numeric))
    ) as m (perspective, metric, value, numerator, sample_size, standard_error, ci_low, ci_high)

),

metric_rows_applicable as (

    -- abandonment and handle time exist only for phone and chat, IVR containment only for phone
    select
        metric_rows.*,
        touchpoints.touchpoint_name,
        touchpoints.channel,
        touchpoints.moment_of_truth,
        touchpoints.owner as touchpoint_owner
    from metric_rows
    left join touchpoints on touchpoints.touchpoint_id = metric_rows.touchpoint_id
    where not (
        metric_rows.metric in ('abandonment_pct', 'avg_handle_seconds')
        and coalesce(touchpoints.channel, '') not in ('phone', 'chat')
    )
    and not (metric_rows.metric = 'ivr_containment_pct' and coalesce(touchpoints.channel, '') <> 'phone')

)

select * from metric_rows_applicable
