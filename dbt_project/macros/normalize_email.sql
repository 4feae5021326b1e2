{% macro normalize_email(expr) -%}
    {#- E-mail as matched across sources: trimmed, lower-cased, empty -> null. -#}
    nullif(lower(trim({{ expr }})), '')
{%- endmacro %}
