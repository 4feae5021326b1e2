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

with current_rows as (

    select
        linked.*,
        {{ row_hash('linked') }} as _row_hash
    from {{ ref('int_survey_responses_linked') }} as linked

),

changed as (

    select * from current_rows
    {% if is_incremental() %}
    where not exists (
        select 1 from {{ this }} as existing
        where existing.response_id = current_rows.response_id
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
