{% macro connect_channel(channel) -%}
    {#- sources.md: Amazon Connect Channel -> canonical channel. -#}
    (case upper(trim({{ channel }}))
        when 'VOICE' then 'phone' when 'CHAT' then 'chat' when 'EMAIL' then 'email'
        else 'other'
    end)
{%- endmacro %}
