{% macro json_text_array(column, key) -%}
    {#- A jsonb array of strings at a key as a text[] (empty when absent or not an array). -#}
    array(
        select jsonb_array_elements_text(
            case when jsonb_typeof({{ column }} -> '{{ key }}') = 'array'
                then {{ column }} -> '{{ key }}' else '[]'::jsonb end
        )
    )
{%- endmacro %}
