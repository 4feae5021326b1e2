{% test unique_combination(model, columns) %}
{#- The combination of columns is unique (a multi-column primary key). -#}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
