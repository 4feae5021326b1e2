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


{% macro staging_latest_versions(source_relation, raw_key, order_by, staged_key=none, from_files=false, key_present=none) -%}
    {#- Step 1 of the incremental framework (docs/incremental.md) for a record staging
        table: the raw rows this build re-stages (staging_rows_to_restage, from this model's
        build state), one row per record: the first in `order_by` order (the latest
        version). `distinct on` gives the planner a good row estimate, unlike a ranking
        filter (PostgreSQL; another adapter overrides this macro with a row_number()
        filter). `key_present` is the condition a usable key meets (default: not null). -#}
    {%- set state = incremental_state([this.name], ref('stg_meta__build_marks'), 'staging_hash') -%}
    select distinct on ({{ raw_key }}) *
    from (
        {{ staging_rows_to_restage(source_relation, raw_key, staged_key or raw_key, state, from_files) }}
    ) as restaged
    where {{ key_present or (raw_key ~ ' is not null') }}
    order by {{ raw_key }}, {{ order_by }}
{%- endmacro %}
