{{ config(materialized='table', contract={'enforced': true}) }}

-- The top 20 pain points of the last complete week and month (signals.md, "Pain points"):
-- the red and amber (touchpoint, metric) rows of segment `all`, ranked by
-- impact = sample_size * |value - target| / amber_band (relative_change metrics: the
-- relative change stands for value), with how many of the last 6 periods of the grain were
-- red or amber (periods_flagged: the frequency) and the human notes of the seed
-- pain_point_notes. Rebuilt whole on every build from the scorecard (small), so a full
-- refresh and incremental builds give the same table.
with scorecard as (

    select * from {{ ref('touchpoint_scorecard') }}
    where segment = 'all' and period_grain in ('week', 'month')

),

notes as (

    select * from {{ ref('pain_point_notes') }}

),

last_complete_periods as (

    select period_grain, max(period_start) as period_start
    from scorecard
    where period_end <= {{ business_today() }}
    group by period_grain

),

flagged_history as (

    -- the 6 periods of the grain ending with the last complete one
    select
        s.touchpoint_id,
        s.metric,
        s.period_grain,
        count(*) filter (where s.status in ('red', 'amber')) as periods_flagged
    from scorecard as s
    inner join last_complete_periods as l
        on l.period_grain = s.period_grain
        and s.period_start <= l.period_start
        and s.period_start > case s.period_grain
            when 'week' then cast({{ dbt.dateadd('day', -42, 'l.period_start') }} as date)
            else cast({{ dbt.dateadd('month', -6, 'l.period_start') }} as date)
        end
    group by s.touchpoint_id, s.metric, s.period_grain

),

candidates as (

    select
        s.*,
        case when s.target_type = 'relative_change'
            then 100 * (s.value - s.prior_value) / nullif(s.prior_value, 0)
            else s.value
        end as compared_value
    from scorecard as s
    inner join last_complete_periods as l
        on l.period_grain = s.period_grain and l.period_start = s.period_start
    where s.status in ('red', 'amber')

),

with_impact as (

    select
        candidates.*,
        {{ trim_numeric(
            'candidates.sample_size * abs(candidates.compared_value - candidates.target)'
            ~ ' / nullif(candidates.amber_band, 0)'
        ) }} as impact
    from candidates

),

ranked as (

    select
        with_impact.*,
        row_number() over (
            partition by period_grain
            order by impact desc nulls last, status desc, touchpoint_id, metric
        ) as pain_rank
    from with_impact

),

final as (

    select
        cast(r.period_grain as text) as period_grain,
        cast(r.period_start as date) as period_start,
        cast(r.period_end as date) as period_end,
        cast(r.pain_rank as integer) as rank,
        cast(r.touchpoint_id as text) as touchpoint_id,
        cast(r.touchpoint_name as text) as touchpoint_name,
        cast(r.moment_of_truth as text) as moment_of_truth,
        cast(r.channel as text) as channel,
        cast(r.perspective as text) as perspective,
        cast(r.metric as text) as metric,
        cast(r.value as numeric) as value,
        cast(r.target as numeric) as target,
        cast(r.amber_band as numeric) as amber_band,
        cast(r.direction as text) as direction,
        cast(r.target_type as text) as target_type,
        cast(r.status as text) as status,
        cast(r.owner as text) as owner,
        cast(r.sample_size as bigint) as sample_size,
        cast(r.impact as numeric) as impact,
        cast(coalesce(h.periods_flagged, 0) as integer) as periods_flagged,
        cast(r.prior_value as numeric) as prior_value,
        cast(r.change_vs_prior as numeric) as change_vs_prior,
        cast(n.description as text) as description,
        cast(n.user_goal as text) as user_goal,
        cast(n.solvability as integer) as solvability,
        cast(n.status as text) as note_status
    from ranked as r
    left join flagged_history as h
        on h.touchpoint_id = r.touchpoint_id
        and h.metric = r.metric
        and h.period_grain = r.period_grain
    left join notes as n
        on n.touchpoint_id = r.touchpoint_id and n.metric = r.metric
    where r.pain_rank <= 20

)

select * from final
