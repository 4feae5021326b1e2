{% macro scorecard_status(sample_size, value, prior_value, has_target, target_type, min_sample, direction, target, amber_band, compared_value) -%}
    {#- scorecard.md status ladder, in order: no_data, no_target, low_sample, green, amber,
        red. A null value with a non-zero sample (mixed currencies) is no_data too. -#}
    (case
        when {{ sample_size }} = 0 or {{ value }} is null then 'no_data'
        when {{ target_type }} = 'relative_change'
            and ({{ prior_value }} is null or {{ prior_value }} = 0) then 'no_data'
        when not {{ has_target }} or {{ target }} is null then 'no_target'
        when {{ sample_size }} < coalesce({{ min_sample }}, 0) then 'low_sample'
        when {{ direction }} = 'higher' and {{ compared_value }} >= {{ target }} then 'green'
        when {{ direction }} = 'lower' and {{ compared_value }} <= {{ target }} then 'green'
        when {{ direction }} = 'higher'
            and {{ compared_value }} >= {{ target }} - coalesce({{ amber_band }}, 0) then 'amber'
        when {{ direction }} = 'lower'
            and {{ compared_value }} <= {{ target }} + coalesce({{ amber_band }}, 0) then 'amber'
        else 'red'
    end)
{%- endmacro %}
