{% macro generate_schema_name(custom_schema_name, node) -%}
    {#- Exact schema names (staging, intermediate, marts): no target-schema prefix. -#}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
