{% macro trim_numeric(expr) -%}
    {#- A numeric without trailing fractional zeros (25.0000000000000000 -> 25); the value is
        unchanged. PostgreSQL 13+ trim_scale. -#}
    trim_scale({{ expr }})
{%- endmacro %}
