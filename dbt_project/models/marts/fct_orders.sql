{{
    config(
        unique_key='order_id',
        indexes=[
            {'columns': ['order_id'], 'unique': True},
            {'columns': ['_changed_at']},
            {'columns': ['attributed_interaction_id']},
            {'columns': ['customer_id', 'ordered_at']},
        ],
        post_hook=[
            "{{ delete_vanished_facts('order_id', 'ordered_at', ref('stg_crm__orders'), 'order') }}",
            "{{ record_build_state(this.name, ref('stg_meta__build_marks'), upstream=['int_interactions_mapped_to_touchpoints', 'stg_crm__orders', 'stg_qualtrics__responses', 'stg_zendesk__users']) }}",
        ],
    )
}}
-- depends_on: {{ ref('stg_crm__orders') }}
-- depends_on: {{ ref('int_facts_in_scope') }}
-- depends_on: {{ ref('stg_meta__build_marks') }}

{{ select_changed_rows(ref('int_orders_attributed'), 'order_id') }}
