{% macro record_build_state(model_name, marks_relation, hash_column='config_hash', upstream=[]) -%}
    {#- Post-hook of an incremental model: remember the load batch, fact change time and
        configuration hash it now reflects. With `upstream` (incremental models it reads),
        the batch recorded is never ahead of theirs: a model built on stale upstream tables
        (a partial `--select`) reprocesses those batches next time. -#}
    insert into {{ source('build_state', 'cx_build_state') }} as s
        (model, last_batch_id, last_changed_at, config_hash, updated_at)
    select
        '{{ model_name }}',
        {%- if upstream %}
        least(m.max_batch_id, (
            select case when count(*) = {{ upstream | length }} then min(u.last_batch_id) end
            from {{ source('build_state', 'cx_build_state') }} as u
            where u.model in ('{{ upstream | join("', '") }}')
        )),
        {%- else %}
        m.max_batch_id,
        {%- endif %}
        m.max_changed_at,
        m.{{ hash_column }},
        now()
    from {{ marks_relation }} as m
    on conflict (model) do update set
        last_batch_id = excluded.last_batch_id,
        last_changed_at = coalesce(excluded.last_changed_at, s.last_changed_at),
        config_hash = excluded.config_hash,
        updated_at = excluded.updated_at
{%- endmacro %}
