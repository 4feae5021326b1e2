{% macro period_start(grain, ts) -%}
    {#- First day (a date, business timezone) of the day / ISO week / month holding ts.
        grain is a SQL expression yielding 'day', 'week' or 'month'. -#}
    (case {{ grain }}
        when 'day' then cast({{ to_business_time(ts) }} as date)
        when 'week' then cast({{ dbt.date_trunc('week', to_business_time(ts)) }} as date)
        when 'month' then cast({{ dbt.date_trunc('month', to_business_time(ts)) }} as date)
    end)
{%- endmacro %}
