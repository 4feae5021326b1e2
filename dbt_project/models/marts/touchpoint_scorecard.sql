{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        contract={'enforced': true},
        indexes=[
            {'columns': ['touchpoint_id', 'period_grain', 'period_start', 'segment', 'metric'], 'unique': True},
            {'columns': ['period_grain', 'period_start']},
        ],
        pre_hook=["{{ delete_scorecard_scope(ref('int_scorecard_periods_in_scope')) }}"],
        post_hook=["{{ record_build_state('touchpoint_scorecard', ref('int_scorecard_build_marks')) }}"],
    )
}}
-- depends_on: {{ ref('int_scorecard_periods_in_scope') }}
-- depends_on: {{ ref('int_scorecard_build_marks') }}

-- The touchpoint balanced scorecard, long form (scorecard.md): one row per touchpoint,
-- period grain, period, segment and metric. An incremental run deletes (pre-hook) and
-- rebuilds only the periods in int_scorecard_periods_in_scope; prior values are computed
-- from the facts, so each rebuilt period is exactly what a full refresh gives.
with

{% if is_incremental() %}
scope as (

    select period_grain, period_start from {{ ref('int_scorecard_periods_in_scope') }}

),

computed_periods as (

    select period_grain, period_start from scope
    union
    select period_grain, {{ period_before('period_grain', 'period_start') }} from scope

),

earliest_needed as (

    select
        cast(min(period_start) as timestamp) at time zone '{{ var("business_timezone") }}'
            as started_from
    from computed_periods

),
{% endif %}

interactions as (

    select * from {{ ref('fct_interactions') }}
    where started_at is not null
    {% if is_incremental() %}
        and started_at >= (select started_from from earliest_needed)
    {% endif %}

),

responses as (

    select * from {{ ref('fct_survey_responses') }}
    where is_scored and submitted_at is not null
    {% if is_incremental() %}
        and submitted_at >= (select started_from from earliest_needed)
    {% endif %}

),

touchpoints as (

    select * from {{ ref('dim_touchpoints') }}

),

targets as (

    select * from {{ ref('scorecard_targets') }}

),

grains as (

    select 'day' as period_grain
    union all select 'week'
    union all select 'month'

),

interaction_periods as (

    select
        interactions.*,
        grains.period_grain,
        {{ period_start('grains.period_grain', 'interactions.started_at') }} as period_start
    from interactions
    cross join grains

),

interaction_segments as (

    select interaction_periods.*, 'all' as segment_key
    from interaction_periods
    union all
    select interaction_periods.*, interaction_periods.segment as segment_key
    from interaction_periods

),

interaction_aggregates as (

    select
        interaction_segments.touchpoint_id,
        interaction_segments.period_grain,
        interaction_segments.period_start,
        interaction_segments.segment_key as segment,
        count(*) as n_interactions,
        sum(case when moment_class = 'problematic' then 1 else 0 end) as n_problematic,
        count(first_response_seconds) as n_first_response,
        sum(first_response_seconds) as sum_first_response,
        sum(case when was_queued and not is_short_abandon then 1 else 0 end) as n_queued,
        sum(case when was_queued and not is_short_abandon and was_abandoned then 1 else 0 end)
            as n_abandoned,
        sum(case when channel = 'phone' then 1 else 0 end) as n_phone,
        sum(case when channel = 'phone' and was_contained then 1 else 0 end) as n_contained,
        count(handle_seconds) as n_handle,
        sum(handle_seconds) as sum_handle,
        sum(case when has_known_customer then 1 else 0 end) as n_known,
        sum(case when has_known_customer and recontact_24h then 1 else 0 end) as n_recontact_24h,
        sum(case when is_handled and has_known_customer then 1 else 0 end) as n_handled_known,
        sum(case when first_contact_resolved then 1 else 0 end) as n_fcr,
        sum(case when is_handled then 1 else 0 end) as n_handled,
        sum(case when is_handled and (was_transferred or was_escalated) then 1 else 0 end)
            as n_escalated,
        sum(case when has_known_customer and is_assisted_conversion then 1 else 0 end)
            as n_converted,
        sum(attributed_orders) as n_attributed_orders,
        sum(attributed_refunds) as n_attributed_refunds,
        sum(attributed_amount) as sum_attributed_amount,
        min(attributed_currency_min) as currency_min,
        max(attributed_currency_max) as currency_max,
        sum(case when is_complete then 1 else 0 end) as n_complete
    from interaction_segments
    {% if is_incremental() %}
    inner join computed_periods
        on computed_periods.period_grain = interaction_segments.period_grain
        and computed_periods.period_start = interaction_segments.period_start
    {% endif %}
    group by 1, 2, 3, 4

),

