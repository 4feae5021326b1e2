{% macro scorecard_scope_consumers() -%}
    {#- The incremental models rebuilt from int_scorecard_periods_in_scope: the scope starts
        from what the least of them reflects (intermediate.cx_build_state). -#}
    {{ return(['int_scorecard_day_aggregates', 'touchpoint_scorecard', 'touchpoint_scorecard_wide', 'touchpoint_transitions']) }}
{%- endmacro %}
