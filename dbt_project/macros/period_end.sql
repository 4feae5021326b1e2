{% macro period_end(grain, start) -%}
    {#- Exclusive end date of the period of that grain starting on the date `start`. -#}
    (case {{ grain }}
        when 'day' then cast({{ dbt.dateadd('day', 1, start) }} as date)
        when 'week' then cast({{ dbt.dateadd('day', 7, start) }} as date)
        when 'month' then cast({{ dbt.dateadd('month', 1, start) }} as date)
    end)
{%- endmacro %}
