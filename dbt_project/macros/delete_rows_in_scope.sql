{% macro delete_rows_in_scope(scope_relation, key, marks_relation) -%}
    {#- Pre-hook of an incremental model rebuilt "by scope" (append strategy): remove the rows
        about to be recomputed, i.e. the keys listed in `scope_relation`, or every row when
        this build must recompute everything (macro incremental_state). A key that no longer
        exists upstream is removed and not inserted again. -#}
    {%- if is_incremental() -%}
        {%- set state = incremental_state([this.name], marks_relation) -%}
        {%- if state.full -%}
    delete from {{ this }}
        {%- else -%}
    delete from {{ this }} as t
    using {{ scope_relation }} as s
    where t.{{ key }} = s.{{ key }}
        {%- endif -%}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
