{% macro worst_status(status_expr) -%}
    {#- Aggregate: the worst colour among the statuses (red > amber > green), or no_data when
        none of them has a colour. The worst perspective is the worst of all metric colours,
        so overall_status aggregates the metric statuses directly. -#}
    (case max(case {{ status_expr }} when 'red' then 3 when 'amber' then 2 when 'green' then 1 end)
        when 3 then 'red' when 2 then 'amber' when 1 then 'green' else 'no_data'
    end)
{%- endmacro %}
