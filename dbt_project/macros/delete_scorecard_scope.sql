{% macro delete_scorecard_scope(scope_relation) -%}
    {#- Pre-hook of an incremental scorecard table: delete the periods about to be rebuilt. -#}
    {%- if is_incremental() -%}
    delete from {{ this }} as t
    using {{ scope_relation }} as s
    where t.period_grain = s.period_grain and t.period_start = s.period_start
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
