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

{{ select_changed_rows(ref('int_orders_attributed'), 'order_id') }}
