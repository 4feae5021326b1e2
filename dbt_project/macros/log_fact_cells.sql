{% macro log_fact_cells(key, event_column, scope_entity) -%}
    {#- Pre-hook of an incremental fact feeding the scorecard: before this build rewrites
        it, log in intermediate.cx_fact_cells the scorecard cell (event time, touchpoint,
        segment) of every stored row whose key is in int_facts_in_scope, so that
        int_scorecard_periods_in_scope also recomputes the cell a changed row leaves (a
        re-mapped touchpoint, a new segment, a corrected start). A build that rewrites the
        whole fact logs one row without key: every period is then in scope. -#}
    {%- set state = incremental_state([this.name], ref('stg_meta__build_marks')) if is_incremental() else {'full': true} -%}
    insert into {{ source('build_state', 'cx_fact_cells') }}
        (model, key, event_at, touchpoint_id, segment, logged_at)
    {%- if state.full %}
    values ('{{ this.identifier }}', null, null, null, null, now())
    {%- else %}
    select '{{ this.identifier }}', t.{{ key }}, t.{{ event_column }}, t.touchpoint_id, t.segment, now()
    from {{ this }} as t
    where t.{{ key }} in (
        select s.key from {{ ref('int_facts_in_scope') }} as s
        where s.entity = '{{ scope_entity }}'
    )
    {%- endif %}
{%- endmacro %}
