{% macro log_removed_records(scope_relation, key, marks_relation) -%}
    {#- Post-hook of a model rebuilt by scope: log in intermediate.cx_removed_records the keys
        of the scope that are gone after the rebuild (a deleted ticket, a contact of a
        replaced file), with the build's batch watermark; the next layer reads the log
        instead of comparing whole tables. -#}
    {%- if is_incremental() -%}
    insert into {{ source('build_state', 'cx_removed_records') }} (model, key, batch_id)
    select '{{ this.name }}', cast(s.{{ key }} as text), coalesce(m.max_batch_id, -1)
    from {{ scope_relation }} as s
    cross join {{ marks_relation }} as m
    where not exists (select 1 from {{ this }} as t where t.{{ key }} = s.{{ key }})
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
