{% macro incremental_state(model_names, marks_relation, hash_column='config_hash') -%}
    {#- How the models in `model_names` (one consumer or a group built from one scope) must
        be built in this run, read at execute time from intermediate.cx_build_state:
        {'full': true} on a full refresh, when a model's table or state row is missing, or
        when the configuration hash it was built with differs from the current one in
        `marks_relation` (stg_meta__build_marks); else {'full': false, 'batch_after': W}, W the
        lowest load batch every model already reflects. The value is returned as a constant so
        that PostgreSQL plans `_batch_id > W` with the batch indexes. -#}
    {%- set result = {'full': true, 'batch_after': -1} -%}
    {%- if not execute or flags.FULL_REFRESH -%}
        {{ return(result) }}
    {%- endif -%}
    {%- for name in model_names -%}
        {%- if previous_relation(name) is none -%}
            {{ return(result) }}
        {%- endif -%}
    {%- endfor -%}
    {%- set sql -%}
        select count(*), min(s.last_batch_id),
               bool_and(s.config_hash is not distinct from m.{{ hash_column }})
        from {{ source('build_state', 'cx_build_state') }} as s
        cross join {{ marks_relation }} as m
        where s.model in ('{{ model_names | join("', '") }}')
    {%- endset -%}
    {%- set row = run_query(sql).rows[0] -%}
    {%- if row[0] != model_names | length or row[1] is none or not row[2] -%}
        {{ return(result) }}
    {%- endif -%}
    {{ return({'full': false, 'batch_after': row[1] | int}) }}
{%- endmacro %}
