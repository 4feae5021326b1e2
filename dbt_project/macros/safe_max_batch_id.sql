{% macro safe_max_batch_id(load_batches_relation) -%}
    {#- The highest load batch id that is safe to call "seen": the greatest batch id present
        in the raw tables of reflected_raw_tables(), but below any batch still running (batch
        ids are allocated when a load starts, so a running lower batch may still commit
        rows). One max() per table: each is read from the end of its _batch_id index (a
        max() over their union scans every raw row). -#}
    (select least(
        (select max(per_table.max_batch_id) from (
            {%- for table in reflected_raw_tables() %}
            select max(_batch_id) as max_batch_id from {{ source('raw', table) }}
            {%- if not loop.last %} union all{% endif %}
            {%- endfor %}
        ) as per_table),
        (select min(batch_id) - 1 from {{ load_batches_relation }} where status = 'running')
    ))
{%- endmacro %}
