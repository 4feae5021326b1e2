{% macro json_text(column, path) -%}
    {#- Text at a key path of a jsonb column (null when absent or JSON null). -#}
    {%- if path is string -%}{%- set path = [path] -%}{%- endif -%}
    ({{ column }} #>> '{ {{- path | join(",") -}} }')
{%- endmacro %}
