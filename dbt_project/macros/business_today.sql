{% macro business_today() -%}
    {#- Today's date in the business timezone, or the var as_of_date when set (tests pin it). -#}
    {%- if var('as_of_date', '') -%}
        cast('{{ var("as_of_date", "") }}' as date)
    {%- else -%}
        cast(now() at time zone '{{ var("business_timezone") }}' as date)
    {%- endif -%}
{%- endmacro %}
