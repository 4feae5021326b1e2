{% macro to_business_time(ts) -%}
    {#- A timestamptz as the wall-clock time in the business timezone (timestamp without tz). -#}
    ({{ ts }} at time zone '{{ var("business_timezone") }}')
{%- endmacro %}
