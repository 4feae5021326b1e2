-- cxscore: scope days
-- Freshness: fails (one row) when the newest ${column} is older than ${freshness_hours} h
-- before now, or the table is empty. Judged on the wall clock: keep it a warning so that
-- a backfill of old data is not blocked. The batch: the table's day counts of ${column} (day,
-- n, newest; docs/quality.md, "Day counts"), not its rows.
select max(newest) as newest,
       'newest ${column} ' || coalesce(to_char(max(newest) at time zone 'UTC',
         'YYYY-MM-DD HH24:MI') || ' UTC', 'none (empty table)') as observed
from {batch}
having max(newest) is null
    or max(newest) < now() - interval '${freshness_hours} hours'
