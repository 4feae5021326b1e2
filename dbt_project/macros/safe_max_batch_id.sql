{% macro safe_max_batch_id(batch_ids_relation, load_batches_relation) -%}
    {#- The highest load batch id that is safe to call "seen": the greatest batch id present,
        but below any batch still running (batch ids are allocated when a load starts, so a
        running lower batch may still commit rows). -#}
    (select least(
        (select max(_batch_id) from {{ batch_ids_relation }}),
        (select min(batch_id) - 1 from {{ load_batches_relation }} where status = 'running')
    ))
{%- endmacro %}
