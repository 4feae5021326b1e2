{% macro source_key(source_system, id_expr) -%}
    {#- The canonical id of a source record (sources.md): '<prefix>:' || the vendor's id,
        prefix connect (Amazon Connect contacts) or zendesk (tickets and users). The one
        place the prefixes are spelled. -#}
    {%- set prefixes = {'amazon_connect': 'connect', 'zendesk': 'zendesk'} -%}
    {%- if source_system not in prefixes -%}
        {{ exceptions.raise_compiler_error("source_key: unknown source system " ~ source_system) }}
    {%- endif -%}
    ('{{ prefixes[source_system] }}:' || cast({{ id_expr }} as {{ dbt.type_string() }}))
{%- endmacro %}
