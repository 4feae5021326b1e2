{% macro normalize_phone(expr) -%}
    {#- E.164: '+' and digits only. '+' or '00' prefix = international; otherwise the number
        is national in var default_country (a leading trunk 0 is dropped; for NANP countries
        an 11-digit number starting with 1 already has its code). -#}
    {%- set cc = country_calling_code(var('default_country')) -%}
    (case
        when nullif(regexp_replace(coalesce({{ expr }}, ''), '[^0-9]', '', 'g'), '') is null then null
        when trim({{ expr }}) like '+%'
            then '+' || regexp_replace({{ expr }}, '[^0-9]', '', 'g')
        when regexp_replace({{ expr }}, '[^0-9]', '', 'g') like '00%'
            then '+' || substr(regexp_replace({{ expr }}, '[^0-9]', '', 'g'), 3)
        {%- if cc == '1' %}
        when regexp_replace({{ expr }}, '[^0-9]', '', 'g') ~ '^1[0-9]{10}$'
            then '+' || regexp_replace({{ expr }}, '[^0-9]', '', 'g')
        {%- endif %}
        else '+{{ cc }}' || regexp_replace(regexp_replace({{ expr }}, '[^0-9]', '', 'g'), '^0', '')
    end)
{%- endmacro %}
