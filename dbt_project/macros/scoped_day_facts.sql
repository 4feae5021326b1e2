{% macro scoped_day_facts(relation, at, since, only=none) -%}
    {#- The facts of `relation` on the days in the scorecard's scope: on an incremental run
        the whole days (CTE whole_days, read by the `at` bound from `since` on) and the
        touchpoint-days of the cells in scope (CTE cell_days, one range of the
        (touchpoint_id, `at`) index each); on a full build every fact with an `at`.
        `only`: a boolean column the rows must hold. -#}
    {% if is_incremental() %}
    select * from {{ relation }}
    where {% if only %}{{ only }} and {% endif %}{% if since is none %}false{% else %}{{ at }} >= {{ since }}
        and {{ period_start("'day'", at) }} in (select period_start from whole_days){% endif %}

    union all

    select facts.*
    from cell_days
    cross join lateral (
        select * from {{ relation }} as f
        where f.touchpoint_id = cell_days.touchpoint_id
            and f.{{ at }} >= cell_days.starts_at
            and f.{{ at }} < cell_days.ends_at
        offset 0  -- kept a subquery: PostgreSQL would flatten it into a hash join
    ) as facts
    {% if only %}where facts.{{ only }}{% endif %}
    {% else %}
    select * from {{ relation }}
    where {% if only %}{{ only }} and {% endif %}{{ at }} is not null
    {% endif %}
{%- endmacro %}
