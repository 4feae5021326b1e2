{% macro json_has_object(column, key) -%}
    {#- True when the jsonb column holds a JSON object (not null) at the key. -#}
    coalesce(jsonb_typeof({{ column }} -> '{{ key }}') = 'object', false)
{%- endmacro %}