response_periods as (

    select
        responses.*,
        grains.period_grain,
        {{ period_start('grains.period_grain', 'responses.submitted_at') }} as period_start
    from responses
    cross join grains

),

response_segments as (

    select response_periods.*, 'all' as segment_key
    from response_periods
    union all
    select response_periods.*, response_periods.segment as segment_key
    from response_periods

),

response_aggregates as (

    select
        response_segments.touchpoint_id,
        response_segments.period_grain,
        response_segments.period_start,
        response_segments.segment_key as segment,
        count(*) as n_responses,
        sum(case when is_linked then 1 else 0 end) as n_linked,
        count(csat) as n_csat,
        sum(case when csat in (4, 5) then 1 else 0 end) as n_csat_satisfied,
        count(nps) as n_nps,
        sum(case when nps >= 9 then 1 else 0 end) as n_promoters,
        sum(case when nps <= 6 then 1 else 0 end) as n_detractors,
        count(ces) as n_ces,
        avg(cast(ces as numeric)) as ces_mean,
        stddev_samp(cast(ces as numeric)) as ces_stddev
    from response_segments
    {% if is_incremental() %}
    inner join computed_periods
        on computed_periods.period_grain = response_segments.period_grain
        and computed_periods.period_start = response_segments.period_start
    {% endif %}
    group by 1, 2, 3, 4

),

keyed as (

    select
        coalesce(i.touchpoint_id, r.touchpoint_id) as touchpoint_id,
        coalesce(i.period_grain, r.period_grain) as period_grain,
        coalesce(i.period_start, r.period_start) as period_start,
        coalesce(i.segment, r.segment) as segment,
        coalesce(i.n_interactions, 0) as n_interactions,
        coalesce(i.n_problematic, 0) as n_problematic,
        coalesce(i.n_first_response, 0) as n_first_response,
        i.sum_first_response,
        coalesce(i.n_queued, 0) as n_queued,
        coalesce(i.n_abandoned, 0) as n_abandoned,
        coalesce(i.n_phone, 0) as n_phone,
        coalesce(i.n_contained, 0) as n_contained,
        coalesce(i.n_handle, 0) as n_handle,
        i.sum_handle,
        coalesce(i.n_known, 0) as n_known,
        coalesce(i.n_recontact_24h, 0) as n_recontact_24h,
        coalesce(i.n_handled_known, 0) as n_handled_known,
        coalesce(i.n_fcr, 0) as n_fcr,
        coalesce(i.n_handled, 0) as n_handled,
        coalesce(i.n_escalated, 0) as n_escalated,
        coalesce(i.n_converted, 0) as n_converted,
        coalesce(i.n_attributed_orders, 0) as n_attributed_orders,
        coalesce(i.n_attributed_refunds, 0) as n_attributed_refunds,
        i.sum_attributed_amount,
        i.currency_min,
        i.currency_max,
        coalesce(i.n_complete, 0) as n_complete,
        coalesce(r.n_responses, 0) as n_responses,
        coalesce(r.n_linked, 0) as n_linked,
        coalesce(r.n_csat, 0) as n_csat,
        coalesce(r.n_csat_satisfied, 0) as n_csat_satisfied,
        coalesce(r.n_nps, 0) as n_nps,
        coalesce(r.n_promoters, 0) as n_promoters,
        coalesce(r.n_detractors, 0) as n_detractors,
        coalesce(r.n_ces, 0) as n_ces,
        r.ces_mean,
        r.ces_stddev
    from interaction_aggregates as i
    full outer join response_aggregates as r
        on r.touchpoint_id = i.touchpoint_id
        and r.period_grain = i.period_grain
        and r.period_start = i.period_start
        and r.segment = i.segment

),

