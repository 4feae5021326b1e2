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
        post_hook=["{{ record_build_state(this.name, ref('int_scorecard_build_marks')) }}"],
    )
}}
-- depends_on: {{ ref('int_scorecard_periods_in_scope') }}
-- depends_on: {{ ref('int_scorecard_build_marks') }}

-- The touchpoint balanced scorecard, long form (scorecard.md): one row per touchpoint,
-- period grain, period, segment and metric, with target, status, owner, prior period value
-- and significance. An incremental run deletes (pre-hook) and rebuilds only the periods and
-- cells (touchpoint and segment of a period) in int_scorecard_periods_in_scope; their metric
-- values and prior values are recomputed from the stored aggregates, so each rebuilt row is
-- exactly what a full refresh gives. Constant period bounds (read from the scope at run
-- time) let PostgreSQL aggregate only recent periods.
with

{% set period_bounds = {} %}
{% if is_incremental() and execute %}
    {% set bounds_sql %}
        select period_grain, cast(min({{ period_before('period_grain', 'period_start') }}) as text)
        from {{ ref('int_scorecard_periods_in_scope') }}
        group by period_grain
    {% endset %}
    {% for row in run_query(bounds_sql) %}
        {% do period_bounds.update({row[0]: row[1]}) %}
    {% endfor %}
{% endif %}

{% set scope_relation = ref('int_scorecard_periods_in_scope') %}
metric_values as (

    -- incremental: the rows in scope and the row before each (its prior value)
    select * from {{ ref('int_scorecard_metric_values') }} as m
    {% if is_incremental() %}
    where ({{ in_scorecard_scope(scope_relation, 'm.period_grain', 'm.period_start', 'm.touchpoint_id', 'm.segment') }}
        or {{ in_scorecard_scope(scope_relation, 'm.period_grain', period_end('m.period_grain', 'm.period_start'), 'm.touchpoint_id', 'm.segment') }})
    and (
        {% for grain in ['day', 'week', 'month'] %}
        {% if grain in period_bounds %}
        (period_grain = '{{ grain }}' and period_start >= cast('{{ period_bounds[grain] }}' as date))
        {% else %}
        false
        {% endif %}
        {% if not loop.last %} or {% endif %}
        {% endfor %}
    )
    {% endif %}

),

targets as (

    select * from {{ ref('scorecard_targets') }}

),

lagged as (

    -- the previous row of the same touchpoint, grain, segment and metric; it is the prior
    -- period only when it starts exactly one period earlier (incremental: every row in
    -- scope has its prior period's row, if there is one, among metric_values)
    select
        metric_values.*,
        lag(period_start) over same_series as previous_start,
        lag(value) over same_series as previous_value,
        lag(standard_error) over same_series as previous_standard_error
    from metric_values
    window same_series as (
        partition by touchpoint_id, period_grain, segment, metric
        order by period_start
    )

),

with_prior as (

    select
        lagged.*,
        case when previous_start = {{ period_before('period_grain', 'period_start') }}
            then previous_value end as prior_value,
        case when previous_start = {{ period_before('period_grain', 'period_start') }}
            then previous_standard_error end as prior_standard_error
    from lagged
    {% if is_incremental() %}
    where {{ in_scorecard_scope(scope_relation, 'lagged.period_grain', 'lagged.period_start', 'lagged.touchpoint_id', 'lagged.segment') }}
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
