{{
    config(
        materialized='incremental',
        unique_key='response_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        indexes=[
            {'columns': ['response_id'], 'unique': True},
            {'columns': ['_changed_at']},
        ],
        post_hook=["{{ delete_vanished_facts('response_id', 'submitted_at', ref('stg_qualtrics__responses')) }}"],
    )
}}
-- depends_on: {{ ref('stg_qualtrics__responses') }}

{{ select_changed_rows(ref('int_survey_responses_linked'), 'response_id') }}
