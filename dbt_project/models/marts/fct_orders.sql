{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        indexes=[
            {'columns': ['order_id'], 'unique': True},
            {'columns': ['_changed_at']},
        ],
        post_hook=["{{ delete_vanished_facts('order_id', 'ordered_at', ref('stg_crm__orders')) }}"],
    )
}}
-- depends_on: {{ ref('stg_crm__orders') }}

with current_rows as (

    select
        attributed.*,
        {{ row_hash('attributed') }} as _row_hash
    from {{ ref('int_orders_attributed') }} as attributed

),

changed as (

    select * from current_rows
    {% if is_incremental() %}
    where not exists (
        select 1 from {{ this }} as existing
        where existing.order_id = current_rows.order_id
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
