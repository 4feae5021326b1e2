{{
    config(
        unique_key='interaction_id',
        indexes=[
            {'columns': ['interaction_id'], 'unique': True},
            {'columns': ['_changed_at']},
            {'columns': ['customer_id']},
            {'columns': ['started_at']},
            {'columns': ['touchpoint_id', 'started_at']},
        ],
        pre_hook=["{{ log_fact_cells('interaction_id', 'started_at', 'interaction') }}"],
        post_hook=[
            "{{ delete_vanished_facts('interaction_id', 'started_at', ref('int_interactions_mapped_to_touchpoints'), 'interaction') }}",
            "{{ record_build_state(this.name, ref('stg_meta__build_marks'), upstream=['int_interactions_mapped_to_touchpoints', 'stg_crm__orders', 'stg_qualtrics__responses', 'stg_zendesk__users']) }}",
        ],
    )
}}
-- depends_on: {{ ref('int_interactions_mapped_to_touchpoints') }}
-- depends_on: {{ ref('int_facts_in_scope') }}
-- depends_on: {{ ref('stg_meta__build_marks') }}

-- Incremental by difference: every run derives the current interactions and writes only
-- the rows whose content hash changed (new, updated, re-identified, re-mapped, a window or
-- a survey link that moved). _changed_at tells the scorecard which periods to recompute.
{{ select_changed_rows(ref('int_interactions_enriched'), 'interaction_id') }}
