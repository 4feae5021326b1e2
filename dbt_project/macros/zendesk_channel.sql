{% macro zendesk_channel(via) -%}
    {#- sources.md: Zendesk via.channel (type name or via id) -> canonical channel. Via ids
        are first translated to their via type (Zendesk's via-types table, the ids of the
        mapped types); any other value -> other. -#}
    (case lower(trim({{ via }}))
        when 'email' then 'email' when 'mail' then 'email' when '4' then 'email'
        when 'web' then 'web' when 'web_form' then 'web' when 'web_widget' then 'web'
        when 'web_service' then 'web' when '0' then 'web' when '5' then 'web' when '48' then 'web'
        when 'mobile' then 'mobile_app' when 'mobile_sdk' then 'mobile_app'
        when '49' then 'mobile_app' when '56' then 'mobile_app'
        when 'chat' then 'chat' when 'chat_transcript' then 'chat'
        when 'native_messaging' then 'chat' when 'messaging' then 'chat' when '29' then 'chat'
        when 'voice' then 'phone' when 'phone' then 'phone' when 'phone_call_inbound' then 'phone'
        when '34' then 'phone'
        when 'twitter' then 'social' when 'facebook' then 'social' when 'instagram_dm' then 'social'
        when 'whatsapp' then 'social' when 'any_channel' then 'social'
        when '30' then 'social' when '55' then 'social'
        else 'other'
    end)
{%- endmacro %}
