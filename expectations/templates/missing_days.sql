-- cxscore: scope days
-- Missing days: a day (business time zone ${business_timezone}) with no ${column} at all,
-- between the first day of data and the newest, within the last ${volume_days} + 28 days.
-- One row per missing day. The batch: the table's day counts of ${column} (day, n, newest;
-- docs/quality.md, "Day counts"): a day is present when it has a count.
with present as (
    select day from {batch} where n > 0
),
bounds as (
    select min(day) as first_day, max(day) as newest_day from present
)
select g::date as day, 'no rows on ' || to_char(g, 'YYYY-MM-DD Dy') as observed
from bounds,
     generate_series(greatest(first_day, newest_day - (${volume_days} + 28))::timestamp,
                     newest_day::timestamp, interval '1 day') as g
where g::date not in (select day from present)
order by 1
