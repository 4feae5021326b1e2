{% macro changed_batch_id() -%}
    {#- The _changed_batch_id of a row an incremental model writes in this build: the build's
        watermark (the highest safe load batch, stg_meta__build_marks), -1 before any load.
        Downstream models read the rows changed since their own watermark by it
        (docs/incremental.md). -#}
    coalesce((select max_batch_id from {{ ref('stg_meta__build_marks') }}), -1)
{%- endmacro %}
