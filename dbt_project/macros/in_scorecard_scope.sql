{% macro in_scorecard_scope(scope_relation, grain, start, touchpoint, segment) -%}
    {#- A predicate: the scorecard row (grain, start, touchpoint, segment) is rebuilt by this
        run: its period is in int_scorecard_periods_in_scope whole, or its cell is (rows
        for touchpoint_transitions only do not count). Two uncorrelated IN lists, which
        PostgreSQL hashes. -#}
    (({{ grain }}, {{ start }}) in (
        select s.period_grain, s.period_start from {{ scope_relation }} as s
        where s.touchpoint_id is null and not s.transitions_only
    )
    or ({{ grain }}, {{ start }}, {{ touchpoint }}, {{ segment }}) in (
        select s.period_grain, s.period_start, s.touchpoint_id, s.segment
        from {{ scope_relation }} as s
        where s.touchpoint_id is not null
    ))
{%- endmacro %}
