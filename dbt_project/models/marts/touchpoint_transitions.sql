{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        contract={'enforced': true},
        indexes=[{'columns': ['period_grain', 'period_start', 'from_touchpoint_id', 'to_touchpoint_id'], 'unique': True}],
        pre_hook=["{{ delete_scorecard_scope(ref('int_scorecard_periods_in_scope'), cells=false) }}"],
        post_hook=["{{ record_build_state(this.name, ref('int_scorecard_build_marks')) }}"],
    )
}}
-- depends_on: {{ ref('int_scorecard_periods_in_scope') }}
-- depends_on: {{ ref('int_scorecard_build_marks') }}
{% set since = scope_start(ref('int_scorecard_periods_in_scope')) if is_incremental() else none %}

-- Touchpoint-to-touchpoint hand-overs (scorecard.md): an interaction of a known customer
-- whose next interaction (same customer, next started_at, ties by interaction_id) starts
-- within 24 hours; grain: the first interaction's period. Incremental like the scorecard:
-- only the periods in int_scorecard_periods_in_scope, from the interactions that start in or
-- after the earliest of them (the next interaction is always later).
with interactions as (

    select * from {{ ref('fct_interactions') }}
    where customer_id is not null and started_at is not null
    {% if is_incremental() %}
        and {% if since is none %}false{% else %}started_at >= {{ since }}{% endif %}
    {% endif %}

),

sequenced as (

    select
        touchpoint_id as from_touchpoint_id,
        started_at,
        lead(touchpoint_id) over customer_timeline as to_touchpoint_id,
        lead(started_at) over customer_timeline as next_started_at,
        lead(moment_class) over customer_timeline as next_moment_class
    from interactions
    window customer_timeline as (
        partition by {{ bytewise('customer_id') }} order by started_at, interaction_id
    )

),

transitions as (

    select *
    from sequenced
    where next_started_at is not null
        and next_started_at <= started_at + interval '{{ var("recontact_window_hours") }} hours'

),

grains as (

    select 'day' as period_grain
    union all select 'week'
    union all select 'month'

),

bucketed as (

    select
        grains.period_grain,
        {{ period_start('grains.period_grain', 'transitions.started_at') }} as period_start,
        transitions.*
    from transitions
    cross join grains
    {% if is_incremental() %}
    where exists (
        select 1 from {{ ref('int_scorecard_periods_in_scope') }} as scope
        where scope.period_grain = grains.period_grain
            and scope.period_start = {{ period_start('grains.period_grain', 'transitions.started_at') }}
    )
    {% endif %}

),

final as (

    select
        cast(period_grain as text) as period_grain,
        cast(period_start as date) as period_start,
        cast({{ period_end('period_grain', 'period_start') }} as date) as period_end,
        cast(from_touchpoint_id as text) as from_touchpoint_id,
        cast(to_touchpoint_id as text) as to_touchpoint_id,
        cast(count(*) as bigint) as transitions,
        cast(avg(extract(epoch from (next_started_at - started_at)) / 60) as numeric)
            as avg_gap_minutes,
        cast(
            100 * cast(sum(case when next_moment_class = 'problematic' then 1 else 0 end) as numeric)
            / count(*) as numeric
        ) as problematic_after_pct,
        cast(now() as timestamptz) as built_at
    from bucketed
    group by period_grain, period_start, from_touchpoint_id, to_touchpoint_id

)

select * from final
