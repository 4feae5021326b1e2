-- Survey statistics per scorecard key (scorecard.md, "Uncertainty on survey metrics"):
-- NPS and its 95 % margin of error, the CSAT Wilson score interval, the CES interval, and
-- the standard errors used by change_significant. z = 1.96.
with aggregates as (

    select * from {{ ref('int_scorecard_aggregates') }}

),

shares as (

    select
        aggregates.*,
        cast(n_promoters as numeric) / nullif(n_nps, 0) as promoter_share,
        cast(n_detractors as numeric) / nullif(n_nps, 0) as detractor_share,
        cast(n_csat_satisfied as numeric) / nullif(n_csat, 0) as csat_share
    from aggregates

),

survey_stats as (

    select
        shares.*,
        196 * sqrt(
            (promoter_share + detractor_share - (promoter_share - detractor_share) ^ 2) / n_nps
        ) as nps_moe95,
        {{ wilson_interval('csat_share', 'n_csat', 'low') }} as csat_ci_low,
        {{ wilson_interval('csat_share', 'n_csat', 'high') }} as csat_ci_high,
        100 * sqrt(csat_share * (1 - csat_share) / nullif(n_csat, 0)) as csat_se,
        case when n_ces >= 2 then ces_stddev / sqrt(cast(n_ces as numeric)) end as ces_se
    from shares

),

final as (

    select
        survey_stats.touchpoint_id,
        survey_stats.period_grain,
        survey_stats.period_start,
        survey_stats.segment,
        survey_stats.n_interactions,
        survey_stats.n_problematic,
        survey_stats.n_first_response,
        survey_stats.sum_first_response,
        survey_stats.n_queued,
        survey_stats.n_abandoned,
        survey_stats.n_phone,
        survey_stats.n_contained,
        survey_stats.n_handle,
        survey_stats.sum_handle,
        survey_stats.n_known,
        survey_stats.n_recontact_24h,
        survey_stats.n_handled_known,
        survey_stats.n_fcr,
        survey_stats.n_handled,
        survey_stats.n_escalated,
        survey_stats.n_converted,
        survey_stats.n_attributed_orders,
        survey_stats.n_attributed_refunds,
        survey_stats.sum_attributed_amount,
        survey_stats.currency_min,
        survey_stats.currency_max,
        survey_stats.n_complete,
        survey_stats.n_responses,
        survey_stats.n_linked,
        survey_stats.n_csat,
        survey_stats.n_csat_satisfied,
        survey_stats.n_nps,
        survey_stats.n_promoters,
        survey_stats.n_detractors,
        survey_stats.n_ces,
        survey_stats.n_sentiment_messaged,
        survey_stats.n_sentiment_scored,
        survey_stats.sum_sentiment,
        survey_stats.n_sentiment_negative,
        survey_stats.n_followups_due,
        survey_stats.n_followups_created,
        survey_stats.n_followup_tickets,
        survey_stats.n_followup_tickets_within_sla,
        {{ trim_numeric('survey_stats.ces_mean') }} as ces_mean,
        {{ trim_numeric('survey_stats.ces_stddev') }} as ces_stddev,
        {{ trim_numeric('100 * cast(n_csat_satisfied as numeric) / nullif(n_csat, 0)') }} as csat_pct,
        {{ trim_numeric('csat_se') }} as csat_se,
        {{ trim_numeric('csat_ci_low') }} as csat_ci_low,
        {{ trim_numeric('csat_ci_high') }} as csat_ci_high,
        {{ trim_numeric('100 * cast(n_promoters - n_detractors as numeric) / nullif(n_nps, 0)') }} as nps,
        {{ trim_numeric('nps_moe95') }} as nps_moe95,
        {{ trim_numeric('nps_moe95 / 1.96') }} as nps_se,
        {{ trim_numeric('case when n_nps > 0 then greatest(-100, 100 * cast(n_promoters - n_detractors as numeric) / n_nps - nps_moe95) end') }}
            as nps_ci_low,
        {{ trim_numeric('case when n_nps > 0 then least(100, 100 * cast(n_promoters - n_detractors as numeric) / n_nps + nps_moe95) end') }}
            as nps_ci_high,
        {{ trim_numeric('ces_se') }} as ces_se,
        {{ trim_numeric('ces_mean - 1.96 * ces_se') }} as ces_ci_low,
        {{ trim_numeric('ces_mean + 1.96 * ces_se') }} as ces_ci_high
    from survey_stats

)

select * from final
