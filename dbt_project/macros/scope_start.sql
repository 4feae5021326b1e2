{% macro scope_start(scope_relation, grain=none) -%}
    {#- Read at execute time: the instant (a timestamptz SQL expression) where the earliest
        period of a scorecard scope (optionally of one grain) starts in the business
        timezone, or none when the scope is empty. A constant, so that a filter
        `started_at >= <it>` uses the index. -#}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set sql -%}
        select cast(min(period_start) as text) from {{ scope_relation }}
        {%- if grain %} where period_grain = '{{ grain }}'{% endif %}
    {%- endset -%}
    {%- set value = run_query(sql).rows[0][0] -%}
    {%- if value is none -%}{{ return(none) }}{%- endif -%}
    {{ return("cast(cast('" ~ value ~ "' as timestamp) at time zone '"
        ~ var('business_timezone') ~ "' as timestamptz)") }}
{%- endmacro %}
