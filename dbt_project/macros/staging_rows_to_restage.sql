{% macro staging_rows_to_restage(source_relation, raw_key, staged_key, state, from_files=false) -%}
    {#- The raw rows an incremental staging table (re)computes: on a full build every row;
        else every stored version of each record that has a row in a load batch after
        state.batch_after, plus (file sources) each record whose staged version came from a
        file that was loaded again since (a changed file replaces its rows). Reads the raw
        key and batch indexes. -#}
    select * from {{ source_relation }}
    {%- if not state.full %}
    where {{ raw_key }} in (
        select {{ raw_key }} from {{ source_relation }} where _batch_id > {{ state.batch_after }}
        {%- if from_files %}
        union
        select {{ staged_key }} from {{ this }}
        where _source_file in (
            select path from {{ source('meta', 'loaded_files') }}
            where batch_id > {{ state.batch_after }}
        )
        {%- endif %}
    )
    {%- endif %}
{%- endmacro %}
