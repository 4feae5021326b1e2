{% macro wilson_interval(share, n, bound) -%}
    {#- Bound ('low' or 'high') of the 95 % Wilson score interval of a proportion, x100:
        (centre -/+ half-width) with one division by (1 + z^2/n), so that exact cases stay
        exact. -#}
    {%- set n = 'cast(' ~ n ~ ' as numeric)' -%}
    (case when {{ n }} > 0 then 100 * (
        ({{ share }} + 1.96 ^ 2 / (2 * {{ n }}))
        {{ '-' if bound == 'low' else '+' }} 1.96 * sqrt(
            {{ share }} * (1 - {{ share }}) / {{ n }} + 1.96 ^ 2 / (4 * {{ n }} ^ 2)
        )
    ) / (1 + 1.96 ^ 2 / {{ n }}) end)
{%- endmacro %}
