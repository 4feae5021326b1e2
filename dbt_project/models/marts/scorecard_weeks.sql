{{ config(materialized='table', contract={'enforced': true}) }}

-- The weeks of the scorecard (segment all, ISO week grain) with the two week rules of the
-- scorecard page (cxscore report, docs/scorecard.md "The report"):
--
-- complete week: every week is complete except
--   1. the last week when it has under 60 % of the previous week's interactions (the week
--      is still running), and then
--   2. the first week when it has under 60 % of the second week's interactions (the data
--      starts mid-week), checked only when at least two weeks are left after rule 1.
--   Interactions = the sum of the `interactions` metric over the touchpoints (0 without).
--
-- incident week: among the complete weeks, the one with the most red metric cells (ties:
--   the latest), and only when it has more than the upper median of the complete weeks'
--   red cells (with n complete weeks sorted ascending, the one at 0-based position n / 2,
--   rounded down).
--
-- Rebuilt whole on every build from the scorecard (a row per week), so a full refresh and
-- incremental builds give the same table.
with scorecard as (

    select period_start, metric, value, status
    from {{ ref('touchpoint_scorecard') }}
    where period_grain = 'week' and segment = 'all'

),

weeks as (

    select
        period_start,
        coalesce(sum(case when metric = 'interactions' then value end), 0) as interactions,
        sum(case when status = 'red' then 1 else 0 end) as red_metrics
    from scorecard
    group by period_start

),

ordered as (

    select
        period_start,
        interactions,
        red_metrics,
        lag(interactions) over (order by period_start) as previous_interactions,
        lead(interactions) over (order by period_start) as next_interactions,
        row_number() over (order by period_start) as week_number,
        count(*) over () as week_count
    from weeks

),

trailing_rule as (

    select
        ordered.*,
        max(
            case
                when week_number = week_count
                    and week_count >= 2
                    and interactions < 0.6 * previous_interactions
                then 1 else 0
            end
        ) over () as trailing_dropped
    from ordered

),

completeness as (

    select
        trailing_rule.*,
        case
            when week_number = week_count and trailing_dropped = 1 then 0
            when week_number = 1
                and week_count - trailing_dropped >= 2
                and interactions < 0.6 * next_interactions
            then 0
            else 1
        end as complete_flag
    from trailing_rule

),

complete_weeks as (

    select
        period_start,
        red_metrics,
        row_number() over (order by red_metrics desc, period_start desc) as red_rank,
        row_number() over (order by red_metrics, period_start) as red_position,
        row_number() over (order by period_start desc) as recency,
        count(*) over () as complete_count
    from completeness
    where complete_flag = 1

),

upper_median as (

    -- the red cells at 0-based position floor(n / 2) of the ascending order:
    -- 2 (position - 1) <= n < 2 position, in integers
    select max(red_metrics) as median_red_metrics
    from complete_weeks
    where 2 * (red_position - 1) <= complete_count and complete_count < 2 * red_position

),

final as (

    select
        cast(w.period_start as date) as period_start,
        cast(w.interactions as numeric) as interactions,
        cast(w.red_metrics as integer) as red_metrics,
        cast(w.complete_flag = 1 as boolean) as is_complete,
        cast(coalesce(c.recency = 1, false) as boolean) as is_latest_complete,
        cast(c.red_rank as integer) as red_rank,
        cast(coalesce(c.red_rank = 1 and w.red_metrics > m.median_red_metrics, false) as boolean)
            as is_incident,
        cast(coalesce(m.median_red_metrics, 0) as integer) as median_red_metrics
    from completeness as w
    left join complete_weeks as c on c.period_start = w.period_start
    cross join upper_median as m

)

select * from final
