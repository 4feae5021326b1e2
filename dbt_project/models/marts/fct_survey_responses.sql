{{
    config(
        unique_key='response_id',
        indexes=[
            {'columns': ['response_id'], 'unique': True},
            {'columns': ['_changed_at']},
            {'columns': ['customer_id']},
            {'columns': ['submitted_at']},
            {'columns': ['touchpoint_id', 'submitted_at']},
        ],
        pre_hook=["{{ log_fact_cells('response_id', 'submitted_at', 'response') }}"],
        post_hook=[
            "{{ delete_vanished_facts('response_id', 'submitted_at', ref('stg_qualtrics__responses'), 'response') }}",
            "{{ record_build_state(this.name, ref('stg_meta__build_marks'), upstream=['int_interactions_mapped_to_touchpoints', 'stg_crm__orders', 'stg_qualtrics__responses', 'stg_zendesk__users']) }}",
        ],
    )
}}
-- depends_on: {{ ref('stg_qualtrics__responses') }}
-- depends_on: {{ ref('int_facts_in_scope') }}
-- depends_on: {{ ref('stg_meta__build_marks') }}

{{ select_changed_rows(ref('int_survey_responses_linked'), 'response_id') }}
