{% macro delete_vanished_facts(key, event_column, current_keys) -%}
    {#- Post-hook of an incremental fact: remove rows whose key no longer exists upstream
        (a ticket deleted in Zendesk, ...) and log their event time for the scorecard scope. -#}
    {%- if is_incremental() -%}
    with gone as (
        delete from {{ this }} as t
        where not exists (select 1 from {{ current_keys }} as c where c.{{ key }} = t.{{ key }})
        returning t.{{ event_column }} as event_at
    )
    insert into intermediate.cx_deleted_facts (model, event_at, deleted_at)
    select '{{ this.identifier }}', event_at, now() from gone
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
