{% macro delete_rows_of_reloaded_files(key, marks_relation, hash_column='staging_hash') -%}
    {#- Post-hook of an incremental staging table fed by files: a record whose every raw row
        went away with a replaced file keeps its old staged row (delete+insert only replaces
        the keys it recomputed); such a row names a file loaded again after the batch this
        table last reflected, and an older batch. The removed keys are logged in
        intermediate.cx_removed_records for the fact layer. -#}
    {%- set state = incremental_state([this.name], marks_relation, hash_column) -%}
    {%- if is_incremental() and not state.full -%}
    with gone as (
        delete from {{ this }}
        where _batch_id <= {{ state.batch_after }}
            and _source_file in (
                select path from {{ source('meta', 'loaded_files') }}
                where batch_id > {{ state.batch_after }}
            )
        returning {{ key }} as key
    )
    insert into {{ source('build_state', 'cx_removed_records') }} (model, key, batch_id)
    select '{{ this.name }}', cast(gone.key as text), coalesce(m.max_batch_id, -1)
    from gone cross join {{ marks_relation }} as m
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
