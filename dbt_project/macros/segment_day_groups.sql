{% macro segment_day_groups(periods, scope_relation) -%}
    {#- The measures of the call block, aggregated per touchpoint and day of the CTE
        `periods` once for segment `all` and once per segment, in one pass (grouping sets);
        on an incremental run only the (day, touchpoint, segment) groups in the scorecard's
        scope. A customer segment named `all` is counted in `all` once, not made a second
        `all` row. -#}
    select * from (
        select
            touchpoint_id,
            period_grain,
            period_start,
            case when grouping(segment) = 1 then 'all' else segment end as segment,
            {{ caller() }}
        from {{ periods }}
        group by grouping sets (
            (touchpoint_id, period_grain, period_start, segment),
            (touchpoint_id, period_grain, period_start)
        )
        having grouping(segment) = 1 or segment is distinct from 'all'
    ) as aggregated
    {% if is_incremental() %}
    where {{ in_scorecard_scope(scope_relation, "'day'", 'period_start', 'touchpoint_id', 'segment') }}
    {% endif %}
{%- endmacro %}
