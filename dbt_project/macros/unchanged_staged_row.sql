{% macro unchanged_staged_row(row_alias, key, lineage_columns=['_batch_id', '_source_file', '_changed_batch_id']) -%}
    {#- For the final select of an incremental staging table fed by files: true when the row
        just re-staged for `key` equals the row already staged for it in every column but the
        lineage (`lineage_columns`: which raw row and build it came from), so the build leaves
        that staged row as it is. A survey export repeats the responses of the export before it
        (a daily export of the last 8 days holds each response about eight times: at 100,000
        customers x 90 days, 29,962 rows a day for some 3,700 new responses): without this,
        every repeat was deleted and inserted again, and stamped as changed (_changed_batch_id),
        which put its response, and the interaction it links, in the scope of every later
        layer (docs/incremental.md, step 1).
        The staged row keeps the lineage of the first file that held that version, where a full
        refresh names the last one; no mart reads the lineage. A row staged from a file that
        was loaded again since this table's last build is always written again: the file's
        rows moved to a new batch, and the post-hook delete_rows_of_reloaded_files removes the
        staged rows left with the old one. Never on a full recompute (state.full). -#}
    {%- set state = incremental_state([this.name], ref('stg_meta__build_marks'), 'staging_hash') -%}
    {%- if not is_incremental() or state.full -%}
    false
    {%- else -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | reject('in', lineage_columns) | list if execute else [key] -%}
    exists (
        select 1 from {{ this }} as staged
        where staged.{{ key }} = {{ row_alias }}.{{ key }}
            and ({% for c in columns %}staged.{{ adapter.quote(c) }}{{ ', ' if not loop.last }}{% endfor %})
                is not distinct from
                ({% for c in columns %}{{ row_alias }}.{{ adapter.quote(c) }}{{ ', ' if not loop.last }}{% endfor %})
            and staged._source_file not in (
                select path from {{ source('meta', 'loaded_files') }}
                where batch_id > {{ state.batch_after }}
            )
    )
    {%- endif -%}
{%- endmacro %}
