{% macro record_build_state(model_name, marks_relation) -%}
    {#- Post-hook of an incremental consumer: remember what it now reflects. -#}
    insert into intermediate.cx_build_state as s
        (model, last_batch_id, last_changed_at, config_hash, updated_at)
    select '{{ model_name }}', m.max_batch_id, m.max_changed_at, m.config_hash, now()
    from {{ marks_relation }} as m
    on conflict (model) do update set
        last_batch_id = coalesce(excluded.last_batch_id, s.last_batch_id),
        last_changed_at = coalesce(excluded.last_changed_at, s.last_changed_at),
        config_hash = excluded.config_hash,
        updated_at = excluded.updated_at
{%- endmacro %}
