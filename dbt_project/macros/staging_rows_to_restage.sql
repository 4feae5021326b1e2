{% macro staging_rows_to_restage(source_relation, raw_key, staged_key, state, from_files=false, newest_batch_wins=false, row_id=none) -%}
    {#- The raw rows an incremental staging table (re)computes: on a full build every row;
        else every stored version of each record that has a row in a load batch after
        state.batch_after, plus (file sources) each record whose staged version came from a
        file that was loaded again since (a changed file replaces its rows). Reads the raw
        key and batch indexes.
        newest_batch_wins: the record's latest version is decided by _batch_id first, so a
        row of a new batch outranks every older version: the new batches' rows suffice
        (older versions are read only for records staged from a reloaded file). Survey
        exports overlap (a response comes again in later files), so this keeps a day's
        build from re-reading about five stored versions of each response it touches.
        row_id: also select each row's physical id (PostgreSQL `ctid`) under this name. -#}
    {%- set all = ('ctid as ' ~ row_id ~ ', *') if row_id else '*' -%}
    {%- if state.full %}
    select {{ all }} from {{ source_relation }}
    {%- elif newest_batch_wins %}
    select {{ all }} from {{ source_relation }} where _batch_id > {{ state.batch_after }}
    {%- if from_files %}
    union all
    select {{ all }} from {{ source_relation }}
    where _batch_id <= {{ state.batch_after }} and {{ raw_key }} in (
        {{ _staged_from_reloaded_files(staged_key, state) }}
    )
    {%- endif %}
    {%- else %}
    select {{ all }} from {{ source_relation }}
    where {{ raw_key }} in (
        select {{ raw_key }} from {{ source_relation }} where _batch_id > {{ state.batch_after }}
        {%- if from_files %}
        union
        {{ _staged_from_reloaded_files(staged_key, state) }}
        {%- endif %}
    )
    {%- endif %}
{%- endmacro %}


{% macro _staged_from_reloaded_files(staged_key, state) -%}
    select {{ staged_key }} from {{ this }}
    where _source_file in (
        select path from {{ source('meta', 'loaded_files') }}
        where batch_id > {{ state.batch_after }}
    )
{%- endmacro %}


{% macro staging_latest_versions(source_relation, raw_key, order_by, staged_key=none, from_files=false, key_present=none, decompress_payload=false) -%}
    {#- Step 1 of the incremental framework (docs/incremental.md) for a record staging
        table: the raw rows this build re-stages (staging_rows_to_restage, from this model's
        build state), one row per record: the first in `order_by` order (the latest
        version). `key_present` is the condition a usable key meets (default: not null). An
        `order_by` that starts with `_batch_id desc` reads only the new batches' rows (see
        staging_rows_to_restage, newest_batch_wins).
        PostgreSQL: the versions are ranked on narrow rows (the physical row id, the key and
        the `order_by` columns: `distinct on`), and only the winning rows are then read whole,
        by row id (a TID scan, in physical order). Sorting the whole rows instead (a raw
        record is a JSON document of 1-2 KB) made a full staging of 2.4 M survey rows read
        every heap page once per version through the key index and merge 2.6 GB of sorted
        rows in one process: 16.4 -> 4.7 s (docs/performance.md, "Staging picks versions on
        narrow rows"). Another adapter overrides this macro with a row_number() filter. -#}
    {%- set state = incremental_state([this.name], ref('stg_meta__build_marks'), 'staging_hash') -%}
    {#- decompress_payload: the raw record is JSONB, stored compressed when it is large (a
        Connect CTR: about 2 KB), and every `payload #>> ...` of the staging select would
        decompress it again (41 per CTR). With this flag the chosen rows carry it
        decompressed once, behind an optimisation fence (offset 0), so the field
        extractions read one in-memory value: the full staging of 385,000 CTRs 18 -> 7 s.
        Only for sources whose records are large and read field by field: for the small
        records of the other sources the copy cost more than it saved (docs/performance.md,
        "Compressed JSON"). -#}
    {%- set columns = adapter.get_columns_in_relation(source_relation) if execute and decompress_payload else [] -%}
    {%- set names = columns | map(attribute='name') | list -%}
    {%- if 'payload' in names %}
    select
        {%- for name in names if name != 'payload' %}
        chosen.{{ adapter.quote(name) }},
        {%- endfor %}
        {{ decompressed_json('chosen.payload') }} as payload
    from (
    {%- endif %}
    select * from {{ source_relation }}
    where ctid = any(array(
        select distinct on ({{ raw_key }}) _raw_row
        from (
            {{ staging_rows_to_restage(source_relation, raw_key, staged_key or raw_key, state, from_files, newest_batch_wins=order_by.strip().startswith('_batch_id desc'), row_id='_raw_row') }}
        ) as restaged
        where {{ key_present or (raw_key ~ ' is not null') }}
        order by {{ raw_key }}, {{ order_by }}
    ))
    {%- if 'payload' in names %}
    ) as chosen
    offset 0
    {%- endif %}
{%- endmacro %}


{% macro decompressed_json(expr) -%}
    {#- The JSONB value as a new in-memory copy (PostgreSQL: concatenation with an empty
        object), so that later field accesses do not decompress the stored one again. -#}
    ({{ expr }} || '{}'::jsonb)
{%- endmacro %}
