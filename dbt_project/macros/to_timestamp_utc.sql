{% macro to_timestamp_utc(expr) -%}
    {#- An ISO-8601 text timestamp as timestamptz; text without an offset reads as UTC. -#}
    (case
        when nullif(trim({{ expr }}), '') is null then null
        when trim({{ expr }}) ~ ':[0-9.]*(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$'
            then cast(trim({{ expr }}) as timestamptz)
        else cast(trim({{ expr }}) as timestamp) at time zone 'UTC'
    end)
{%- endmacro %}
