{#- The columns of a relation a mart shows: all but the bookkeeping ones, whose names start
    with an underscore (_source_batch_id, _changed_batch_id, ...), in table order. Read from
    the warehouse when the model runs, so a mart over an intermediate model lists no column
    twice. It renders `*` where there is nothing to read: at parse time, and when a command
    that only compiles (dbt compile, dbt docs generate) meets a warehouse without the relation;
    a build always creates the relation first. -#}
{% macro public_columns(relation) %}
    {%- set existing = load_relation(relation) if execute else none -%}
    {%- if existing is none -%}
        *
    {%- else -%}
        {%- set names = [] -%}
        {%- for column in adapter.get_columns_in_relation(existing) -%}
            {%- if not column.name.startswith('_') -%}
                {%- do names.append(column.name) -%}
            {%- endif -%}
        {%- endfor -%}
        {{ names | join(',\n        ') }}
    {%- endif -%}
{% endmacro %}
