{% macro moment_class(was_abandoned, recontact_24h, reopens, csat, nps, ces) -%}
    {#- scorecard.md moment class ladder: problematic, else pleasant, else indifferent. -#}
    (case
        when {{ was_abandoned }} or {{ recontact_24h }} or coalesce({{ reopens }}, 0) > 0
            or coalesce({{ csat }} <= 2, false) or coalesce({{ nps }} <= 6, false)
            or coalesce({{ ces }} <= 3, false)
            then 'problematic'
        when coalesce({{ csat }} = 5, false) or coalesce({{ nps }} >= 9, false)
            or coalesce({{ ces }} >= 6, false)
            then 'pleasant'
        else 'indifferent'
    end)
{%- endmacro %}