shares as (

    select
        keyed.*,
        cast(n_promoters as numeric) / nullif(n_nps, 0) as promoter_share,
        cast(n_detractors as numeric) / nullif(n_nps, 0) as detractor_share,
        cast(n_csat_satisfied as numeric) / nullif(n_csat, 0) as csat_share
    from keyed

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

metric_rows as (

    select
        s.touchpoint_id,
        s.period_grain,
        s.period_start,
        s.segment,
        m.perspective,
        m.metric,
        m.value,
        m.numerator,
        m.sample_size,
        m.standard_error,
        m.ci_low,
        m.ci_high
    from survey_stats as s
    cross join lateral (
        values
            ('operations', 'interactions',
                cast(nullif(s.n_interactions, 0) as numeric), cast(null as numeric),
                s.n_interactions, cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            ('customer', 'csat_pct',
                100 * cast(s.n_csat_satisfied as numeric) / nullif(s.n_csat, 0),
                cast(s.n_csat_satisfied as numeric), s.n_csat,
                s.csat_se, s.csat_ci_low, s.csat_ci_high),
            ('customer', 'nps',
                100 * cast(s.n_promoters - s.n_detractors as numeric) / nullif(s.n_nps, 0),
                cast(s.n_promoters - s.n_detractors as numeric), s.n_nps,
                s.nps_moe95 / 1.96,
                greatest(-100, 100 * cast(s.n_promoters - s.n_detractors as numeric) / nullif(s.n_nps, 0) - s.nps_moe95),
                least(100, 100 * cast(s.n_promoters - s.n_detractors as numeric) / nullif(s.n_nps, 0) + s.nps_moe95)),
            ('customer', 'nps_moe95',
                s.nps_moe95, cast(null as numeric), s.n_nps,
                cast(null as numeric), cast(null as numeric), cast(null as numeric)),
            ('customer', 'ces_avg',
                s.ces_mean, cast(null as numeric), s.n_ces,
                s.ces_se,
                s.ces_mean - 1.96 * s.ces_se,
                s.ces_mean + 1.96 * s.ces_se),
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

),

with_prior as (

    select
        current_rows.*,
        prior_rows.metric is not null as has_prior_row,
        prior_rows.value as prior_value,
        prior_rows.standard_error as prior_standard_error
    from metric_rows_applicable as current_rows
    left join metric_rows_applicable as prior_rows
        on prior_rows.touchpoint_id = current_rows.touchpoint_id
        and prior_rows.period_grain = current_rows.period_grain
        and prior_rows.segment = current_rows.segment
        and prior_rows.metric = current_rows.metric
        and prior_rows.period_start
            = {{ period_before('current_rows.period_grain', 'current_rows.period_start') }}
    {% if is_incremental() %}
    where exists (
        select 1 from scope
        where scope.period_grain = current_rows.period_grain
            and scope.period_start = current_rows.period_start
    )
    {% endif %}

),

with_target as (

    select
        with_prior.*,
        coalesce(channel_target.metric, default_target.metric) is not null as has_target,
        case when channel_target.metric is not null then channel_target.direction
            else default_target.direction end as direction,
        case when channel_target.metric is not null then channel_target.target
            else default_target.target end as target,
        case when channel_target.metric is not null then channel_target.amber_band
            else default_target.amber_band end as amber_band,
        case when channel_target.metric is not null then channel_target.min_sample
            else default_target.min_sample end as min_sample,
        case when channel_target.metric is not null then channel_target.target_type
            else default_target.target_type end as target_type,
        case when channel_target.metric is not null then channel_target.owner
            else default_target.owner end as target_owner
    from with_prior
    left join targets as channel_target
        on channel_target.metric = with_prior.metric
        and channel_target.channel = with_prior.channel
    left join targets as default_target
        on default_target.metric = with_prior.metric
        and default_target.channel = '*'

),

judged as (

    select
        with_target.*,
        case when target_type = 'relative_change' and prior_value <> 0
            then 100 * (value - prior_value) / prior_value
            else value
        end as compared_value
    from with_target

),

final as (

    select
        cast(touchpoint_id as text) as touchpoint_id,
        cast(touchpoint_name as text) as touchpoint_name,
        cast(channel as text) as channel,
        cast(moment_of_truth as text) as moment_of_truth,
        cast(period_grain as text) as period_grain,
        cast(period_start as date) as period_start,
        cast({{ period_end('period_grain', 'period_start') }} as date) as period_end,
        cast(segment as text) as segment,
        cast(perspective as text) as perspective,
        cast(metric as text) as metric,
        cast(value as numeric) as value,
        cast(numerator as numeric) as numerator,
        cast(sample_size as bigint) as sample_size,
        cast(target as numeric) as target,
        cast(amber_band as numeric) as amber_band,
        cast(direction as text) as direction,
        cast(target_type as text) as target_type,
        cast({{ scorecard_status('sample_size', 'value', 'prior_value', 'has_target', 'target_type', 'min_sample', 'direction', 'target', 'amber_band', 'compared_value') }} as text)
            as status,
        cast(coalesce(nullif(trim(target_owner), ''), touchpoint_owner) as text) as owner,
        cast(prior_value as numeric) as prior_value,
        cast(value - prior_value as numeric) as change_vs_prior,
        cast(ci_low as numeric) as ci_low,
        cast(ci_high as numeric) as ci_high,
        cast(
            case
                when metric not in ('nps', 'csat_pct', 'ces_avg') then null
                when value is null or prior_value is null then null
                when standard_error is null or prior_standard_error is null then null
                when sqrt(standard_error ^ 2 + prior_standard_error ^ 2) = 0 then null
                else abs(value - prior_value)
                    / sqrt(standard_error ^ 2 + prior_standard_error ^ 2) >= 1.96
            end as boolean
        ) as change_significant,
        cast(now() as timestamptz) as built_at
    from judged

)

select * from final
