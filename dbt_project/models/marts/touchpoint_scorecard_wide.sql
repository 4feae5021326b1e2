{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        contract={'enforced': true},
        indexes=[
            {'columns': ['touchpoint_id', 'period_grain', 'period_start', 'segment'], 'unique': True},
            {'columns': ['period_grain', 'period_start']},
        ],
        pre_hook=["{{ delete_scorecard_scope(ref('int_scorecard_periods_in_scope')) }}"],
        post_hook=["{{ record_build_state(this.name, ref('int_scorecard_build_marks')) }}"],
    )
}}
-- depends_on: {{ ref('int_scorecard_periods_in_scope') }}
-- depends_on: {{ ref('int_scorecard_build_marks') }}

-- The scorecard for dashboards (scorecard.md): one row per touchpoint, grain, period and
-- segment, one column per metric value, the status of each perspective (the worst of its
-- metrics' green/amber/red, else no_data) and the overall status (the worst perspective).
-- Incremental like the long table: only the periods and cells in int_scorecard_periods_in_scope.
-- The metric columns, in the contract's order (_marts__models.yml):
{%- set metrics = [
    'interactions',
    'csat_pct',
    'nps',
    'nps_moe95',
    'ces_avg',
    'problematic_moment_pct',
    'first_response_avg_seconds',
    'abandonment_pct',
    'ivr_containment_pct',
    'avg_handle_seconds',
    'recontact_24h_pct',
    'fcr_pct',
    'escalation_pct',
    'assisted_conversion_pct',
    'influenced_revenue',
    'refund_pct',
    'data_completeness_pct',
    'survey_response_rate_pct',
    'survey_linkage_pct',
    'customer_sentiment_avg',
    'negative_sentiment_pct',
    'sentiment_coverage_pct',
    'followup_rate_pct',
    'followup_within_sla_pct',
] %}
with scorecard as (

    select * from {{ ref('touchpoint_scorecard') }} as s
    {% if is_incremental() %}
    where {{ in_scorecard_scope(ref('int_scorecard_periods_in_scope'), 's.period_grain', 's.period_start', 's.touchpoint_id', 's.segment') }}
    {% endif %}

),

pivoted as (

    select
        touchpoint_id,
        touchpoint_name,
        channel,
        moment_of_truth,
        period_grain,
        period_start,
        period_end,
        segment,
        {%- for metric in metrics %}
        max(case when metric = '{{ metric }}' then value end) as {{ metric }},
        {%- endfor %}
        {{ worst_status("case when perspective = 'customer' then status end") }} as customer_status,
        {{ worst_status("case when perspective = 'operations' then status end") }} as operations_status,
        {{ worst_status("case when perspective = 'financial' then status end") }} as financial_status,
        {{ worst_status("case when perspective = 'data_quality' then status end") }} as data_quality_status,
        {{ worst_status('status') }} as overall_status
    from scorecard
    group by 1, 2, 3, 4, 5, 6, 7, 8

),

final as (

    select
        cast(touchpoint_id as text) as touchpoint_id,
        cast(touchpoint_name as text) as touchpoint_name,
        cast(channel as text) as channel,
        cast(moment_of_truth as text) as moment_of_truth,
        cast(period_grain as text) as period_grain,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        cast(segment as text) as segment,
        {%- for metric in metrics %}
        cast({{ metric }} as numeric) as {{ metric }},
        {%- endfor %}
        cast(customer_status as text) as customer_status,
        cast(operations_status as text) as operations_status,
        cast(financial_status as text) as financial_status,
        cast(data_quality_status as text) as data_quality_status,
        cast(overall_status as text) as overall_status,
        cast(now() as timestamptz) as built_at
    from pivoted

)

select * from final
