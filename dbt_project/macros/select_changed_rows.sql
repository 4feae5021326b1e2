{% macro select_changed_rows(relation, key) -%}
    {#- Body of an incremental fact "by difference": every current row of `relation` with
        its content hash; on incremental runs only the rows whose (key, hash) is not yet in
        the target; each written row stamped `_changed_at` (what the scorecard's scope reads). -#}
with current_rows as (

    select
        source_rows.*,
        {{ row_hash('source_rows') }} as _row_hash
    from {{ relation }} as source_rows

),

changed as (

    select * from current_rows
    {% if is_incremental() %}
    where not exists (
        select 1 from {{ this }} as existing
        where existing.{{ key }} = current_rows.{{ key }}
            and existing._row_hash = current_rows._row_hash
    )
    {% endif %}

),

final as (

    select
        changed.*,
        now() as _changed_at
    from changed

)

select * from final
{%- endmacro %}
