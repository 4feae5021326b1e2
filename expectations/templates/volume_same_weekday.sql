-- cxscore: scope days
-- Volume against the same weekday of the previous four weeks. Judges each complete day
-- (business time zone ${business_timezone}) among the ${volume_days} days before the day of
-- the newest ${column}; a day fails when its count is below ${volume_factor} x the mean of
-- the same weekday 7/14/21/28 days earlier, or above that mean / ${volume_factor}. Days
-- without four full weeks of history before them, or whose mean is below
-- ${volume_min_baseline} rows (small counts are noise), are not judged. One row per failing day.
-- The batch: the table's day counts of ${column} (day, n, newest; docs/quality.md, "Day
-- counts"), kept up to date from each new load batch: no pass over the rows.
with counts as (
    select day, n from {batch} as counted
),
bounds as (
    select min(day) as first_day, max(day) as newest_day from counts
),
days as (
    select g::date as day
    from bounds,
         generate_series((newest_day - ${volume_days})::timestamp,
                         (newest_day - 1)::timestamp, interval '1 day') as g
    where g::date - 28 >= first_day
),
judged as (
    select d.day,
           coalesce(c.n, 0) as n,
           (select avg(coalesce(p.n, 0))
              from generate_series(1, 4) as w
              left join counts p on p.day = d.day - 7 * w) as baseline
    from days d
    left join counts c on c.day = d.day
)
select day, n, baseline,
       to_char(day, 'YYYY-MM-DD Dy') || ': ' || n || ' rows vs ' || round(baseline, 1)
         || ' (mean of the same weekday, previous 4 weeks)' as observed
from judged
where baseline > 0 and baseline >= ${volume_min_baseline}
  and (n < ${volume_factor} * baseline or n > baseline / ${volume_factor})
order by day
