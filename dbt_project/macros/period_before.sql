{% macro period_before(grain, start) -%}
    {#- Start date of the period preceding the one starting on `start`. -#}
    (case {{ grain }}
        when 'day' then cast({{ dbt.dateadd('day', -1, start) }} as date)
        when 'week' then cast({{ dbt.dateadd('day', -7, start) }} as date)
        when 'month' then cast({{ dbt.dateadd('month', -1, start) }} as date)
    end)
{%- endmacro %}
