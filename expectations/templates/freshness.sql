-- Freshness: fails (one row) when the newest ${column} is older than ${freshness_hours} h
-- before now, or the table is empty. Judged on the wall clock: keep it a warning so that
-- a backfill of old data is not blocked.
select max(${column}) as newest,
       'newest ${column} ' || coalesce(to_char(max(${column}) at time zone 'UTC',
         'YYYY-MM-DD HH24:MI') || ' UTC', 'none (empty table)') as observed
from {batch}
having max(${column}) is null
    or max(${column}) < now() - interval '${freshness_hours} hours'
