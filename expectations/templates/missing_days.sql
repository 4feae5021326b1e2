-- Missing days: a day (business time zone ${business_timezone}) with no ${column} at all,
-- between the first day of data and the newest, within the last ${volume_days} + 28 days.
-- One row per missing day. One pass over the rows (the distinct days).
with present as (
    select distinct (${column} at time zone '${business_timezone}')::date as day
    from {batch}
    where ${column} is not null
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
