{% macro delete_vanished_facts(key, event_column, current_keys, scope_entity) -%}
    {#- Post-hook of an incremental fact: remove rows whose key no longer exists upstream (a
        ticket deleted in Zendesk, a record of a replaced file, ...) and log their key and
        event time in intermediate.cx_deleted_facts (the scorecard scope; the publish). Incremental runs look only
        at the keys of int_facts_in_scope (`scope_entity`), which lists every touched key. -#}
    {%- if is_incremental() -%}
    {%- set state = incremental_state([this.name], ref('stg_meta__build_marks')) -%}
    with gone as (
        delete from {{ this }} as t
        where not exists (select 1 from {{ current_keys }} as c where c.{{ key }} = t.{{ key }})
        {%- if not state.full %}
            and t.{{ key }} in (
                select s.key from {{ ref('int_facts_in_scope') }} as s
                where s.entity = '{{ scope_entity }}'
            )
        {%- endif %}
        returning t.{{ key }} as key, t.{{ event_column }} as event_at
    )
    insert into {{ source('build_state', 'cx_deleted_facts') }} (model, key, event_at, deleted_at)
    select '{{ this.identifier }}', cast(key as {{ dbt.type_string() }}), event_at, now() from gone
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
