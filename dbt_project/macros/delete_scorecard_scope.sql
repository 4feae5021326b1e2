{% macro delete_scorecard_scope(scope_relation, cells=true) -%}
    {#- Pre-hook of an incremental scorecard table: delete what is about to be rebuilt. With
        `cells` (a table keyed by touchpoint and segment), the whole periods in scope and
        the cells in scope (macro in_scorecard_scope); without (touchpoint_transitions),
        every period the scope names. -#}
    {%- if is_incremental() -%}
    delete from {{ this }} as t
    where {% if cells -%}
        {{ in_scorecard_scope(scope_relation, 't.period_grain', 't.period_start', 't.touchpoint_id', 't.segment') }}
    {%- else -%}
        (t.period_grain, t.period_start) in (
            select s.period_grain, s.period_start from {{ scope_relation }} as s
        )
    {%- endif %}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
