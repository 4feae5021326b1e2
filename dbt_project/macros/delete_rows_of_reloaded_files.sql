{% macro delete_rows_of_reloaded_files(marks_relation, hash_column='staging_hash') -%}
    {#- Post-hook of an incremental staging table fed by files: a record whose every raw row
        went away with a replaced file keeps its old staged row (delete+insert only replaces
        the keys it recomputed); such a row names a file loaded again after the batch this
        table last reflected, and an older batch. -#}
    {%- set state = incremental_state([this.name], marks_relation, hash_column) -%}
    {%- if is_incremental() and not state.full -%}
    delete from {{ this }}
    where _batch_id <= {{ state.batch_after }}
        and _source_file in (
            select path from {{ source('meta', 'loaded_files') }}
            where batch_id > {{ state.batch_after }}
        )
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
