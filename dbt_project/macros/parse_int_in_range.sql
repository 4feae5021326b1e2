{% macro parse_int_in_range(expr, low, high) -%}
    {#- A survey answer as an integer when it is a whole number in [low, high], else null. -#}
    (case
        when trim({{ expr }}) ~ '^[+-]?[0-9]{1,9}$'
            and cast(trim({{ expr }}) as integer) between {{ low }} and {{ high }}
            then cast(trim({{ expr }}) as integer)
    end)
{%- endmacro %}
