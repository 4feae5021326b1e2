{% macro scope_start(scope_relation, grain=none, whole=false) -%}
    {#- Read at execute time: the instant (a timestamptz SQL expression) where the earliest
        period of a scorecard scope (optionally of one grain) starts in the business
        timezone, or none when the scope is empty. With `whole`, of the periods in scope
        whole only (no cell, not for transitions only). A constant, so that a filter
        `started_at >= <it>` uses the index. -#}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set sql -%}
        select cast(min(period_start) as text) from {{ scope_relation }}
        where true
        {%- if grain %} and period_grain = '{{ grain }}'{% endif %}
        {%- if whole %} and touchpoint_id is null and not transitions_only{% endif %}
    {%- endset -%}
    {%- set value = run_query(sql).rows[0][0] -%}
    {%- if value is none -%}{{ return(none) }}{%- endif -%}
    {{ return("cast(cast('" ~ value ~ "' as timestamp) at time zone '"
        ~ var('business_timezone') ~ "' as timestamptz)") }}
{%- endmacro %}
