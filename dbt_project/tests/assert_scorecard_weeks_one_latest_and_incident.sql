-- scorecard_weeks: at most one latest complete week and at most one incident week, a
-- latest complete week whenever there are weeks, and an incident week is a complete week.
select 'latest' as rule, count(*) as weeks
from {{ ref('scorecard_weeks') }}
where is_latest_complete
having count(*) > 1

union all

select 'incident' as rule, count(*) as weeks
from {{ ref('scorecard_weeks') }}
where is_incident
having count(*) > 1

union all

select 'no latest' as rule, count(*) as weeks
from {{ ref('scorecard_weeks') }}
having count(*) > 0 and sum(case when is_latest_complete then 1 else 0 end) = 0

union all

select 'incomplete incident' as rule, count(*) as weeks
from {{ ref('scorecard_weeks') }}
where is_incident and not is_complete
having count(*) > 0
